"""Many clients at once, on PostgreSQL: the invariants of PRODUCT.md hold under concurrency.

Each test starts real threads (each with its own database connection) released together by a
`threading.Barrier`, lets them race through the services, and then checks the database. A
client may be refused (ValidationError); anything else it raises fails the test, and a
deadlock is reported as such.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from inventory.models import Product, Stock
from orders.models import Customer, Order, OrderLine
from orders.selectors import QUEUE_ORDER, invariant_violations, product_queue
from orders.services import (
    LineRequest,
    line_cancel,
    line_prioritise,
    order_cancel,
    order_place,
    order_prioritise,
    shipment_create,
    stock_adjust,
    stock_receive,
)
from tests.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Long enough for PostgreSQL to detect a deadlock (deadlock_timeout is 1 s) and report it.
BARRIER_TIMEOUT = 60


@dataclass
class Outcomes:
    """What the clients' calls did: counted by label, and every unexpected exception."""

    counts: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, label: str, service: Callable[[], object]) -> object | None:
        try:
            result = service()
        except ValidationError:
            with self._lock:
                self.counts[f"{label} refused"] += 1
            return None
        except Exception as exc:  # a deadlock, a constraint, a bug: all fail the test
            with self._lock:
                self.unexpected.append(f"{label}: {type(exc).__name__}: {exc}")
            return None
        with self._lock:
            self.counts[label] += 1
        return result


def run_clients(
    count: int,
    client: Callable[[int, threading.Barrier], None],
    *,
    coordinator: Callable[[threading.Barrier], None] | None = None,
) -> None:
    """Run `client(index, barrier)` in `count` threads, each with its own connection.

    Clients wait on the shared barrier to start together. A `coordinator` runs in this thread
    meanwhile and is one more party to the barrier (it sets rounds up and checks them). Whoever
    crashes breaks the barrier, so the others stop instead of hanging; the crash is re-raised.
    """
    barrier = threading.Barrier(count + (coordinator is not None), timeout=BARRIER_TIMEOUT)
    crashes: list[BaseException] = []

    def run(index: int) -> None:
        try:
            client(index, barrier)
        except threading.BrokenBarrierError:
            pass  # someone else crashed; theirs is the exception to report
        except BaseException as exc:
            crashes.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        if coordinator is not None:
            coordinator(barrier)
    except threading.BrokenBarrierError:
        pass
    except BaseException as exc:
        crashes.insert(0, exc)
        barrier.abort()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    if crashes:
        raise crashes[0]
    assert not barrier.broken, "the barrier broke: a client timed out waiting for the others"


def assert_nothing_waits_while_stock_is_free(product: Product) -> None:
    stock = Stock.objects.get(pk=product.pk)
    if stock.available > 0:
        waiting = list(product_queue(product_id=product.pk).values_list("id", flat=True))
        assert waiting == [], f"{product.sku}: {stock.available} available, lines {waiting} wait"


def order_of(*items: tuple[Product, int], customer: Customer, **kwargs: object) -> Order:
    return order_place(
        customer_email=customer.email,
        lines=[LineRequest(sku=product.sku, quantity=quantity) for product, quantity in items],
        **kwargs,  # type: ignore[arg-type]
    )


# --- one product, many buyers ------------------------------------------------------------

RACES = 50
BUYERS = 16


def test_sixteen_buyers_of_ten_units_never_sold_below_zero_get_exactly_ten():
    products = [
        ProductFactory(on_hand=10, backorder_policy=Product.BackorderPolicy.DENY)
        for _ in range(RACES)
    ]
    customers = [CustomerFactory() for _ in range(BUYERS)]
    outcomes = {product.pk: Outcomes() for product in products}

    def buyer(index: int, barrier: threading.Barrier) -> None:
        for product in products:  # one race per product, everyone released at once
            barrier.wait()
            outcomes[product.pk].call(
                "placed", lambda p=product: order_of((p, 1), customer=customers[index])
            )

    run_clients(BUYERS, buyer)

    for product in products:
        assert outcomes[product.pk].unexpected == []
        assert outcomes[product.pk].counts == {"placed": 10, "placed refused": 6}, product.sku
        stock = Stock.objects.get(pk=product.pk)
        assert (stock.on_hand, stock.allocated) == (10, 10)
        assert (
            list(
                OrderLine.objects.filter(product=product).values_list(
                    "quantity_allocated", "quantity_backordered"
                )
            )
            == [(1, 0)] * 10
        )
    assert invariant_violations() == []


def test_sixteen_buyers_of_ten_units_sold_on_backorder_all_buy_and_six_wait():
    products = [ProductFactory(on_hand=10) for _ in range(RACES // 4)]
    customers = [CustomerFactory() for _ in range(BUYERS)]
    outcomes = {product.pk: Outcomes() for product in products}

    def buyer(index: int, barrier: threading.Barrier) -> None:
        for product in products:
            barrier.wait()
            outcomes[product.pk].call(
                "placed", lambda p=product: order_of((p, 1), customer=customers[index])
            )

    run_clients(BUYERS, buyer)

    for product in products:
        assert outcomes[product.pk].unexpected == []
        assert outcomes[product.pk].counts == {"placed": 16}, product.sku
        stock = Stock.objects.get(pk=product.pk)
        assert (stock.on_hand, stock.allocated) == (10, 10)
        # Which ten get the units depends on who wins the lock; how many does not.
        assert Counter(
            OrderLine.objects.filter(product=product).values_list(
                "quantity_allocated", "quantity_backordered"
            )
        ) == {(1, 0): 10, (0, 1): 6}
    assert invariant_violations() == []


def test_sixteen_buyers_queue_in_the_order_they_are_served():
    products = [ProductFactory(on_hand=10) for _ in range(RACES // 5)]
    customers = [CustomerFactory() for _ in range(BUYERS)]

    def buyer(index: int, barrier: threading.Barrier) -> None:
        for product in products:
            barrier.wait()
            order_of((product, 1), customer=customers[index])

    run_clients(BUYERS, buyer)

    for product in products:
        # Invariant 5: the ten units went to the first ten lines of the queue.
        in_queue_order = OrderLine.objects.filter(product=product).order_by(*QUEUE_ORDER)
        assert [line.quantity_allocated for line in in_queue_order] == [1] * 10 + [0] * 6


# --- many products, locked in different orders ---------------------------------------------

SHOPPERS = 8
ORDERS_PER_SHOPPER = 25  # 200 orders in all


def test_multi_product_orders_in_every_product_order_never_deadlock():
    rng = random.Random(20250303)
    products = [
        ProductFactory(on_hand=20),
        ProductFactory(on_hand=20),
        ProductFactory(on_hand=15, backorder_cap=10),
        ProductFactory(on_hand=15),
        ProductFactory(on_hand=25, backorder_policy=Product.BackorderPolicy.DENY),
        ProductFactory(on_hand=25, backorder_policy=Product.BackorderPolicy.DENY),
    ]
    # Shoppers share customers, so the same customer is sometimes created at the same moment.
    emails = [f"shopper{i}@example.com" for i in range(4)]
    # Each shopper's baskets: 3-5 products in a random order, random quantities.
    baskets = [
        [
            [(product, rng.randint(1, 3)) for product in rng.sample(products, rng.randint(3, 5))]
            for _ in range(ORDERS_PER_SHOPPER)
        ]
        for _ in range(SHOPPERS)
    ]
    outcomes = Outcomes()

    def shopper(index: int, barrier: threading.Barrier) -> None:
        for number, basket in enumerate(baskets[index]):
            barrier.wait()
            outcomes.call(
                "placed",
                lambda basket=basket, number=number: order_place(
                    customer_email=emails[(index + number) % len(emails)],
                    lines=[LineRequest(sku=p.sku, quantity=q) for p, q in basket],
                    is_priority=number % 7 == 0,
                ),
            )

    run_clients(SHOPPERS, shopper)

    assert outcomes.unexpected == []
    assert outcomes.counts["placed"] + outcomes.counts["placed refused"] == 200
    assert outcomes.counts["placed"] > 0
    assert outcomes.counts["placed refused"] > 0  # the never-below-zero products ran out
    assert invariant_violations() == []
    for product in products:
        assert_nothing_waits_while_stock_is_free(product)


def test_cancelling_shipping_and_prioritising_across_orders_never_deadlocks():
    """Orders that share products, changed at once: each change locks several products."""
    rng = random.Random(7)
    products = [ProductFactory(on_hand=6) for _ in range(4)]
    customers = [CustomerFactory() for _ in range(SHOPPERS)]
    outcomes = Outcomes()
    rounds = 10

    def baskets() -> Iterator[list[tuple[Product, int]]]:
        while True:
            yield [(p, rng.randint(1, 3)) for p in rng.sample(products, rng.randint(2, 4))]

    basket = baskets()
    # Every shopper gets an order per round, placed up front: some hold stock, some wait.
    orders = [
        [order_of(*next(basket), customer=customers[i]) for _ in range(rounds)]
        for i in range(SHOPPERS)
    ]
    actions = [[rng.choice("cpslr") for _ in range(rounds)] for _ in range(SHOPPERS)]
    receipts = [[rng.choice(products) for _ in range(rounds)] for _ in range(SHOPPERS)]

    def shopper(index: int, barrier: threading.Barrier) -> None:
        for number in range(rounds):
            order = orders[index][number]
            lines = list(order.lines.all())
            barrier.wait()
            label, service = {
                "c": ("order cancelled", partial(order_cancel, order=order, reason="Cancelled")),
                "l": ("line cancelled", partial(line_cancel, line=lines[0], reason="Changed")),
                "p": ("order prioritised", partial(order_prioritise, order=order, reason="VIP")),
                "s": ("shipped", partial(shipment_create, order=order, override_reason="Part")),
                "r": (
                    "received",
                    partial(stock_receive, product=receipts[index][number], quantity=3),
                ),
            }[actions[index][number]]
            outcomes.call(label, service)

    run_clients(SHOPPERS, shopper)

    assert outcomes.unexpected == []
    assert invariant_violations() == []
    for product in products:
        assert_nothing_waits_while_stock_is_free(product)


CROSS_ROUNDS = 5


def test_two_cancellations_handing_units_to_each_others_orders_do_not_deadlock():
    """Each cancellation releases a unit that goes to a line on the other's order.

    Given order 1 holding A and waiting for B, and order 2 holding B and waiting for A,
    cancel order 1's A and order 2's B at the same moment: each order then gets a unit.
    """
    first, second = CustomerFactory(), CustomerFactory()
    cases = []
    for _ in range(CROSS_ROUNDS):
        a, b = ProductFactory(on_hand=1), ProductFactory(on_hand=1)
        order_1 = order_of((a, 1), (b, 1), customer=first)  # holds A and B
        order_2 = order_of((a, 1), (b, 1), customer=second)  # waits for both
        stock_adjust(product=b, quantity=-1, reason="Damaged")  # order 1 now waits for B
        line_prioritise(line=order_2.lines.get(product=b), reason="VIP")
        stock_receive(product=b, quantity=1)  # ...and the new B goes to order 2
        assert dict(order_1.lines.values_list("product", "quantity_allocated")) == {
            a.pk: 1,
            b.pk: 0,
        }
        assert dict(order_2.lines.values_list("product", "quantity_allocated")) == {
            a.pk: 0,
            b.pk: 1,
        }
        cases.append((order_1.lines.get(product=a), order_2.lines.get(product=b), order_1, order_2))
    outcomes = Outcomes()

    def canceller(index: int, barrier: threading.Barrier) -> None:
        for case in cases:
            barrier.wait()
            outcomes.call("cancelled", lambda line=case[index]: line_cancel(line=line, reason="x"))

    run_clients(2, canceller)

    assert outcomes.unexpected == []
    assert outcomes.counts == {"cancelled": 2 * CROSS_ROUNDS}
    for _, _, order_1, order_2 in cases:
        # Each order got the unit the other let go of.
        assert list(order_1.lines.values_list("quantity_allocated", "quantity_cancelled")) == [
            (0, 1),
            (1, 0),
        ]
        assert list(order_2.lines.values_list("quantity_allocated", "quantity_cancelled")) == [
            (1, 0),
            (0, 1),
        ]
    assert invariant_violations() == []


# --- everything at once on one product -------------------------------------------------------

WORKERS = 12
MIXED_ROUNDS = 10


def test_receipts_cancellations_shipments_adjustments_and_orders_racing_keep_fifo():
    rng = random.Random(42)
    product = ProductFactory(on_hand=8)
    customers = [CustomerFactory() for _ in range(WORKERS)]
    outcomes = Outcomes()
    # The coordinator (this thread) sets each round up and checks it afterwards; the
    # workers act in between. Each round is two barrier waits: start, then done.
    plan: dict[int, tuple[str, Callable[[], object]]] = {}

    def worker(index: int, barrier: threading.Barrier) -> None:
        for _ in range(MIXED_ROUNDS):
            barrier.wait()
            outcomes.call(*plan[index])
            barrier.wait()

    def action(index: int) -> tuple[str, Callable[[], object]]:
        lines = list(OrderLine.objects.filter(product=product).select_related("order"))
        holding = [line.order for line in lines if line.quantity_allocated]
        open_lines = [line for line in lines if line.quantity_open]
        kind = rng.choice(
            [
                "receive",
                "receive",
                "adjust",
                "order",
                "order",
                "priority order",
                "cancel",
                "cancel part",
                "ship",
                "prioritise",
            ]
        )
        customer = customers[index]
        match kind:
            case "receive":
                units = rng.randint(1, 4)
                return kind, lambda: stock_receive(product=product, quantity=units)
            case "adjust":
                units = rng.choice([-3, -2, -1, 1, 2])
                return kind, lambda: stock_adjust(product=product, quantity=units, reason="Count")
            case "order" | "priority order":
                units = rng.randint(1, 3)
                priority = kind == "priority order"
                return kind, lambda: order_of(
                    (product, units), customer=customer, is_priority=priority
                )
            case "cancel" | "cancel part" if open_lines:
                line = rng.choice(open_lines)
                units = 1 if kind == "cancel part" else None
                return kind, lambda: line_cancel(line=line, quantity=units, reason="Changed mind")
            case "ship" if holding:
                order = rng.choice(holding)
                return kind, lambda: shipment_create(order=order, override_reason="Partial ok")
            case "prioritise" if open_lines:
                line = rng.choice(open_lines)
                return kind, lambda: line_prioritise(line=line, reason="VIP")
        return "receive", lambda: stock_receive(product=product, quantity=1)

    def coordinator(barrier: threading.Barrier) -> None:
        for _ in range(MIXED_ROUNDS):
            plan.update((index, action(index)) for index in range(WORKERS))
            barrier.wait()
            barrier.wait()
            assert outcomes.unexpected == []
            assert invariant_violations() == []
            assert_nothing_waits_while_stock_is_free(product)

    run_clients(WORKERS, worker, coordinator=coordinator)

    assert sum(outcomes.counts.values()) == WORKERS * MIXED_ROUNDS
    # Every kind of change really happened, not only refusals.
    for label in ("receive", "adjust", "order", "cancel", "ship"):
        assert outcomes.counts[label] > 0, (label, outcomes.counts)

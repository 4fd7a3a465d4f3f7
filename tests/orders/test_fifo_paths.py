"""The set-based allocation (PostgreSQL) and the portable walk (SQLite's) give the same
answer on the same queue: every line's units, and every event, word for word.

Hypothesis draws queues with priorities, ties in placing time, several lines per order,
lines partly allocated, shipped or cancelled already, another product's lines beside them,
and any number of units to hand out; both paths run on the same rows (the first one rolled
back), and both must agree with the plain-Python FIFO model.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.locks import lock_stock
from inventory.models import Product
from notifications.models import Notification
from orders.models import Order, OrderEvent, OrderLine
from orders.services import _allocate_locked, stock_receive
from orders.services.fifo import Handout, hand_out
from tests.factories import CustomerFactory, ProductFactory, UserFactory
from tests.orders.fifo_model import FifoModel, ModelLine, ModelProduct

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# (order, quantity, already allocated, shipped, cancelled, priority, placing tick, product)
line_specs = st.lists(
    st.tuples(
        st.integers(0, 7),
        st.integers(1, 5),
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(0, 1),
        st.integers(0, 4),
        st.sampled_from([0, 0, 0, 1]),
    ),
    max_size=30,
)


def make_lines(specs: list[tuple[int, ...]], products: list[Product]) -> list[OrderLine]:
    """The drawn lines in the database (quantities clamped to what a line can hold)."""
    customer = CustomerFactory()
    epoch = timezone.now() - dt.timedelta(hours=1)
    orders = Order.objects.bulk_create(
        Order(number=f"FIFO-{i}", customer=customer, placed_at=epoch) for i in range(8)
    )
    rows = []
    for order, quantity, allocated, shipped, cancelled, priority, tick, product in specs:
        allocated = min(allocated, quantity)
        shipped = min(shipped, quantity - allocated)
        cancelled = min(cancelled, quantity - allocated - shipped)
        rows.append(
            OrderLine(
                order=orders[order],
                product=products[product],
                quantity=quantity,
                quantity_allocated=allocated,
                quantity_shipped=shipped,
                quantity_cancelled=cancelled,
                unit_price=Decimal("1.00"),
                priority=priority,
                queued_at=epoch + dt.timedelta(seconds=tick),
            )
        )
    return OrderLine.objects.bulk_create(rows)


def outcome(handout: Handout, now: dt.datetime) -> dict[str, Any]:
    """What a path did: its result, each line's state, the events it wrote (ids aside)."""
    return {
        "handout": handout,
        "lines": list(
            OrderLine.objects.order_by("id").values_list(
                "id", "quantity_allocated", "quantity_backordered", "last_allocated_at"
            )
        ),
        "events": list(
            OrderEvent.objects.filter(created_at__gte=now - dt.timedelta(seconds=5))
            .order_by("id")
            .values_list("order_id", "kind", "message", "data", "actor_id")
        ),
    }


def model_allocations(lines: list[OrderLine], product: Product, available: int) -> dict[int, int]:
    """Each line's allocated units after the plain-Python FIFO model hands out `available`."""
    model = FifoModel(products=[ModelProduct(sku=product.sku, policy="allow")])
    for line in lines:
        model.lines.append(
            ModelLine(
                id=line.pk,
                order=line.order_id,
                product=0 if line.product_id == product.pk else 1,
                ordered=line.quantity,
                queued_at=int(line.queued_at.timestamp()),
                priority=line.priority,
                allocated=line.quantity_allocated,
                shipped=line.quantity_shipped,
                cancelled=line.quantity_cancelled,
            )
        )
    model.products[0].on_hand = model.allocated(0) + available
    model._allocate(0, now=1)
    return {line.id: line.allocated for line in model.lines}


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=line_specs, extra=st.integers(-3, 40), reason=st.sampled_from(["", "after a count"]))
def test_set_based_and_portable_allocation_agree_line_by_line(specs, extra, reason):
    with transaction.atomic():
        product, other = ProductFactory(sku="FIFO-A"), ProductFactory(sku="FIFO-B")
        lines = make_lines(specs, [product, other])
        waiting = sum(
            line.quantity
            - line.quantity_allocated
            - line.quantity_shipped
            - line.quantity_cancelled
            for line in lines
            if line.product_id == product.pk
        )
        available = max(0, waiting + extra) if extra >= 0 else max(0, waiting // 2 + extra)
        actor = UserFactory()
        now = timezone.now()

        def run(*, set_based: bool) -> dict[str, Any]:
            with transaction.atomic():
                handout = hand_out(
                    product_id=product.pk,
                    sku=product.sku,
                    available=available,
                    now=now,
                    reason=reason,
                    actor=actor,
                    set_based=set_based,
                )
                result = outcome(handout, now)
                transaction.set_rollback(True)
            return result

        portable = run(set_based=False)
        set_based = run(set_based=True)
        transaction.set_rollback(True)

    assert set_based == portable
    expected = model_allocations(lines, product, available)
    assert {line_id: units for line_id, units, *_ in set_based["lines"]} == expected
    assert set_based["handout"].units == min(available, waiting)


def test_a_receipt_for_thousands_of_orders_writes_lines_events_and_outbox_in_a_few_queries():
    """3,000 orders each get their units: one statement for lines and events, then the
    outbox rows in bulk, whatever the number of orders."""
    product = ProductFactory(sku="FIFO-BULK")
    make_lines([(i % 8, 2, 0, 0, 0, 0, 0, 0) for i in range(24)], [product])
    customer = CustomerFactory()
    epoch = timezone.now() - dt.timedelta(hours=1)
    orders = Order.objects.bulk_create(
        Order(number=f"BULK-{i}", customer=customer, placed_at=epoch) for i in range(3_000)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            quantity=2,
            unit_price=Decimal("1.00"),
            queued_at=epoch + dt.timedelta(seconds=i),
        )
        for i, order in enumerate(orders)
    )

    with transaction.atomic():
        stock_receive(product=product, quantity=6_048)
        stock = lock_stock(product_id=product.pk)
        with CaptureQueriesContext(connection) as ctx:
            result = _allocate_locked(stock=stock, now=timezone.now())

    assert (result.units, result.lines, result.orders) == (6_048, 3_024, 3_008)
    assert Notification.objects.filter(kind="items_allocated").count() == 3_008
    # sku, the statement (which also flags the orders served as holding stock), the stock
    # row, the webhook subscriptions (read once per transaction); then per batch of 2,000
    # events a fixed pair: the orders read back (for the emails' recipients and for the
    # webhooks) and the outbox insert. Not one per order.
    assert len(ctx.captured_queries) == 8, [q["sql"][:80] for q in ctx.captured_queries]
    assert Order.objects.filter(holds_stock=True).count() == 3_008

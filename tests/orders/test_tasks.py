"""product_allocate_task run by a real Celery worker that consumes from Redis, on PostgreSQL.

Test settings run tasks eagerly; here `.delay()` publishes to the broker for real, and a worker
started in this process (tests/celery_worker.py) takes the messages off the queue and runs them
in its own threads, on their own database connections, so it sees only what was committed, as
a deployed worker would.

One worker at a time (see tests/celery_worker.py), so the race below is between four threads
of one worker, each with its own database connection.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import partial
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from inventory.models import Product, Stock, StockMovement
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from orders.models import OrderEvent, OrderLine
from orders.selectors import invariant_violations
from orders.services import purchase_order_create, purchase_order_line_receive, stock_receive
from orders.tasks import product_allocate_task
from tests.celery_worker import (
    Broker,
    WorkerRuns,
    broker_fixture,  # noqa: F401 (the `broker` fixture)
    running_worker,
)
from tests.factories import ProductFactory, place_order

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

TASK_TIMEOUT = 20.0  # seconds a test waits for the worker before failing
ALLOCATE_TASK = product_allocate_task.name


class AllocationRuns(WorkerRuns):
    """The product_allocate_task runs the worker finished (other tasks, such as the emails
    orders cause, are left out)."""

    task = ALLOCATE_TASK
    timeout = TASK_TIMEOUT

    def __init__(self) -> None:
        super().__init__()
        self.states: list[str] = []  # final state of each finished run, in finishing order

    def finished(self, task: str, args: Any, state: str | None, retval: Any) -> None:
        if task != ALLOCATE_TASK:
            return
        if state != "RETRY":  # a retry is published again and finishes later
            self.states.append(state or "")
        if state not in ("SUCCESS", "RETRY"):
            self.failures.append(f"{state}: {retval!r}")

    def wait_for(self, count: int) -> None:
        """Block until `count` runs have finished (or one failed), at most TASK_TIMEOUT."""
        failures = self.wait_until(lambda: len(self.states) >= count)
        finished = len(self.states)
        assert not failures, f"product_allocate_task did not succeed: {failures}"
        assert finished >= count, (
            f"the worker finished {finished} of {count} product_allocate_task runs "
            f"within {TASK_TIMEOUT:.0f} s"
        )


def _allocations_waiting(broker: Broker) -> int:
    """product_allocate_task messages waiting (orders also queue notification emails)."""
    return sum(task == ALLOCATE_TASK for task, _ in broker.messages())


def _waiting_lines(product: Product, quantities: list[int]) -> list[OrderLine]:
    """One order per quantity, placed in this order, each backordered in full."""
    lines = [place_order((product, quantity)).lines.get() for quantity in quantities]
    assert [line.quantity_backordered for line in lines] == quantities
    return lines


def _allocated(lines: list[OrderLine]) -> list[int]:
    by_id = dict(
        OrderLine.objects.filter(pk__in=[line.pk for line in lines]).values_list(
            "id", "quantity_allocated"
        )
    )
    return [by_id[line.pk] for line in lines]


def _stock(product: Product) -> tuple[int, int]:
    stock = Stock.objects.get(pk=product.pk)
    return stock.on_hand, stock.allocated


@pytest.mark.parametrize("against_po", [False, True], ids=["without-po", "against-po"])
def test_committed_receipt_is_allocated_by_the_worker(broker: Broker, against_po: bool) -> None:
    # Given three orders waiting for a product with nothing on hand
    product = ProductFactory.create(on_hand=0)
    lines = _waiting_lines(product, [2, 3, 4])
    if against_po:
        po = purchase_order_create(
            supplier=supplier_create(name="Acme Supply"),
            lines=[
                PurchaseLineRequest(
                    product=product,
                    quantity=10,
                    expected_date=timezone.localdate() + dt.timedelta(days=7),
                )
            ],
            send=True,
        )
        receive = partial(purchase_order_line_receive, line=po.lines.get())
    else:
        receive = partial(stock_receive, product=product)

    # When six units are received (the service commits) while a worker runs
    with running_worker(AllocationRuns()) as runs:
        receive(quantity=6)
        runs.wait_for(1)

    # Then the worker handed them out first come, first served
    assert _allocated(lines) == [2, 3, 1]
    assert _stock(product) == (6, 6)
    assert invariant_violations() == []
    assert _allocations_waiting(broker) == 0


def test_rolled_back_receipt_enqueues_nothing(broker: Broker) -> None:
    # Given an order waiting for a product, and no worker running
    product = ProductFactory.create(on_hand=0)
    (line,) = _waiting_lines(product, [2])
    queued_before = broker.messages()  # the order's confirmation email, say

    # When a receipt's transaction rolls back after the service returned
    def receive_then_fail() -> None:
        with transaction.atomic():
            stock_receive(product=product, quantity=5)
            raise RuntimeError("something failed after the receipt")

    with pytest.raises(RuntimeError, match="after the receipt"):
        receive_then_fail()

    # Then no task was published and the stock is as it was
    assert broker.messages() == queued_before
    assert _stock(product) == (0, 0)
    assert not StockMovement.objects.filter(product=product).exists()
    assert _allocated([line]) == [0]

    # And a committed receipt does leave its task in the queue (so the check above can fail)
    stock_receive(product=product, quantity=5)
    assert broker.messages() == [*queued_before, (ALLOCATE_TASK, f"({product.pk},)")]


def test_racing_tasks_hand_out_each_unit_once(broker: Broker) -> None:
    # Given eight orders (31 units) waiting for a product with nothing on hand
    product = ProductFactory.create(on_hand=0)
    lines = _waiting_lines(product, [3, 1, 4, 1, 5, 9, 2, 6])
    # and, before any worker runs, a receipt and ten more runs of the task queued behind it
    stock_receive(product=product, quantity=5)
    for _ in range(10):
        product_allocate_task.delay(product.pk)
    assert _allocations_waiting(broker) == 11

    # When four worker threads take them on together, while two more receipts and ten more
    # runs arrive
    with running_worker(AllocationRuns(), concurrency=4) as runs:
        for run in range(10):
            product_allocate_task.delay(product.pk)
            if run == 3:
                stock_receive(product=product, quantity=7)
            if run == 7:
                stock_receive(product=product, quantity=8)
        runs.wait_for(23)

    # Then every one of the 20 units went out once, first come, first served
    assert _stock(product) == (20, 20)
    assert _allocated(lines) == [3, 1, 4, 1, 5, 6, 0, 0]
    assert invariant_violations() == []
    # and the orders' timelines account for each unit once
    told: Counter[int] = Counter()
    for data in OrderEvent.objects.filter(
        order__lines__product=product, kind=OrderEvent.Kind.ALLOCATED
    ).values_list("data", flat=True):
        told.update({int(line_id): units for line_id, units in data["lines"].items()})
    assert [told[line.pk] for line in lines] == [3, 1, 4, 1, 5, 6, 0, 0]
    # and the runs did overlap, and left nothing queued
    assert len(runs.states) == 23
    assert runs.most_at_once >= 2
    assert _allocations_waiting(broker) == 0


def test_running_the_task_again_changes_nothing(broker: Broker) -> None:
    # Given three orders waiting, and a receipt the worker has allocated
    product = ProductFactory.create(on_hand=0)
    lines = _waiting_lines(product, [2, 3, 4])

    def snapshot() -> tuple[Any, ...]:
        stock = Stock.objects.get(pk=product.pk)
        return (
            OrderEvent.objects.count(),
            Notification.objects.count(),  # no second email for the same units
            StockMovement.objects.count(),
            (stock.on_hand, stock.allocated, stock.updated_at),
            list(
                OrderLine.objects.filter(product=product)
                .order_by("pk")
                .values_list(
                    "quantity_allocated",
                    "quantity_backordered",
                    "last_allocated_at",
                    "eta",
                    "eta_source",
                    "eta_reference",
                )
            ),
        )

    with running_worker(AllocationRuns()) as runs:
        stock_receive(product=product, quantity=4)
        runs.wait_for(1)
        assert _allocated(lines) == [2, 2, 0]
        before = snapshot()

        # When the task runs twice more for the product
        product_allocate_task.delay(product.pk)
        product_allocate_task.delay(product.pk)
        runs.wait_for(3)

    # Then nothing changed: no new events, stock and lines as they were
    assert snapshot() == before
    assert invariant_violations() == []

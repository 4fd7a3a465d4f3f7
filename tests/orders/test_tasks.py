"""product_allocate_task run by a real Celery worker that consumes from Redis, on PostgreSQL.

Test settings run tasks eagerly; here `.delay()` publishes to the broker for real, and a worker
started in this process (celery.contrib.testing.worker.start_worker) takes the messages off the
queue and runs them in its own threads, on their own database connections, so it sees only
what was committed, as a deployed worker would.

One worker at a time: start_worker cannot run two workers in one process (kombu's event loop
and celery.worker.state are process globals, and stopping one worker stops the other), so the
race below is between four threads of one worker, each with its own database connection.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
import redis
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.backends.signals import connection_created
from django.utils import timezone

from config import celery_app
from inventory.models import Product, Stock, StockMovement
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from orders.models import OrderEvent, OrderLine
from orders.selectors import invariant_violations
from orders.services import purchase_order_create, purchase_order_line_receive, stock_receive
from orders.tasks import product_allocate_task
from tests.factories import ProductFactory, place_order

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

QUEUE = "celery"  # the default queue; the project routes nothing elsewhere
TASK_TIMEOUT = 20.0  # seconds a test waits for the worker before failing
ALLOCATE_TASK = product_allocate_task.name


class WorkerRuns:
    """What the in-process worker ran, recorded from its own threads by Celery's task signals."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._test_thread = threading.current_thread()
        self.states: list[str] = []  # final state of each finished run, in finishing order
        self.failures: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.backend_pids: set[int] = set()  # PostgreSQL server processes the worker connected to

    def on_prerun(self, sender: Any, **kwargs: Any) -> None:
        if sender.name != ALLOCATE_TASK:
            return
        with self._changed:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def on_postrun(
        self, sender: Any, state: str | None = None, retval: Any = None, **kwargs: Any
    ) -> None:
        # Celery's Django fixup closes them too; don't rely on it: a connection left open in a
        # worker thread would block the test database's flush and teardown.
        connections.close_all()
        if sender.name != ALLOCATE_TASK:  # e.g. the notification emails orders cause
            return
        with self._changed:
            self.running -= 1
            if state != "RETRY":  # a retry is published again and finishes later
                self.states.append(state or "")
            if state not in ("SUCCESS", "RETRY"):
                self.failures.append(f"{state}: {retval!r}")
            self._changed.notify_all()

    def on_connection_created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.current_thread() is not self._test_thread:
            with self._changed:
                self.backend_pids.add(connection.connection.info.backend_pid)

    def wait_for(self, count: int) -> None:
        """Block until `count` runs have finished (or one failed), at most TASK_TIMEOUT."""
        with self._changed:
            self._changed.wait_for(
                lambda: len(self.states) >= count or self.failures, timeout=TASK_TIMEOUT
            )
            finished, failures = len(self.states), list(self.failures)
        assert not failures, f"product_allocate_task did not succeed: {failures}"
        assert finished >= count, (
            f"the worker finished {finished} of {count} product_allocate_task runs "
            f"within {TASK_TIMEOUT:.0f} s"
        )

    def assert_connections_closed(self) -> None:
        """None of the worker's database connections is still open on the server."""
        # A server process leaves pg_stat_activity a moment after its client hung up.
        deadline = time.monotonic() + 5
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)",
                    [sorted(self.backend_pids)],
                )
                still_open = [pid for (pid,) in cursor.fetchall()]
            if not still_open or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert still_open == [], f"the worker left database connections open: {still_open}"


def _leave_logging_alone(**kwargs: Any) -> None:
    """A setup_logging receiver: the worker then keeps its hands off pytest's log handlers."""


def _drop_broker_pools() -> None:
    # The app pools its broker connections with the options of the time they were made; drop
    # the pools so publishing follows the options just set (as Celery itself does after fork).
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@dataclass(frozen=True)
class Broker:
    """The test's own corner of the Redis broker."""

    client: redis.Redis
    prefix: str

    def messages(self) -> list[tuple[str, str]]:
        """(task name, its arguments) of each message waiting in the default queue, oldest
        first (kombu pushes on the left and pops on the right)."""
        raw = self.client.lrange(self.prefix + QUEUE, 0, -1)
        return [
            (message["headers"]["task"], message["headers"]["argsrepr"])
            for message in map(json.loads, reversed(raw))
        ]

    def allocations_waiting(self) -> int:
        """product_allocate_task messages waiting (orders also queue notification emails)."""
        return sum(task == ALLOCATE_TASK for task, _ in self.messages())


@pytest.fixture
def broker() -> Iterator[Broker]:
    """Publish to Redis for real for the test's duration, under keys of this test's own.

    The Redis database may be shared (other checkouts, a developer's runserver), so every
    broker key gets a fresh prefix: the queue starts empty, the worker consumes nothing but
    this test's messages, and the keys are deleted afterwards.
    """
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"backorder-test-{uuid.uuid4().hex}:"
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = settings.REDIS_URL
    conf.broker_transport_options = {**saved[2], "global_keyprefix": prefix}
    _drop_broker_pools()
    try:
        yield Broker(client=client, prefix=prefix)
    finally:
        conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved
        _drop_broker_pools()
        leftovers = list(client.scan_iter(match=f"{prefix}*"))
        if leftovers:
            client.delete(*leftovers)
        client.close()


@contextmanager
def running_worker(*, concurrency: int = 1) -> Iterator[WorkerRuns]:
    """A worker consuming the default queue in this process, with the threads pool."""
    runs = WorkerRuns()
    receivers = [
        (signals.task_prerun, runs.on_prerun),
        (signals.task_postrun, runs.on_postrun),
        (signals.setup_logging, _leave_logging_alone),
    ]
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)
    connection_created.connect(runs.on_connection_created, weak=False)
    try:
        with start_worker(
            celery_app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            shutdown_timeout=TASK_TIMEOUT,
        ):
            yield runs
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)
        connection_created.disconnect(runs.on_connection_created)
    assert runs.backend_pids, "the worker never connected to the database"
    runs.assert_connections_closed()


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
    with running_worker() as runs:
        receive(quantity=6)
        runs.wait_for(1)

    # Then the worker handed them out first come, first served
    assert _allocated(lines) == [2, 3, 1]
    assert _stock(product) == (6, 6)
    assert invariant_violations() == []
    assert broker.allocations_waiting() == 0


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
    assert broker.allocations_waiting() == 11

    # When four worker threads take them on together, while two more receipts and ten more
    # runs arrive
    with running_worker(concurrency=4) as runs:
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
    assert broker.allocations_waiting() == 0


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

    with running_worker() as runs:
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

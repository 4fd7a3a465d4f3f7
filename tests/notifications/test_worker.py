"""The outbox under a real Celery worker consuming from Redis, on PostgreSQL.

Test settings run tasks eagerly; here `.delay()` publishes to the broker for real and a worker
started in this process (threads pool, four threads, each on its own database connection) takes
the messages off the queue, as in tests/orders/test_tasks.py. The email provider is anymail's
test backend: with threads, django.core.mail.outbox is one module-level list they all append to.

What is checked: every order gets one confirmation even when each send task is delivered twice
(the conditional claim pending -> sending), and two sweeps running at once re-enqueue disjoint
sets of lost notifications (SELECT ... FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.utils import timezone

from config import celery_app
from notifications.models import Notification
from notifications.services import notifications_sweep
from notifications.tasks import notification_send_task
from orders.models import Order
from tests.factories import ProductFactory, place_order

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

QUEUE = "celery"  # the default queue; the project routes nothing elsewhere
TASK_TIMEOUT = 30.0  # seconds a test waits for the worker before failing
SEND_TASK = notification_send_task.name
HEADER = "X-Backorder-Desk-Notification"
ORDERS = 200
LOST = 40
SWEEP_LIMIT = 25  # below LOST, so each of two sweeps must leave rows to the other

Kind = Notification.Kind
State = Notification.State


class SendRuns:
    """The notification_send_task runs the in-process worker finished, by notification id,
    recorded from the worker's threads by Celery's task signals. Other tasks (the rule engine's
    re-evaluation that placing an order queues) run too, and are only counted as finished."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._test_thread = threading.current_thread()
        self.results: dict[int, list[str]] = defaultdict(list)  # id -> each run's return value
        self.failures: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.backend_pids: set[int] = set()

    def on_prerun(self, sender: Any, **kwargs: Any) -> None:
        if sender.name != SEND_TASK:
            return
        with self._changed:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def on_postrun(
        self,
        sender: Any,
        args: Any = None,
        state: str | None = None,
        retval: Any = None,
        **kwargs: Any,
    ) -> None:
        # A connection left open in a worker thread would block the test database's flush.
        connections.close_all()
        with self._changed:
            if sender.name == SEND_TASK:
                self.running -= 1
                if state != "RETRY":  # a retry is published again and finishes later
                    self.results[int(args[0])].append(str(retval))
            if state not in ("SUCCESS", "RETRY"):
                self.failures.append(f"{sender.name} {args!r} {state}: {retval!r}")
            self._changed.notify_all()

    def on_connection_created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.current_thread() is not self._test_thread:
            with self._changed:
                self.backend_pids.add(connection.connection.info.backend_pid)

    def wait_until_each_ran(self, ids: list[int], times: int) -> None:
        """Block until the send task finished `times` times for each id (or a task failed)."""

        def done() -> bool:
            return bool(self.failures) or all(len(self.results[i]) >= times for i in ids)

        with self._changed:
            self._changed.wait_for(done, timeout=TASK_TIMEOUT)
            short = sum(len(self.results[i]) < times for i in ids)
            failures = list(self.failures)
        assert not failures, f"tasks failed in the worker: {failures[:5]}"
        assert short == 0, (
            f"{short} of {len(ids)} notifications were not sent {times} time(s) by the worker "
            f"within {TASK_TIMEOUT:.0f} s"
        )

    def assert_connections_closed(self) -> None:
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
    # Pooled broker connections keep the options of the time they were made.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@dataclass(frozen=True)
class Broker:
    """The test's own corner of the Redis broker."""

    client: redis.Redis
    prefix: str

    def sends_waiting(self) -> Counter[int]:
        """notification_send_task messages waiting in the queue, by notification id."""
        waiting: Counter[int] = Counter()
        for raw in self.client.lrange(self.prefix + QUEUE, 0, -1):
            headers = json.loads(raw)["headers"]
            if headers["task"] == SEND_TASK:
                waiting[int(headers["argsrepr"].strip("(,)"))] += 1
        return waiting

    def lose_everything_queued(self) -> int:
        """What a broker restart without persistence does: the queued messages are gone."""
        return int(self.client.delete(self.prefix + QUEUE))


@pytest.fixture
def broker() -> Iterator[Broker]:
    """Publish to Redis for real, under a key prefix of this test's own (the database may be
    shared), and delete the keys afterwards."""
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


@pytest.fixture
def outbox(settings: Any) -> list[Any]:
    """The provider: anymail's test backend (pytest-django swaps in locmem otherwise)."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mail.outbox = []
    return mail.outbox


@contextmanager
def running_worker(*, concurrency: int = 4) -> Iterator[SendRuns]:
    """A worker consuming the default queue in this process, with the threads pool."""
    runs = SendRuns()
    receivers: list[tuple[Any, Callable[..., None]]] = [
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


def _confirmation_id(order: Order) -> int:
    return Notification.objects.get(order=order, kind=Kind.ORDER_CONFIRMATION).pk


def _assert_sent_once_each(outbox: list[Any], ids: list[int]) -> None:
    """One email per notification, to its order's customer, and each row sent after one claim."""
    told = Counter(int(message.extra_headers[HEADER]) for message in outbox)
    doubled = {pk: n for pk, n in told.items() if n > 1}
    assert doubled == {}, f"notifications emailed more than once: {doubled}"
    assert sorted(told) == sorted(ids)
    rows = {
        n.pk: n for n in Notification.objects.filter(pk__in=ids).select_related("order__customer")
    }
    for message in outbox:
        order = rows[int(message.extra_headers[HEADER])].order
        assert order is not None
        assert message.to == [order.customer.email]
        assert order.number in message.subject
    assert Counter((n.state, n.attempts) for n in rows.values()) == {(State.SENT, 1): len(ids)}
    message_ids = [n.provider_message_id for n in rows.values()]
    assert "" not in message_ids
    assert len(set(message_ids)) == len(ids)


def test_every_order_gets_one_confirmation_though_each_task_arrives_twice(
    broker: Broker, outbox: list[Any]
) -> None:
    # Given 200 orders placed (committed) while no worker runs: in stock, backordered, or both
    in_stock = ProductFactory.create(on_hand=ORDERS)
    out_of_stock = ProductFactory.create(on_hand=0)
    patterns = [[(in_stock, 1)], [(out_of_stock, 2)], [(in_stock, 1), (out_of_stock, 1)]]
    orders = []
    ids = []
    for i in range(ORDERS):
        order = place_order(*patterns[i % len(patterns)])
        orders.append(order)
        ids.append(_confirmation_id(order))
        # and each send task delivered a second time, right behind the first
        notification_send_task.delay(ids[-1])
    backordered = Order.objects.filter(
        pk__in=[o.pk for o in orders], lines__quantity_backordered__gt=0
    )
    assert backordered.distinct().count() == 2 * ORDERS // 3
    assert broker.sends_waiting() == dict.fromkeys(ids, 2)
    assert outbox == []

    # When a worker with four threads takes them on
    with running_worker(concurrency=4) as runs:
        runs.wait_until_each_ran(ids, times=2)

    # Then each order got one confirmation email, to its customer
    _assert_sent_once_each(outbox, ids)
    assert len(outbox) == ORDERS
    assert sorted(m.extra_headers[HEADER] for m in outbox) == sorted(map(str, ids))
    # and each task ran twice, the copies often side by side: the one that came second found
    # the row claimed ('sending', mid-send) or done ('sent')
    assert {pk: len(results) for pk, results in runs.results.items()} == dict.fromkeys(ids, 2)
    assert all(State.SENT in results for results in runs.results.values())
    raced = sum(State.SENDING in results for results in runs.results.values())
    assert raced > 0, "no duplicate ran while its twin was sending: the claim went untested"
    assert runs.most_at_once >= 2
    assert broker.sends_waiting() == {}


def test_two_sweeps_at_once_enqueue_each_lost_notification_once(
    broker: Broker, outbox: list[Any]
) -> None:
    # Given 40 confirmations whose send tasks were lost by the broker a while ago
    product = ProductFactory.create(on_hand=LOST // 2)
    ids = [_confirmation_id(place_order((product, 1))) for _ in range(LOST)]
    assert broker.sends_waiting() == dict.fromkeys(ids, 1)
    assert broker.lose_everything_queued() == 1
    grace = dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES)
    Notification.objects.filter(pk__in=ids).update(
        send_after=timezone.now() - grace - dt.timedelta(minutes=1)
    )

    # When two sweeps start together, in two threads with their own database connections, and
    # each holds the rows it locked until the other has chosen too (so they overlap for sure)
    start = threading.Barrier(2, timeout=10)
    both_chose = threading.Barrier(2, timeout=10)
    swept: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def hold_locks_until_both_chose(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        result = execute(sql, params, many, context)
        if "FOR UPDATE" in sql:
            both_chose.wait()
        return result

    def sweep(name: str) -> None:
        try:
            with connection.execute_wrapper(hold_locks_until_both_chose):
                start.wait()
                swept[name] = notifications_sweep(limit=SWEEP_LIMIT)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not errors, errors
    assert sorted(swept) == ["a", "b"]

    # Then they claimed disjoint sets that together cover every lost notification
    a, b = set(swept["a"]), set(swept["b"])
    assert a & b == set()
    assert a | b == set(ids)
    assert 0 < len(a) <= SWEEP_LIMIT
    assert 0 < len(b) <= SWEEP_LIMIT
    # and each id was enqueued once in total
    assert broker.sends_waiting() == dict.fromkeys(ids, 1)

    # and a worker sends each email once
    with running_worker(concurrency=4) as runs:
        runs.wait_until_each_ran(ids, times=1)
    _assert_sent_once_each(outbox, ids)
    assert len(outbox) == LOST
    assert broker.sends_waiting() == {}

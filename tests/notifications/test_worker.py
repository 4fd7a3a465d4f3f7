"""The outbox under a real Celery worker consuming from Redis, on PostgreSQL.

Test settings run tasks eagerly; here `.delay()` publishes to the broker for real and a worker
started in this process (tests/celery_worker.py: threads pool, four threads, each on its own
database connection) takes the messages off the queue. The email provider is anymail's
test backend: with threads, django.core.mail.outbox is one module-level list they all append to.

What is checked: every order gets one confirmation even when each send task is delivered twice
(the conditional claim pending -> sending), and two drains (or sweeps) running at once claim
disjoint batches (SELECT ... FOR UPDATE SKIP LOCKED) and send each email once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection, connections
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notifications_drain, notifications_sweep
from notifications.tasks import notification_send_task, notifications_drain_task
from orders.models import Order
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

TASK_TIMEOUT = 90.0  # seconds a test waits for the worker before failing (a loaded CI box)
SEND_TASK = notification_send_task.name
DRAIN_TASK = notifications_drain_task.name
HEADER = "X-Backorder-Desk-Notification"
ORDERS = 200
LOST = 40
SWEEP_LIMIT = 25  # below LOST, so each of two sweeps must leave rows to the other

Kind = Notification.Kind
State = Notification.State


class SendRuns(WorkerRuns):
    """The notification_send_task runs the in-process worker finished, by notification id.
    Other tasks (the rule engine's re-evaluation that placing an order queues) run too, and
    count only if they fail."""

    task = SEND_TASK
    timeout = TASK_TIMEOUT

    def __init__(self) -> None:
        super().__init__()
        self.results: dict[int, list[str]] = defaultdict(list)  # id -> each run's return value

    def finished(self, task: str, args: Any, state: str | None, retval: Any) -> None:
        if task == SEND_TASK and state != "RETRY":  # a retry is published again, finishes later
            self.results[int(args[0])].append(str(retval))
        if state not in ("SUCCESS", "RETRY"):
            self.failures.append(f"{task} {args!r} {state}: {retval!r}")

    def wait_until_each_ran(self, ids: list[int], times: int) -> None:
        """Block until the send task finished `times` times for each id (or a task failed)."""
        failures = self.wait_until(lambda: all(len(self.results[i]) >= times for i in ids))
        short = sum(len(self.results[i]) < times for i in ids)
        assert not failures, f"tasks failed in the worker: {failures[:5]}"
        assert short == 0, (
            f"{short} of {len(ids)} notifications were not sent {times} time(s) by the worker "
            f"within {TASK_TIMEOUT:.0f} s"
        )


def _drains_waiting(broker: Broker) -> int:
    return sum(task == DRAIN_TASK for task, _ in broker.messages())


def _sends_waiting(broker: Broker) -> Counter[int]:
    """notification_send_task messages waiting in the queue, by notification id."""
    return Counter(
        int(argsrepr.strip("(,)")) for task, argsrepr in broker.messages() if task == SEND_TASK
    )


@pytest.fixture
def outbox(settings: Any) -> list[Any]:
    """The provider: anymail's test backend (pytest-django swaps in locmem otherwise)."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mail.outbox = []
    return mail.outbox


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
    # and, instead of the drains the orders published, a send task per email (as a queue
    # written before the drain existed holds them), each delivered a second time right behind
    assert _drains_waiting(broker) == ORDERS
    broker.lose_everything_queued()
    for notification_id in ids:
        notification_send_task.delay(notification_id)
        notification_send_task.delay(notification_id)
    backordered = Order.objects.filter(
        pk__in=[o.pk for o in orders], lines__quantity_backordered__gt=0
    )
    assert backordered.distinct().count() == 2 * ORDERS // 3
    assert _sends_waiting(broker) == dict.fromkeys(ids, 2)
    assert outbox == []

    # When a worker with four threads takes them on
    with running_worker(SendRuns(), concurrency=4) as runs:
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
    assert _sends_waiting(broker) == {}


@pytest.mark.parametrize("runner", ["drain", "sweep"])
def test_two_drains_at_once_send_each_email_once(
    broker: Broker, outbox: list[Any], settings: Any, runner: str
) -> None:
    # Given 40 confirmations whose drains were lost by the broker a while ago
    settings.NOTIFICATION_DRAIN_BATCH = SWEEP_LIMIT
    product = ProductFactory.create(on_hand=LOST // 2)
    ids = [_confirmation_id(place_order((product, 1))) for _ in range(LOST)]
    assert _drains_waiting(broker) == LOST  # one per order placed, none per email
    assert _sends_waiting(broker) == {}
    broker.lose_everything_queued()
    grace = dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES)
    Notification.objects.filter(pk__in=ids).update(
        send_after=timezone.now() - grace - dt.timedelta(minutes=1)
    )

    # When two drains (or two sweeps) start together, in two threads with their own database
    # connections, and each holds the rows it locked until the other has chosen too (so they
    # overlap for sure)
    start = threading.Barrier(2, timeout=10)
    both_chose = threading.Barrier(2, timeout=10)
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def hold_locks_until_both_chose(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        result = execute(sql, params, many, context)
        if "FOR UPDATE" in sql:
            both_chose.wait()
        return result

    def drain(name: str) -> None:
        try:
            with connection.execute_wrapper(hold_locks_until_both_chose):
                start.wait()
                if runner == "sweep":
                    claimed[name] = notifications_sweep()
                else:
                    claimed[name] = notifications_drain().claimed
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=drain, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(claimed) == ["a", "b"]

    # Then they claimed disjoint batches of 25 and 15 and sent each of those emails once
    a, b = set(claimed["a"]), set(claimed["b"])
    assert a & b == set()
    assert a | b == set(ids)
    assert sorted([len(a), len(b)]) == [LOST - SWEEP_LIMIT, SWEEP_LIMIT]
    _assert_sent_once_each(outbox, ids)
    assert len(outbox) == LOST
    # and the one that found a full batch published a drain for what might remain
    assert _drains_waiting(broker) == 1
    assert _sends_waiting(broker) == {}

"""The drain under a real Celery worker consuming from Redis, on PostgreSQL.

A restock that hands stock to many waiting orders writes an email per order in one
transaction and publishes one drain; a worker (tests/celery_worker.py: threads pool, each
thread on its own database connection) sends them in batches, each drain that claims a full
batch publishing the next, and every email goes out once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core import mail

from notifications.models import Notification
from notifications.tasks import notification_send_task, notifications_drain_task
from orders.services import stock_receive_and_allocate
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

DRAIN = notifications_drain_task.name
HEADER = "X-Backorder-Desk-Notification"
ORDERS = 120
BATCH = 10

Kind = Notification.Kind
State = Notification.State


class DrainRuns(WorkerRuns):
    """The drains the worker finished, with how many emails each claimed."""

    task = DRAIN
    timeout = 60.0

    def __init__(self) -> None:
        super().__init__()
        self.claimed: list[int] = []

    def finished(self, task: str, args: Any, state: str | None, retval: Any) -> None:
        if task == DRAIN and state == "SUCCESS":
            self.claimed.append(int(retval))
        if state not in ("SUCCESS", "RETRY"):
            self.failures.append(f"{task} {args!r} {state}: {retval!r}")


def unsent() -> int:
    return Notification.objects.exclude(state=State.SENT).count()


def test_a_restock_for_120_orders_publishes_one_drain_and_the_worker_sends_each_email_once(
    broker: Broker, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.NOTIFICATION_DRAIN_BATCH = BATCH
    # The rule engine's re-evaluations stay out of the queue: they are not what is measured.
    settings.MAIL_ORDER_RULE_ENABLED = False
    mail.outbox = []
    # Given 120 orders waiting for a chair, their confirmations sent already
    chair = ProductFactory.create(on_hand=0)
    for _ in range(ORDERS):
        place_order((chair, 1))
    Notification.objects.update(state=State.SENT)
    broker.lose_everything_queued()

    # When 120 chairs arrive and are shared out in one transaction
    stock_receive_and_allocate(product=chair, quantity=ORDERS)

    # Then 120 emails wait in the outbox and one drain waits in the queue, no send per email
    assert Notification.objects.filter(state=State.PENDING).count() == ORDERS
    queued = Counter(task for task, _ in broker.messages())
    assert queued[DRAIN] == 1
    assert queued[notification_send_task.name] == 0

    # When a worker with four threads takes the queue on
    with running_worker(DrainRuns(), concurrency=4) as runs:
        failures = runs.wait_until(lambda: unsent() == 0 and runs.running == 0)
    assert failures == []

    # Then every customer got one email, in batches of ten, each drain publishing the next
    told = Counter(int(message.extra_headers[HEADER]) for message in mail.outbox)
    allocated = Notification.objects.filter(kind=Kind.ITEMS_ALLOCATED)
    assert sorted(told) == sorted(allocated.values_list("pk", flat=True))
    assert set(told.values()) == {1}
    assert unsent() == 0
    assert sum(runs.claimed) == ORDERS
    assert max(runs.claimed) == BATCH
    assert len([n for n in runs.claimed if n]) >= ORDERS // BATCH

"""A worker killed (SIGKILL) mid-allocation and mid-send: every unit is allocated and every
email reaches the provider under one Message-ID, once the sweeps have run.

The workers are processes of their own (tests/worker_process.py), so they can be killed like a
deployed worker: no shutdown, no acknowledgement, the open transaction rolled back. They tell
the test what they are doing on a pipe; the test kills them at a point it knows:

- mid-send: after the provider accepted an email and before the outbox row says so (the worker
  stops there and the test kills it): the row stays 'sending', its message unacknowledged;
- mid-allocation: while the allocation task waits for the product's stock lock, which the test
  holds: the receipt has committed, the allocation never does.

Redis hands both unacknowledged messages out again after the visibility timeout (five minutes);
the sweeps (beat, every minute) do not wait for it, and the redelivered tasks then change
nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F
from django.test import override_settings
from django.utils import timezone

from inventory.locks import lock_stock
from inventory.models import Stock
from notifications.models import Notification
from notifications.tasks import notifications_drain_task, notifications_sweep_task
from orders.models import OrderLine
from orders.selectors import invariant_violations
from orders.services import stock_receive
from orders.tasks import allocation_sweep_task, product_allocate_task
from tests.celery_worker import (
    Broker,
    broker_fixture,  # noqa: F401 (the `broker` fixture)
)
from tests.factories import ProductFactory, place_order
from tests.worker_process import WorkerProcess, accepted_emails

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

State = Notification.State
ALLOCATE = product_allocate_task.name
DRAIN = notifications_drain_task.name


@pytest.fixture
def workers(broker: Broker, tmp_path: Path) -> Iterator[Any]:
    """Start workers with `workers(hang_at=...)`; any still running are stopped."""
    started: list[WorkerProcess] = []
    mail_log = tmp_path / "provider.jsonl"

    def start(*, hang_at: str = "") -> WorkerProcess:
        worker = WorkerProcess(
            broker,
            mail_log,
            tmp_path / f"worker-{len(started)}.log",
            hang_at=hang_at,
        )
        started.append(worker.start())
        return worker

    start.mail_log = mail_log  # type: ignore[attr-defined]
    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def all_seen(*events: str) -> Callable[[str], bool]:
    """A wait_for condition: true once each of `events` has come, in any order."""
    missing = set(events)

    def seen(event: str) -> bool:
        missing.discard(event)
        return not missing

    return seen


def waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views answer from a snapshot: drop it first.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def due_unsent() -> int:
    return Notification.objects.filter(
        state__in=(State.PENDING, State.SENDING), send_after__lte=timezone.now()
    ).count()


def allocated(product: Any) -> list[int]:
    return list(
        OrderLine.objects.filter(product=product)
        .order_by("id")
        .values_list("quantity_allocated", flat=True)
    )


@pytest.mark.parametrize("hang_at", ["before-accepting", "after-accepting"])
# The rule engine stays out of the queue: its evaluations lock the stock too (stock before
# order), so a worker could block on the test's lock in one of them instead of in the
# allocation this test kills it in.
@override_settings(MAIL_ORDER_RULE_ENABLED=False)
def test_a_worker_killed_mid_send_and_mid_allocation_loses_and_doubles_nothing(
    broker: Broker, workers: Any, hang_at: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given three orders waiting for two chairs each, and six chairs received: their
    # confirmations and the allocation are queued, and no worker has run yet
    chair = ProductFactory.create(on_hand=0)
    orders = [place_order((chair, 2)) for _ in range(3)]
    stock_receive(product=chair, quantity=6)
    assert [task for task, _ in broker.messages()][-1] == ALLOCATE

    # When a worker is killed sending the first email of its drain's batch (the three
    # confirmations, claimed: 'sending'), just before
    # or just after the provider accepted it
    first = workers(hang_at=hang_at)
    hung_on = int(
        first.wait_for(lambda e: e.startswith(f"hanging {hang_at.replace('-', ' ')}")).split()[-1]
    )
    first.kill()
    assert Notification.objects.get(pk=hung_on).state == State.SENDING

    # and the next one is killed while allocating: its task waits for the chairs' stock lock,
    # which the test holds (the drains before it in the queue found nothing left to claim)
    with transaction.atomic():
        lock_stock(product_id=chair.pk)
        second = workers()
        second.wait_for(lambda e: e == f"started {ALLOCATE}")
        deadline = time.monotonic() + 20
        while not waiting_on_a_lock():  # until its SELECT ... FOR UPDATE waits
            assert time.monotonic() < deadline, "the allocation never reached the stock lock"
            time.sleep(0.01)
        second.kill()

    # Then the chairs sit free while the lines wait, and the killed drain's batch is stuck
    # 'sending' (only its first email may have reached the provider)
    assert allocated(chair) == [0, 0, 0]
    with pytest.raises(CommandError):
        call_command("check_invariants")
    assert Notification.objects.filter(state=State.SENDING).count() == len(orders)
    # and both messages wait, unacknowledged, for Redis' visibility timeout
    assert broker.client.hlen(broker.prefix + "unacked") == 2

    # When the stuck window has passed (the rows are made that much older) and a worker runs
    # beat's two sweeps
    later = dt.timedelta(minutes=settings.NOTIFICATION_STUCK_SENDING_MINUTES + 1)
    Notification.objects.update(
        send_after=F("send_after") - later, updated_at=F("updated_at") - later
    )
    third = workers()
    allocation_sweep_task.delay()
    notifications_sweep_task.delay()
    swept_at = time.monotonic()
    third.wait_for(
        lambda e: e.startswith("finished ") and invariant_violations() == [] and due_unsent() == 0
    )
    caught_up = time.monotonic() - swept_at
    third.stop()
    # and, once the visibility timeout has passed (the unacknowledged messages are made that
    # much older), the next worker to start gets the two messages again from Redis
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    index = broker.prefix + "unacked_index"
    for tag, taken_at in broker.client.zrange(index, 0, -1, withscores=True):
        broker.client.zadd(index, {tag: taken_at - visibility - 1})
    fourth = workers()
    fourth.wait_for(all_seen(f"finished {ALLOCATE} SUCCESS", f"finished {DRAIN} SUCCESS"))
    fourth.stop()
    assert broker.client.hlen(broker.prefix + "unacked") == 0

    # Then every chair went to the waiting lines, first come, first served, once
    assert allocated(chair) == [2, 2, 2]
    stock = Stock.objects.get(pk=chair.pk)
    assert (stock.on_hand, stock.allocated) == (6, 6)
    call_command("check_invariants")
    # and every email reached the provider exactly once; only the one whose worker died after
    # the provider accepted it went twice, under one Message-ID (a provider or mail client
    # shows it once)
    rows = Notification.objects.filter(order__in=orders)
    assert due_unsent() == 0
    assert set(rows.values_list("state", flat=True)) == {State.SENT}
    accepted = accepted_emails(workers.mail_log)
    copies = Counter(email["notification"] for email in accepted)
    message_ids: dict[int, set[str]] = defaultdict(set)
    for email in accepted:
        message_ids[email["notification"]].add(email["message_id"])
    assert sorted(copies) == sorted(rows.values_list("pk", flat=True))
    doubled = {pk: n for pk, n in copies.items() if n > 1}
    assert doubled == ({hung_on: 2} if hang_at == "after-accepting" else {})
    assert all(len(ids) == 1 for ids in message_ids.values())
    assert len({email["message_id"] for email in accepted}) == rows.count()
    with capsys.disabled():
        print(
            f"\nworker killed {hang_at}: caught up {caught_up:.2f} s after the sweeps were "
            f"queued (a worker's start included); {rows.count()} emails, {len(accepted)} accepted, "
            f"lost {rows.count() - len(copies)}, distinct Message-IDs "
            f"{len({e['message_id'] for e in accepted})}, "
            f"re-sent under the same Message-ID {len(accepted) - len(copies)}"
        )

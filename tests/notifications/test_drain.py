"""The drain: however many emails a change writes, it publishes one drain after commit; the
drain sends due rows in batches, once each, and in-process tasks send one batch per commit.

Tasks run in-process here (test settings); tests/notifications/test_drain_worker.py runs the
same against Redis and a real worker.
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from anymail.backends.test import EmailBackend as AnymailTestBackend
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from config.celery import Publish
from notifications.models import Notification
from notifications.services import notifications_drain, notifications_sweep
from notifications.tasks import notification_send_task, notifications_drain_task
from orders.services import stock_receive_and_allocate
from tests.celery_worker import broker_at, spare_port
from tests.factories import ProductFactory, place_order

Kind = Notification.Kind
State = Notification.State
HEADER = "X-Backorder-Desk-Notification"
BATCH = 5


class DepthRecordingESP(AnymailTestBackend):
    """The provider (anymail's test backend), noting how many drains were on the call stack at
    each send (a drain inside a drain would be recursion) and how many connections were made."""

    drains_on_stack: ClassVar[list[int]] = []
    connections: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        DepthRecordingESP.connections += 1

    def send_messages(self, email_messages: Any) -> int:
        DepthRecordingESP.drains_on_stack.append(
            sum(frame.function == "notifications_drain" for frame in inspect.stack(0))
        )
        return super().send_messages(email_messages)


@pytest.fixture
def esp(settings: Any) -> type[DepthRecordingESP]:
    settings.EMAIL_BACKEND = f"{DepthRecordingESP.__module__}.{DepthRecordingESP.__qualname__}"
    settings.NOTIFICATION_DRAIN_BATCH = BATCH
    DepthRecordingESP.drains_on_stack = []
    DepthRecordingESP.connections = 0
    mail.outbox = []
    return DepthRecordingESP


def waiting_orders(count: int) -> tuple[Any, list[int]]:
    """`count` orders waiting for a chair (their confirmations never sent: no commit ran)."""
    chair = ProductFactory.create(on_hand=0)
    orders = [place_order((chair, 1)).pk for _ in range(count)]
    Notification.objects.filter(kind=Kind.ORDER_CONFIRMATION).update(state=State.SENT)
    return chair, orders


def drains(callbacks: list[Callable[[], None]]) -> list[Any]:
    return [c for c in callbacks if isinstance(c, Publish) and c.task is notifications_drain_task]


def sent_once_each() -> Counter[int]:
    told = Counter(int(m.extra_headers[HEADER]) for m in mail.outbox)
    assert [pk for pk, n in told.items() if n > 1] == []
    return told


@pytest.mark.django_db
def test_a_restock_for_many_orders_publishes_one_drain_and_no_send_per_email(
    esp: type[DepthRecordingESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Given 23 orders waiting for chairs
    chair, orders = waiting_orders(23)

    # When 23 chairs arrive and are shared out in one transaction
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stock_receive_and_allocate(product=chair, quantity=23)

    # Then 23 emails wait in the outbox, and one drain is published for them after commit
    allocated = Notification.objects.filter(kind=Kind.ITEMS_ALLOCATED, state=State.PENDING)
    assert allocated.count() == 23
    assert len(drains(callbacks)) == 1
    assert drains(callbacks)[0].countdown is None
    assert not [c for c in callbacks if getattr(c, "task", None) is notification_send_task]
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_rolled_back_savepoint_forgets_its_drain_and_a_later_write_publishes_again(
    esp: type[DepthRecordingESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    product = ProductFactory.create(on_hand=10)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                place_order((product, 1))
                raise RuntimeError("payment declined: this order is rolled back")
        except RuntimeError:
            pass
        assert drains(callbacks) == []
        order = place_order((product, 1))

    # The rolled-back order left neither email nor drain; the one that stayed was sent.
    assert Notification.objects.get().order_id == order.pk
    assert len(drains(callbacks)) == 1
    assert [int(m.extra_headers[HEADER]) for m in mail.outbox] == [Notification.objects.get().pk]


@pytest.mark.django_db
def test_in_process_a_commit_sends_one_batch_and_the_next_drains_send_the_rest(
    esp: type[DepthRecordingESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Given 12 orders waiting for chairs
    chair, _ = waiting_orders(12)

    # When 12 chairs arrive (tasks run in-process: the drain runs right after commit)
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive_and_allocate(product=chair, quantity=12)

    # Then the request sent one batch, over one connection, and left the rest pending
    assert len(sent_once_each()) == BATCH
    assert esp.connections == 1
    pending = Notification.objects.filter(kind=Kind.ITEMS_ALLOCATED, state=State.PENDING)
    assert pending.count() == 12 - BATCH

    # When the next drains run (the next change that writes an email, or the sweep)
    first = notifications_drain_task.delay().get()
    second = notifications_drain_task.delay().get()
    third = notifications_drain_task.delay().get()

    # Then the rest went out, oldest first, each once, and a drain with nothing to do is cheap
    assert (first, second, third) == (BATCH, 12 - 2 * BATCH, 0)
    assert len(sent_once_each()) == 12
    assert not pending.exists()
    # and no drain ever ran inside another
    assert set(esp.drains_on_stack) == {1}


@pytest.mark.django_db
def test_a_drain_sends_due_rows_only_and_renders_them_when_it_sends(
    esp: type[DepthRecordingESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    lamp = ProductFactory.create(name="Desk lamp", on_hand=5)
    order = place_order((lamp, 1))
    later = place_order((lamp, 1))
    Notification.objects.filter(order=later).update(
        send_after=timezone.now() + dt.timedelta(minutes=5)
    )
    # The product is renamed between the order and the email: the email says the new name.
    lamp.name = "Desk lamp, brass"
    lamp.save()

    result = notifications_drain()

    assert result.claimed == [Notification.objects.get(order=order).pk]
    [email] = mail.outbox
    assert "1 × Desk lamp, brass" in email.body
    assert order.number in email.subject
    assert Notification.objects.get(order=later).state == State.PENDING


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_loses_no_email_the_sweep_sends_each_once(
    esp: type[DepthRecordingESP], settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given 12 orders waiting for chairs, and a broker nothing answers at
    chair, _ = waiting_orders(12)
    mail.outbox.clear()  # their confirmations went out as each order committed
    with (
        broker_at(f"redis://127.0.0.1:{spare_port()}/0"),
        caplog.at_level(logging.WARNING, logger="config.celery"),
    ):
        # When the chairs arrive: the change commits, the drain cannot be published
        stock_receive_and_allocate(product=chair, quantity=12)
    assert "a sweep will catch up" in caplog.text
    pending = Notification.objects.filter(kind=Kind.ITEMS_ALLOCATED, state=State.PENDING)
    assert pending.count() == 12
    assert mail.outbox == []

    # Then the sweep leaves them to their drain for a while, then sends each once
    assert notifications_sweep() == []
    later = timezone.now() + dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES + 1)
    swept = [notifications_sweep(now=later) for _ in range(4)]
    assert [len(ids) for ids in swept] == [BATCH, BATCH, 12 - 2 * BATCH, 0]
    assert len(sent_once_each()) == 12
    assert not pending.exists()


@pytest.mark.django_db
def test_a_drain_out_of_time_leaves_the_rest_pending_for_the_next(
    esp: type[DepthRecordingESP], settings: Any
) -> None:
    settings.NOTIFICATION_DRAIN_SECONDS = -1  # the budget is spent before the first send
    _, orders = waiting_orders(1)
    Notification.objects.filter(order_id=orders[0]).update(state=State.PENDING)

    result = notifications_drain()

    row = Notification.objects.get(order_id=orders[0])
    assert result.claimed == [row.pk]
    assert (row.state, row.attempts) == (State.PENDING, 0)
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_command_sends_every_due_email_batch_after_batch(
    esp: type[DepthRecordingESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    chair, _ = waiting_orders(12)
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive_and_allocate(product=chair, quantity=12)
    assert len(mail.outbox) == BATCH

    out = io.StringIO()
    call_command("send_pending_emails", stdout=out)

    assert out.getvalue().strip() == f"{12 - BATCH} due email(s) handled."
    assert len(sent_once_each()) == 12
    assert not Notification.objects.filter(state=State.PENDING).exists()

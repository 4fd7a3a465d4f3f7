"""Every email carries a Message-ID derived from its outbox row: when a worker dies after the
provider took a message but before the row says so, the sweep sends the row again (within
minutes, not half an hour), and the copy carries the same Message-ID, so the provider and the
recipient's mail client can tell it is the same message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notification_send, notifications_sweep
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db

State = Notification.State


def message_id(message: Any) -> str:
    return str(message.message()["Message-ID"])


def confirmation(product: Any) -> Notification:
    order = place_order((product, 1))  # outside a commit capture: its send task never runs
    return Notification.objects.get(order=order, kind=Notification.Kind.ORDER_CONFIRMATION)


def test_an_email_sent_again_after_its_worker_died_keeps_its_message_id(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    # Given two confirmations, each sent once
    product = ProductFactory.create(on_hand=5)
    first, second = confirmation(product), confirmation(product)
    assert notification_send(notification_id=first.pk) == State.SENT
    assert notification_send(notification_id=second.pk) == State.SENT
    ids = [message_id(m) for m in mail.outbox]
    assert ids[0] != ids[1]
    assert all(i.startswith("<notification-") and i.endswith("@example.com>") for i in ids)

    # When, for rows due seven minutes ago, the first one's worker died mid-send (the provider
    # took it, the row still says 'sending') six minutes ago, and the second one's two minutes
    # ago (it may still be sending)
    now = timezone.now()
    Notification.objects.update(send_after=now - dt.timedelta(minutes=7))
    Notification.objects.filter(pk=first.pk).update(
        state=State.SENDING, updated_at=now - dt.timedelta(minutes=6)
    )
    Notification.objects.filter(pk=second.pk).update(
        state=State.SENDING, updated_at=now - dt.timedelta(minutes=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        swept = notifications_sweep(now=now)

    # Then the sweep sent the first one again, with the same Message-ID, and left the second
    assert swept == [first.pk]
    assert len(mail.outbox) == 3
    assert message_id(mail.outbox[2]) == ids[0]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.attempts) == (State.SENT, 2)
    assert second.state == State.SENDING

"""Work whose task the broker lost is done by the sweep all the same."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications.models import Notification
from notifications.services import delivery_event_record, notification_send
from notifications.tasks import notifications_sweep_task
from orders.models import Order, OrderEvent
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db


def test_a_bounce_whose_flagging_task_was_lost_still_flags_the_customer() -> None:
    # Given a confirmation that went out (the provider knows it as "pm-1")
    order = place_order((ProductFactory.create(on_hand=5), 1))
    confirmation = Notification.objects.get(order=order, kind=Notification.Kind.ORDER_CONFIRMATION)
    notification_send(notification_id=confirmation.pk)
    assert len(mail.outbox) == 1
    Notification.objects.filter(pk=confirmation.pk).update(provider_message_id="pm-1")

    # When it bounces, and the task that flags the customer is lost (outside a commit
    # capture, the after-commit publish never happens: as when the broker is down)
    delivery_event_record(
        event_id="evt-1", event_type="bounced", message_id="pm-1", recipient=confirmation.recipient
    )
    order.refresh_from_db()
    assert order.customer_unreachable_at is None

    # Then beat's outbox sweep flags the customer, once
    notifications_sweep_task.delay()
    notifications_sweep_task.delay()
    order = Order.objects.get(pk=order.pk)
    assert order.customer_unreachable_at is not None
    assert order.customer_unreachable_reason == f"bounced: {confirmation.recipient}"
    notes = OrderEvent.objects.filter(order=order, data__has_key="unreachable")
    assert notes.count() == 1

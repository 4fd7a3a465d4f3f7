"""Delivery tracking: the provider's delivery events, and the customers they flag unreachable."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from config.celery import publish_on_commit

from ..models import DeliveryEvent, Notification

State = Notification.State

TRACKING_FINAL = {State.BOUNCED, State.COMPLAINED}
TRACKING_STATES = {
    "delivered": State.DELIVERED,
    "bounced": State.BOUNCED,
    "rejected": State.BOUNCED,
    "complained": State.COMPLAINED,
}


@transaction.atomic
def delivery_event_record(
    *,
    event_id: str,
    event_type: str,
    message_id: str,
    recipient: str = "",
    occurred_at: dt.datetime | None = None,
    description: str = "",
) -> DeliveryEvent | None:
    """Record a provider's tracking event once; returns None for a replay."""
    notification = (
        Notification.objects.filter(provider_message_id=message_id).first() if message_id else None
    )
    event, created = DeliveryEvent.objects.get_or_create(
        event_id=event_id,
        defaults={
            "notification": notification,
            "event_type": event_type,
            "message_id": message_id,
            "recipient": recipient,
            "occurred_at": occurred_at,
            "description": description[:2000],
        },
    )
    if not created:
        return None
    state = TRACKING_STATES.get(event_type)
    if notification is not None and state is not None:
        # States only move forward: a late "delivered" never hides a bounce or a complaint.
        Notification.objects.filter(pk=notification.pk).exclude(
            state__in=TRACKING_FINAL - {state}
        ).update(state=state, updated_at=timezone.now())
        if state in (State.BOUNCED, State.COMPLAINED) and notification.order_id:
            from ..tasks import order_unreachable_task

            publish_on_commit(
                order_unreachable_task, notification.order_id, f"{event_type}: {recipient}"
            )
    return event


def unreachable_flags_repair(*, limit: int = 500) -> list[int]:
    """Flag the orders whose email bounced or drew a complaint but whose customer is not
    flagged yet (the flagging task was lost with the broker); the orders flagged."""
    from orders.services import order_flag_unreachable

    missed = (
        Notification.objects.filter(
            state__in=TRACKING_FINAL,
            order__isnull=False,
            order__customer_unreachable_at__isnull=True,
        )
        .order_by("order_id", "id")
        .values_list("order_id", "state", "recipient")[:limit]
    )
    flagged: dict[int, None] = {}
    for order_id, state, recipient in missed:
        if order_id not in flagged:
            order_flag_unreachable(order_id=order_id, reason=f"{state}: {recipient}")
            flagged[order_id] = None
    return list(flagged)

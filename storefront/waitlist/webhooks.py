"""The waitlist's webhooks: waitlist.joined with each new entry and waitlist.invited with each
invitation batch, written in the transaction that makes them and sent like every other event
(storefront.webhooks: same outbox, signing, retries and sweep).

An entry that came through a channel is told to that channel's subscriptions only; one from
the embeddable form (no channel) to every subscription that wants the event, as stock.changed
is. The shoppers' addresses are the store's own customers: the store receives them so its
checkout and marketing know the demand.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from ..models import WaitlistEntry, WebhookDelivery, WebhookEvent, WebhookSubscription
from ..webhooks import _EVENT_NAMESPACE, _active_subscriptions, _drain_on_commit


def _wanting(event_type: str) -> list[WebhookSubscription]:
    return [s for s in _active_subscriptions() if event_type in s.event_types]


def _sees(subscription: WebhookSubscription, entry: WaitlistEntry) -> bool:
    return entry.channel_id is None or entry.channel_id == subscription.channel_id


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _shopper(entry: WaitlistEntry) -> dict[str, Any]:
    return {
        "email": entry.email,
        "joined_at": _utc(entry.joined_at),
        "product_url": entry.product_url,
    }


def _payload(
    event_id: uuid.UUID, event_type: str, entry: WaitlistEntry, now: dt.datetime, data: Any
) -> dict[str, Any]:
    return {
        "id": str(event_id),
        "type": event_type,
        "created_at": _utc(now),
        "product": {"sku": entry.product.sku, "name": entry.product.name},
        "data": data,
    }


def _write(rows: list[WebhookDelivery]) -> None:
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        _drain_on_commit()


def webhooks_from_waitlist_join(entry: WaitlistEntry) -> None:
    """One waitlist.joined for a new entry (a repeated join is not new: its caller sends
    nothing). One read of the subscriptions, one insert when one wants it."""
    subscriptions = [s for s in _wanting(WebhookEvent.WAITLIST_JOINED) if _sees(s, entry)]
    if not subscriptions:
        return
    now = timezone.now()
    event_id = uuid.uuid5(_EVENT_NAMESPACE, f"waitlist:{entry.pk}:{WebhookEvent.WAITLIST_JOINED}")
    payload = _payload(event_id, WebhookEvent.WAITLIST_JOINED, entry, now, _shopper(entry))
    _write(
        [
            WebhookDelivery(
                subscription=subscription,
                event_id=event_id,
                event_type=WebhookEvent.WAITLIST_JOINED,
                payload=payload,
                next_attempt_at=now,
            )
            for subscription in subscriptions
        ]
    )


def webhooks_from_waitlist_invitations(
    entries: Sequence[WaitlistEntry], *, invited_at: dt.datetime
) -> None:
    """One waitlist.invited per invitation batch (one product) and channel, listing the
    shoppers told that the channel may see: deliveries grow with the subscriptions, not with
    the shoppers. One read of the subscriptions, one insert when one wants it."""
    if not entries:
        return
    subscriptions = _wanting(WebhookEvent.WAITLIST_INVITED)
    now = timezone.now()
    by_channel: dict[int, uuid.UUID] = {}
    rows = []
    for subscription in subscriptions:
        seen = [_shopper(entry) for entry in entries if _sees(subscription, entry)]
        if not seen:
            continue
        # Every subscription of a channel gets the same event (one id); channels differ.
        event_id = by_channel.setdefault(subscription.channel_id, uuid.uuid4())
        data = {"invited_at": _utc(invited_at), "shoppers": seen}
        rows.append(
            WebhookDelivery(
                subscription=subscription,
                event_id=event_id,
                event_type=WebhookEvent.WAITLIST_INVITED,
                payload=_payload(event_id, WebhookEvent.WAITLIST_INVITED, entries[0], now, data),
                next_attempt_at=now,
            )
        )
    _write(rows)

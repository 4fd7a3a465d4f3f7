"""Anymail's tracking signal: the one signal receiver in the project (see STYLE.md).

It only records the provider's event; delivery_event_record decides what the event means and
hands any follow-up (flagging an unreachable customer) to a task after commit.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from anymail.signals import AnymailTrackingEvent

from .services import delivery_event_record

# DeliveryEvent.event_id's max_length.
EVENT_ID_MAX_LENGTH = 200


def tracking_event_id(*, event: AnymailTrackingEvent, esp_name: str) -> str:
    """The provider's event id, namespaced by provider; derived when the provider sends none.

    A derived id must be the same when the provider replays the same event, so it is a hash
    of what identifies the event (message, type, recipient, time), or of the raw payload when
    those are missing.
    """
    esp = (esp_name or "esp").lower()
    if event.event_id:
        event_id = f"{esp}:{event.event_id}"
        if len(event_id) <= EVENT_ID_MAX_LENGTH:
            return event_id
        source = event_id
    elif event.message_id and event.timestamp:
        source = "|".join(
            [
                str(event.message_id),
                str(event.event_type),
                str(event.recipient or ""),
                event.timestamp.isoformat(),
            ]
        )
    else:
        source = json.dumps(event.esp_event, sort_keys=True, default=str)
    return f"{esp}:sha256:{hashlib.sha256(source.encode()).hexdigest()}"


def tracking_event_receive(
    sender: Any, event: AnymailTrackingEvent, esp_name: str = "", **kwargs: Any
) -> None:
    """Record one delivery or engagement event from the provider's webhook."""
    description = " — ".join(
        part for part in (event.description, event.mta_response) if part and str(part).strip()
    )
    delivery_event_record(
        event_id=tracking_event_id(event=event, esp_name=esp_name),
        event_type=str(event.event_type or "unknown"),
        message_id=str(event.message_id or ""),
        recipient=str(event.recipient or ""),
        occurred_at=event.timestamp,
        description=description,
    )

"""What every order service shares: the timeline recorder and small checks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from config.celery import publish_on_commit
from inventory.bounds import MAX_QUANTITY

from ..models import OrderEvent

# Lines read per round trip when walking a queue: memory stays bounded by one batch.
ALLOCATION_BATCH_SIZE = 2000


def _events_record(events: Iterable[OrderEvent]) -> list[OrderEvent]:
    """Write timeline events, then hand them to settings.ORDER_EVENT_SUBSCRIBERS in the same
    transaction.

    This is how the notifications outbox learns of changes without orders importing it: a
    rolled-back change leaves neither the event nor its email behind. An explicit list in
    settings, called in order, rather than signals, so the flow stays visible.
    """
    created = OrderEvent.objects.bulk_create(list(events))
    _events_publish(created)
    return created


def _events_publish(events: list[OrderEvent]) -> None:
    """Hand events already written (by _events_record or a set-based insert) to
    settings.ORDER_EVENT_SUBSCRIBERS, in the transaction that wrote them."""
    for path in settings.ORDER_EVENT_SUBSCRIBERS:
        import_string(path)(events)


def _user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _positive_quantity(quantity: Any, *, what: str = "Quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError(f"{what} must be a whole number above zero.")
    if quantity > MAX_QUANTITY:
        raise ValidationError(f"{what} can be at most {MAX_QUANTITY:,} units at once.")
    return quantity


def _required_reason(reason: str, *, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(f"{what} needs a reason.")
    return reason


def _allocation_enqueue(product_id: int) -> None:
    """Hand freshly received stock to the queue once the receipt has committed."""
    from ..tasks import product_allocate_task

    publish_on_commit(product_allocate_task, product_id)


def _placeholder_number() -> str:
    """A unique stand-in for a number made from the row's id once it is saved. One shared
    stand-in ("") would make each new row wait on the unique index until the row before it
    committed."""
    return f"~{uuid.uuid4().hex[:19]}"

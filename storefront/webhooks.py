"""Outbound webhooks: delivery rows written in the transaction of the change that causes them,
sent by the worker, signed with the channel's secret.

Rules: a rolled-back change writes no delivery (rows are written by an order-event subscriber,
inside the change's transaction); a row is claimed before it is sent (SKIP LOCKED, then a
conditional pending -> sending), so two workers never send it twice; a lost task loses nothing
(the beat sweep drains due rows and puts rows stuck in 'sending' back); every event carries a
stable id (the X-Backorder-Event-Id header) so the consumer can drop the rare repeat.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from config.celery import publish_on_commit
from inventory.models import Product, Stock
from orders.models import Order, OrderEvent, OrderStatus

from .models import WebhookDelivery, WebhookEvent, WebhookSubscription

logger = logging.getLogger(__name__)

State = WebhookDelivery.State
SIGNATURE_HEADER = "X-Backorder-Signature"
EVENT_ID_HEADER = "X-Backorder-Event-Id"
# Namespace of the event ids: uuid5(order event, type) is the same every time it is computed.
_EVENT_NAMESPACE = uuid.UUID("7b1f3c52-5e55-4f0e-9c1a-2b8f1d6a9e40")

_SIMPLE_KINDS: dict[str, str] = {
    OrderEvent.Kind.ETA_CHANGED: WebhookEvent.LINE_ETA_CHANGED,
    OrderEvent.Kind.ALLOCATED: WebhookEvent.LINE_ALLOCATED,
    OrderEvent.Kind.SHIPPED: WebhookEvent.SHIPMENT_CREATED,
    OrderEvent.Kind.REFUND_DUE: WebhookEvent.REFUND_DUE,
    OrderEvent.Kind.REFUND_ISSUED: WebhookEvent.REFUND_ISSUED,
    OrderEvent.Kind.GOODWILL: WebhookEvent.GOODWILL_GRANTED,
}
# What a goodwill.granted tells the store of its grant (not the rule's internal name or id).
_GOODWILL_FIELDS = ("gesture", "value", "discount_percent", "code", "granted_at", "reason")


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The X-Backorder-Signature value: `t=<unix ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _event_type(event: OrderEvent, order_status: str | None) -> str | None:
    if event.kind in _SIMPLE_KINDS:
        return _SIMPLE_KINDS[event.kind]
    if event.kind == OrderEvent.Kind.PLACED:
        backordered = sum(row.get("backordered", 0) for row in event.data.get("lines", []))
        return WebhookEvent.ORDER_BACKORDERED if backordered else None
    if event.kind == OrderEvent.Kind.CANCELLED:
        if order_status == OrderStatus.CANCELLED:
            return WebhookEvent.ORDER_CANCELLED
        return WebhookEvent.LINE_CANCELLED
    if event.kind == OrderEvent.Kind.MAIL_ORDER_RULE:
        if "choice" in event.data:
            return WebhookEvent.CONSENT_ANSWERED
        if "branch" in event.data and "notice" in event.data:
            return WebhookEvent.NOTICE_SENT
    return None


def webhooks_from_events(events: Sequence[OrderEvent]) -> list[WebhookDelivery]:
    """The order events' subscriber: one delivery per event and subscription that wants it,
    written in the causing transaction; the worker is told once, after commit."""
    # An event built with its order in hand tells whether the order has a channel: orders
    # typed in by staff (no channel) then cost no query.
    order_ids = {
        e.order_id
        for e in events
        if not (OrderEvent.order.is_cached(e) and e.order.channel_id is None)
    }
    if not order_ids:
        return []
    subscriptions = _active_subscriptions()
    if not subscriptions:
        return []
    channel_ids = {s.channel_id for s in subscriptions}
    in_hand = [e for e in events if OrderEvent.order.is_cached(e)]
    if len(in_hand) == len(events) and not {e.order.channel_id for e in in_hand} & channel_ids:
        return []
    orders = {
        o.pk: o
        for o in Order.objects.with_status()
        .filter(pk__in=order_ids, channel_id__in=channel_ids)
        .only("pk", "number", "external_id", "channel_id")
    }
    now = timezone.now()
    rows = []
    for event in events:
        order = orders.get(event.order_id)
        if order is None:
            continue
        event_type = _event_type(event, getattr(order, "status", None))
        if event_type is None:
            continue
        event_id = uuid.uuid5(_EVENT_NAMESPACE, f"{event.pk}:{event_type}")
        payload = {
            "id": str(event_id),
            "type": event_type,
            "created_at": (event.created_at or now).astimezone(dt.UTC).isoformat(),
            "order": {"number": order.number, "external_id": order.external_id},
            "data": _event_data(event, event_type),
        }
        rows += [
            WebhookDelivery(
                subscription=subscription,
                event_id=event_id,
                event_type=event_type,
                order_number=order.number,
                payload=payload,
                next_attempt_at=now,
            )
            for subscription in subscriptions
            if subscription.channel_id == order.channel_id
            and event_type in subscription.event_types
        ]
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        _drain_on_commit()
    return rows


def _event_data(event: OrderEvent, event_type: str) -> dict[str, Any]:
    if event_type == WebhookEvent.GOODWILL_GRANTED:
        # The store honours the gesture at its checkout: the code, and its value as a string
        # in the store's currency (a float would round it).
        data = {name: event.data.get(name) for name in _GOODWILL_FIELDS}
        return {"message": event.message, **data, "currency": settings.STORE_CURRENCY}
    return {"message": event.message, **event.data}


def _active_subscriptions() -> list[WebhookSubscription]:
    """The active subscriptions of active channels, read once per transaction: an order's
    stock change and its timeline event both ask, and a storefront order would otherwise read
    them twice.

    Kept beside the connection, for the current list of commit hooks (Django replaces it at
    every commit and rollback, and at a savepoint's rollback) and the savepoints open when it
    was read: a later transaction, or a service's own savepoint, reads them afresh.
    """
    if not connection.in_atomic_block:
        return list(_subscriptions_query())
    key = (connection.run_on_commit, tuple(connection.savepoint_ids))
    kept = getattr(connection, "_webhook_subscriptions", None)
    if kept is not None and kept[0] is key[0] and kept[1] == key[1]:
        return list(kept[2])
    subscriptions = list(_subscriptions_query())
    connection._webhook_subscriptions = (*key, subscriptions)  # type: ignore[attr-defined]
    return list(subscriptions)


def _subscriptions_query() -> Any:
    return WebhookSubscription.objects.filter(is_active=True, channel__is_active=True)


class _StockChanges:
    """This transaction's stock.changed events, one per product. Registered as an on-commit
    hook (which does nothing) once a change has a subscriber: it lives exactly as long as the
    transaction, and a rolled-back savepoint drops it together with the rows written after it."""

    def __init__(self, subscription_ids: list[int]) -> None:
        self.subscription_ids = subscription_ids
        self.event_ids: dict[int, uuid.UUID] = {}
        self.written: set[int] = set()
        self.products: dict[int, dict[str, Any]] = {}

    def __call__(self) -> None:
        pass


def _stock_changes() -> _StockChanges | None:
    """This transaction's events so far; None (no hook registered, so none is left behind for
    the tests and callers that count them) while no subscription wants stock.changed."""
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _StockChanges):
            return entry[1]
    subscription_ids = [
        s.pk for s in _active_subscriptions() if WebhookEvent.STOCK_CHANGED in s.event_types
    ]
    if not subscription_ids:
        return None
    batch = _StockChanges(subscription_ids)
    transaction.on_commit(batch)
    return batch


def webhooks_from_stock_changes(stocks: Sequence[Stock]) -> None:
    """The stock writer's subscriber: one stock.changed per product per transaction for every
    subscription that wants it, written in the causing transaction with the product's stock as
    it is at the last change (a later change in the same transaction updates the row). Without
    a subscriber it costs one read of the subscriptions."""
    batch = _stock_changes()
    if batch is None:
        return
    missing = {stock.pk for stock in stocks} - set(batch.products)
    if missing:
        for product in Product.objects.filter(pk__in=missing).only(
            "sku", "name", "backorder_policy", "is_preorder", "is_discontinued"
        ):
            batch.products[product.pk] = {
                "sku": product.sku,
                "name": product.name,
                "backorderable": product.accepts_backorders,
            }
    now = timezone.now()
    rows = []
    for stock in stocks:
        event_id = batch.event_ids.setdefault(stock.pk, uuid.uuid4())
        known = batch.products[stock.pk]
        payload = {
            "id": str(event_id),
            "type": WebhookEvent.STOCK_CHANGED,
            "created_at": now.astimezone(dt.UTC).isoformat(),
            "product": {"sku": known["sku"], "name": known["name"]},
            "data": {
                "on_hand": stock.on_hand,
                "allocated": stock.allocated,
                "available": stock.available,
                "backorderable": known["backorderable"],
            },
        }
        if stock.pk in batch.written and WebhookDelivery.objects.filter(
            event_id=event_id, state=State.PENDING
        ).update(payload=payload, updated_at=now):
            continue
        # (Not written yet, or written in a savepoint since rolled back: written now.)
        batch.written.add(stock.pk)
        rows += [
            WebhookDelivery(
                subscription_id=subscription_id,
                event_id=event_id,
                event_type=WebhookEvent.STOCK_CHANGED,
                payload=payload,
                next_attempt_at=now,
            )
            for subscription_id in batch.subscription_ids
        ]
    if rows:
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        _drain_on_commit()


def _drain_on_commit(countdown: int | None = None) -> None:
    """Publish one drain per transaction, however many rows it wrote."""
    from .tasks import webhook_deliveries_drain_task

    if countdown is None:
        # Django keeps (savepoint ids, callable, robust) per hook; a rolled-back savepoint's
        # hooks are gone from the list, so a later write in the transaction publishes again.
        for entry in connection.run_on_commit:
            if getattr(entry[1], "task", None) is webhook_deliveries_drain_task:
                return
    publish_on_commit(webhook_deliveries_drain_task, countdown=countdown)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 3600))


@dataclass
class DrainResult:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.failed)


def _claim(*, now: dt.datetime, limit: int) -> list[WebhookDelivery]:
    """Take due rows: locked rows (another worker's claim in flight) are skipped, and the
    claimed ones are 'sending' once this commits, so no other drain sees them as due."""
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(state=State.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids, state=State.PENDING).update(
            state=State.SENDING, attempts=F("attempts") + 1, updated_at=now
        )
    return list(
        WebhookDelivery.objects.select_related("subscription__channel")
        .filter(pk__in=ids)
        .order_by("next_attempt_at", "pk")
    )


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the delivery; (status code or None, error text or '')."""
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    secret = delivery.subscription.channel.webhook_secret
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "BackorderDesk-Webhooks/1",
        EVENT_ID_HEADER: str(delivery.event_id),
        "X-Backorder-Event-Type": delivery.event_type,
        SIGNATURE_HEADER: webhook_signature(secret=secret, timestamp=int(time.time()), body=body),
    }
    try:
        response = requests.post(
            delivery.subscription.url,
            data=body,
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def _is_permanent(status: int | None) -> bool:
    # Redirects are not followed (a signed body must not move elsewhere), so a 3xx never heals.
    return status is not None and 300 <= status < 500 and status not in (408, 429)


def webhook_deliveries_drain(
    *, now: dt.datetime | None = None, limit: int | None = None
) -> DrainResult:
    """Claim and send due deliveries; record each outcome. 2xx delivers; 3xx and 4xx other than 408
    and 429 fail for good; anything else (5xx, timeouts, refused connections) tries again later,
    with a growing wait, until WEBHOOK_MAX_ATTEMPTS."""
    now = now or timezone.now()
    limit = limit or settings.WEBHOOK_DRAIN_BATCH
    result = DrainResult()
    claimed = _claim(now=now, limit=limit)
    for delivery in claimed:
        status, error = _post(delivery)
        done = timezone.now()
        sending = WebhookDelivery.objects.filter(pk=delivery.pk, state=State.SENDING)
        if not error:
            sending.update(
                state=State.DELIVERED,
                last_status_code=status,
                last_error="",
                delivered_at=done,
                updated_at=done,
            )
            result.delivered.append(delivery.pk)
            continue
        permanent = _is_permanent(status) or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
        sending.update(
            state=State.FAILED if permanent else State.PENDING,
            last_status_code=status,
            last_error=error,
            next_attempt_at=now + _backoff(delivery.attempts),
            updated_at=done,
        )
        (result.failed if permanent else result.retrying).append(delivery.pk)
        logger.warning(
            "Webhook %s to %s %s: %s",
            delivery.event_id,
            delivery.subscription.url,
            "failed" if permanent else "deferred",
            error,
        )
    if len(claimed) == limit:
        # More may be due: another drain picks them up (on another worker, if there is one).
        _drain_now()
    elif result.retrying:
        wait = min(_backoff(1).total_seconds(), settings.TASK_COUNTDOWN_MAX_SECONDS)
        _drain_now(countdown=int(wait))
    return result


def _drain_now(countdown: int | None = None) -> None:
    from .tasks import webhook_deliveries_drain_task

    if settings.CELERY_TASK_ALWAYS_EAGER:
        # In-process tasks: the beat sweep does the rest (there is no worker to hand it to).
        return
    with transaction.atomic():
        publish_on_commit(webhook_deliveries_drain_task, countdown=countdown)


def webhook_deliveries_sweep(*, now: dt.datetime | None = None) -> DrainResult:
    """The beat's catch-up: rows 'sending' for longer than a send can take lost their worker
    mid-send and go back to pending (the consumer drops the repeat by event id); then due rows
    are drained, whether their task was lost or never published (broker down)."""
    now = now or timezone.now()
    stuck = dt.timedelta(minutes=settings.WEBHOOK_STUCK_SENDING_MINUTES)
    WebhookDelivery.objects.filter(state=State.SENDING, updated_at__lt=now - stuck).update(
        state=State.PENDING, next_attempt_at=now, updated_at=now
    )
    return webhook_deliveries_drain(now=now)


@transaction.atomic
def webhook_delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a delivered or failed event again: the same row, so the same event id."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.state in (State.PENDING, State.SENDING):
        raise ValidationError("This event is already queued to be sent.")
    now = timezone.now()
    delivery.state = State.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.save(update_fields=["state", "attempts", "next_attempt_at", "updated_at"])
    _drain_on_commit()
    return delivery

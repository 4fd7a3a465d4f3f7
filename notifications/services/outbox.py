"""The outbox: notification rows written in the transaction of the change that causes them.

Rules: a rolled-back change writes no notification (rows are written inside its transaction);
the same event never makes two rows (a unique dedupe key); a row keeps what was true at the
event, and the email is rendered when it is sent (context.py); a transaction that writes rows
publishes one drain after commit, however many rows it wrote (sending.py, drain.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils import timezone

from config.celery import publish_once_on_commit
from config.db import update_rows
from orders.models import Order, OrderEvent

from ..models import Notification

Kind = Notification.Kind
State = Notification.State


def _customer_orders(events: Sequence[OrderEvent]) -> dict[int, Order]:
    """The events' orders with their customers (for the recipient): those the events carry
    already, and the rest in one query."""
    found = {
        e.order_id: e.order
        for e in events
        if OrderEvent.order.is_cached(e) and Order.customer.is_cached(e.order)
    }
    wanted = {e.order_id for e in events} - set(found)
    if wanted:
        found |= {
            o.pk: o
            for o in Order.objects.select_related("customer")
            .only("pk", "customer__email")
            .filter(pk__in=wanted)
        }
    return found


def _schedule(notifications: Sequence[Notification]) -> None:
    """Publish one drain once the transaction commits, however many rows it wrote.

    Rows due later than a countdown may wait (an ETA batch's window) are left to the sweep.
    """
    from ..tasks import notifications_drain_task

    now = timezone.now()
    countdowns = [
        max(0, int((n.send_after - now).total_seconds()))
        for n in notifications
        if n.send_after <= now + dt.timedelta(seconds=settings.TASK_COUNTDOWN_MAX_SECONDS)
    ]
    if countdowns:
        publish_once_on_commit(notifications_drain_task, countdown=min(countdowns) or None)


def _create(
    notifications: list[Notification], *, ignore_conflicts: bool = False
) -> list[Notification]:
    """Insert outbox rows and schedule their sending after commit.

    Dedupe keys are built from the causing event (an order, a shipment, an event id), so one
    event can never make two rows; ignore_conflicts is for rows a job may create twice (digest).
    """
    if not notifications:
        return []
    if ignore_conflicts:
        Notification.objects.bulk_create(notifications, ignore_conflicts=True)
        notifications = list(
            Notification.objects.filter(
                dedupe_key__in=[n.dedupe_key for n in notifications], state=State.PENDING
            ).only("id", "send_after")
        )
    else:
        notifications = Notification.objects.bulk_create(notifications)
    _schedule(notifications)
    return notifications


def notification_create(
    *, kind: str, order: Order, dedupe_key: str, facts: dict[str, Any]
) -> Notification:
    """Queue one customer email about an order (for callers above this app: the rule engine).

    `facts` is what the email must say as of now; the order's own facts (number, name, status
    link) are added when it is sent.
    """
    order = Order.objects.select_related("customer").get(pk=order.pk)
    [row] = _create(
        [
            Notification(
                kind=kind,
                order=order,
                recipient=order.customer.email,
                dedupe_key=dedupe_key,
                facts=facts,
                send_after=timezone.now(),
            )
        ]
    )
    return row


def notifications_queue(
    *, kind: str, emails: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[Notification]:
    """Queue customer emails about no order (a waitlist's invitations), each given as
    (recipient, dedupe key, facts), for callers above this app."""
    now = timezone.now()
    return _create(
        [
            Notification(
                kind=kind, recipient=recipient, dedupe_key=key, facts=facts, send_after=now
            )
            for recipient, key, facts in emails
        ]
    )


def notifications_from_events(events: Sequence[OrderEvent]) -> None:
    """Turn an order service's timeline events into outbox rows, in its transaction."""
    by_kind: dict[str, list[OrderEvent]] = defaultdict(list)
    for event in events:
        by_kind[event.kind].append(event)
    wanted = [
        e
        for e in events
        if e.kind in (OrderEvent.Kind.PLACED, OrderEvent.Kind.SHIPPED, OrderEvent.Kind.CANCELLED)
        or (e.kind == OrderEvent.Kind.ALLOCATED and settings.NOTIFY_ON_ALLOCATION)
    ]
    orders = _customer_orders(wanted) if wanted else {}
    now = timezone.now()
    rows: list[Notification] = []
    for event in wanted:
        rows += _rows_for(event, orders[event.order_id], now)
    _create(rows)
    if by_kind[OrderEvent.Kind.ETA_CHANGED]:
        _eta_changes(by_kind[OrderEvent.Kind.ETA_CHANGED], now)


def _rows_for(event: OrderEvent, order: Order, now: dt.datetime) -> list[Notification]:
    """The outbox rows one event makes, with what the event knew (context.py adds the rest)."""
    data = event.data

    def row(kind: str, dedupe_key: str, facts: dict[str, Any], to: str = "") -> Notification:
        return Notification(
            kind=kind,
            order=order,
            recipient=to or order.customer.email,
            dedupe_key=dedupe_key,
            facts=facts,
            send_after=now,
        )

    if event.kind == OrderEvent.Kind.PLACED:
        facts = {"lines": data.get("lines", [])}
        rows = [row(Kind.ORDER_CONFIRMATION, f"confirmation:{order.pk}", facts)]
        if settings.STAFF_BACKORDER_ALERTS and any(
            line.get("backordered") for line in facts["lines"]
        ):
            rows += [
                row(
                    Kind.STAFF_BACKORDER_ALERT,
                    f"staff-backorder:{order.pk}:{address.lower()}",
                    facts,
                    to=address,
                )
                for address in settings.STAFF_NOTIFICATION_EMAILS
            ]
        return rows
    if event.kind == OrderEvent.Kind.SHIPPED:
        facts = {
            "shipment": data.get("shipment"),
            "carrier": data.get("carrier", ""),
            "tracking_number": data.get("tracking_number", ""),
            "shipped": [
                {"sku": r["sku"], "line": r["line"], "quantity_in_shipment": r["shipped"]}
                for r in data.get("lines", [])
            ],
        }
        return [row(Kind.SHIPMENT_SENT, f"shipment:{data.get('shipment')}", facts)]
    if event.kind == OrderEvent.Kind.CANCELLED:
        cause = data.get("cause", "customer")
        facts = {
            "cause": cause,
            "reason": data.get("reason", ""),
            "cancelled": [
                {"sku": r["sku"], "quantity": r["cancelled"]} for r in data.get("lines", [])
            ],
            "refund": data.get("refund"),
            "refund_due": data.get("refund_due"),
            "ship_by": data.get("ship_by"),
        }
        kind = Kind.DISCONTINUED if cause == "discontinued" else Kind.CANCELLATION
        return [row(kind, f"cancellation:{event.pk}", facts)]
    allocated = [{"sku": data["sku"], "quantity": sum(data.get("lines", {}).values())}]
    return [row(Kind.ITEMS_ALLOCATED, f"allocated:{event.pk}", {"allocated": allocated})]


def _eta_changes(events: list[OrderEvent], now: dt.datetime) -> None:
    """Gather ETA changes per order into one pending email that goes out after the window."""
    window = dt.timedelta(minutes=settings.NOTIFICATION_BATCH_MINUTES)
    order_ids = {e.order_id for e in events}
    open_batches = {
        n.order_id: n
        for n in Notification.objects.select_for_update()
        .filter(order_id__in=order_ids, kind=Kind.ETA_CHANGED, state=State.PENDING)
        .order_by("order_id", "-id")
    }
    orders = _customer_orders([e for e in events if e.order_id not in open_batches])
    new: dict[int, Notification] = {}
    for event in events:
        batch = open_batches.get(event.order_id) or new.get(event.order_id)
        if batch is None:
            order = orders[event.order_id]
            batch = new[event.order_id] = Notification(
                kind=Kind.ETA_CHANGED,
                order=order,
                recipient=order.customer.email,
                dedupe_key=f"eta:{order.pk}:{event.pk}",
                facts={"changes": {}, "reasons": []},
                send_after=now + window,
            )
        changes = batch.facts["changes"]
        for row in event.data.get("lines", []):
            key = str(row["line"])
            first_old = changes[key]["old"] if key in changes else row["old"]
            first_source = changes[key]["old_source"] if key in changes else row.get("old_source")
            changes[key] = {
                "sku": row["sku"],
                "old": first_old,
                "old_source": first_source,
                "new": row["new"],
                "source": row["source"],
            }
        # Only reasons the shop wrote for customers (a supplier's delay), never internal ones.
        reason = event.data.get("public_reason")
        if reason and reason not in batch.facts["reasons"]:
            batch.facts["reasons"].append(reason)
    if open_batches:
        update_rows(list(open_batches.values()), ["facts", "updated_at"])
    _create(list(new.values()))

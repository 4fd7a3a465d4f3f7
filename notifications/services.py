"""The outbox: notifications are written with the change that causes them and sent after commit.

Rules: a rolled-back change writes no notification (rows are written inside its transaction);
a notification is sent at most once per claim (a conditional UPDATE pending -> sending); a lost
task never loses an email (the sweep re-enqueues pending rows); the same event never makes two
rows (a unique dedupe key).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
)
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from config.calendar import store_today
from config.celery import publish_on_commit
from inventory.models import Product
from orders.models import Order, OrderEvent, OrderLine
from orders.selectors import order_status_url

from .models import DeliveryEvent, Notification

logger = logging.getLogger(__name__)

Kind = Notification.Kind
State = Notification.State


def _customer_orders(order_ids: Iterable[int]) -> dict[int, Order]:
    return {o.pk: o for o in Order.objects.select_related("customer").filter(pk__in=set(order_ids))}


def _product_facts(skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {
        p.sku: {
            "sku": p.sku,
            "name": p.name,
            "preorder": p.is_preorder,
            "release_date": p.release_date.isoformat() if p.release_date else None,
        }
        for p in Product.objects.filter(sku__in=set(skus))
    }


def _line_facts(line: OrderLine) -> dict[str, Any]:
    return {
        "line": line.pk,
        "sku": line.product.sku,
        "name": line.product.name,
        "quantity": line.quantity,
        "allocated": line.quantity_allocated,
        "shipped": line.quantity_shipped,
        "cancelled": line.quantity_cancelled,
        "backordered": line.backordered,
        "unit_price": str(line.unit_price),
        "eta": line.eta.isoformat() if line.eta else None,
        "eta_source": line.eta_source,
        "preorder": line.product.is_preorder,
        "release_date": line.product.release_date.isoformat()
        if line.product.release_date
        else None,
    }


def _order_facts(order: Order) -> dict[str, Any]:
    return {
        "order_number": order.number,
        "customer_name": order.customer.name,
        "ship_preference": order.ship_preference,
        "status_url": order_status_url(order=order),
        "placed_on": timezone.localtime(order.placed_at).date().isoformat(),
    }


def _lines_of(order_ids: Iterable[int]) -> dict[int, list[OrderLine]]:
    by_order: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=set(order_ids)).select_related("product"):
        by_order[line.order_id].append(line)
    return by_order


def _schedule(notifications: Sequence[Notification]) -> None:
    """Enqueue each new notification's send task once the transaction commits."""
    from .tasks import notification_send_task

    now = timezone.now()
    for notification in notifications:
        countdown = max(0, int((notification.send_after - now).total_seconds()))
        if countdown > settings.TASK_COUNTDOWN_MAX_SECONDS:
            # Longer than the broker keeps a reserved message hidden: the sweep sends it when
            # it is due instead.
            continue
        publish_on_commit(notification_send_task, notification.pk, countdown=countdown)


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

    Its facts carry the order's own facts (number, name, status link) plus `facts`.
    """
    order = Order.objects.select_related("customer").get(pk=order.pk)
    [row] = _create(
        [
            Notification(
                kind=kind,
                order=order,
                recipient=order.customer.email,
                dedupe_key=dedupe_key,
                facts=_order_facts(order) | facts,
                send_after=timezone.now(),
            )
        ]
    )
    return row


def notifications_from_events(events: Sequence[OrderEvent]) -> None:
    """Turn an order service's timeline events into outbox rows, in its transaction."""
    by_kind: dict[str, list[OrderEvent]] = defaultdict(list)
    for event in events:
        by_kind[event.kind].append(event)
    now = timezone.now()
    rows: list[Notification] = []
    if by_kind[OrderEvent.Kind.PLACED]:
        rows += _confirmations(by_kind[OrderEvent.Kind.PLACED], now)
    if by_kind[OrderEvent.Kind.SHIPPED]:
        rows += _shipments(by_kind[OrderEvent.Kind.SHIPPED], now)
    if by_kind[OrderEvent.Kind.CANCELLED]:
        rows += _cancellations(by_kind[OrderEvent.Kind.CANCELLED], now)
    if by_kind[OrderEvent.Kind.ALLOCATED] and settings.NOTIFY_ON_ALLOCATION:
        rows += _allocations(by_kind[OrderEvent.Kind.ALLOCATED], now)
    _create(rows)
    if by_kind[OrderEvent.Kind.ETA_CHANGED]:
        _eta_changes(by_kind[OrderEvent.Kind.ETA_CHANGED], now)


def _confirmations(events: list[OrderEvent], now: dt.datetime) -> list[Notification]:
    orders = _customer_orders(e.order_id for e in events)
    lines = _lines_of(orders)
    rows = []
    for event in events:
        order = orders[event.order_id]
        facts = _order_facts(order) | {"lines": [_line_facts(x) for x in lines[order.pk]]}
        rows.append(
            Notification(
                kind=Kind.ORDER_CONFIRMATION,
                order=order,
                recipient=order.customer.email,
                dedupe_key=f"confirmation:{order.pk}",
                facts=facts,
                send_after=now,
            )
        )
        backordered = sum(line["backordered"] for line in facts["lines"])
        if backordered and settings.STAFF_BACKORDER_ALERTS:
            rows += [
                Notification(
                    kind=Kind.STAFF_BACKORDER_ALERT,
                    order=order,
                    recipient=address,
                    dedupe_key=f"staff-backorder:{order.pk}:{address.lower()}",
                    facts=facts | {"customer_email": order.customer.email},
                    send_after=now,
                )
                for address in settings.STAFF_NOTIFICATION_EMAILS
            ]
    return rows


def _shipments(events: list[OrderEvent], now: dt.datetime) -> list[Notification]:
    orders = _customer_orders(e.order_id for e in events)
    lines = _lines_of(orders)
    rows = []
    for event in events:
        order = orders[event.order_id]
        shipped_lines = {row["line"]: row["shipped"] for row in event.data.get("lines", [])}
        all_lines = [_line_facts(x) for x in lines[order.pk]]
        facts = _order_facts(order) | {
            "shipment": event.data.get("shipment"),
            "carrier": event.data.get("carrier", ""),
            "tracking_number": event.data.get("tracking_number", ""),
            "shipped": [
                line | {"quantity_in_shipment": shipped_lines[line["line"]]}
                for line in all_lines
                if line["line"] in shipped_lines
            ],
            "still_coming": [
                line for line in all_lines if line["allocated"] or line["backordered"]
            ],
        }
        rows.append(
            Notification(
                kind=Kind.SHIPMENT_SENT,
                order=order,
                recipient=order.customer.email,
                dedupe_key=f"shipment:{event.data.get('shipment')}",
                facts=facts,
                send_after=now,
            )
        )
    return rows


def _cancellations(events: list[OrderEvent], now: dt.datetime) -> list[Notification]:
    orders = _customer_orders(e.order_id for e in events)
    products = _product_facts(row["sku"] for e in events for row in e.data.get("lines", []))
    substitutes = _substitutes(products)
    rows = []
    for event in events:
        order = orders[event.order_id]
        cause = event.data.get("cause", "customer")
        cancelled = [
            products.get(row["sku"], {"sku": row["sku"], "name": row["sku"]})
            | {"quantity": row["cancelled"], "substitutes": substitutes.get(row["sku"], [])}
            for row in event.data.get("lines", [])
        ]
        rows.append(
            Notification(
                kind=Kind.DISCONTINUED if cause == "discontinued" else Kind.CANCELLATION,
                order=order,
                recipient=order.customer.email,
                dedupe_key=f"cancellation:{event.pk}",
                facts=_order_facts(order)
                | {
                    "cause": cause,
                    "reason": event.data.get("reason", ""),
                    "cancelled": cancelled,
                    "refund": event.data.get("refund"),
                    "refund_due": event.data.get("refund_due"),
                    "ship_by": event.data.get("ship_by"),
                },
                send_after=now,
            )
        )
    return rows


def _substitutes(products: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    result: dict[str, list[dict[str, str]]] = defaultdict(list)
    through = Product.substitutes.through
    rows = through.objects.filter(from_product__sku__in=list(products)).values_list(
        "from_product__sku", "to_product__sku", "to_product__name"
    )
    for sku, sub_sku, sub_name in rows:
        result[sku].append({"sku": sub_sku, "name": sub_name})
    return result


def _allocations(events: list[OrderEvent], now: dt.datetime) -> list[Notification]:
    orders = _customer_orders(e.order_id for e in events)
    return [
        Notification(
            kind=Kind.ITEMS_ALLOCATED,
            order=orders[event.order_id],
            recipient=orders[event.order_id].customer.email,
            dedupe_key=f"allocated:{event.pk}",
            facts=_order_facts(orders[event.order_id])
            | {
                "allocated": [
                    {
                        "sku": event.data["sku"],
                        "quantity": sum(event.data.get("lines", {}).values()),
                    }
                ],
            },
            send_after=now,
        )
        for event in events
    ]


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
    orders = _customer_orders(order_ids - set(open_batches))
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
                facts=_order_facts(order) | {"changes": {}, "reasons": []},
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
        Notification.objects.bulk_update(list(open_batches.values()), ["facts", "updated_at"])
    _create(list(new.values()))


# --- what each email says ---------------------------------------------------------------


def _skus_in(facts: dict[str, Any]) -> set[str]:
    skus: set[str] = set()
    for key in (
        "lines",
        "allocated",
        "cancelled",
        "shipped",
        "still_coming",
        "unknown_etas",
        "low_stock",
    ):
        skus.update(row["sku"] for row in facts.get(key, []))
    skus.update(row["sku"] for row in facts.get("changes", {}).values())
    return skus


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


SUBJECTS = {
    Kind.ORDER_CONFIRMATION: "Your order {order_number}: what ships now and what follows",
    Kind.ETA_CHANGED: "New delivery estimate for order {order_number}",
    Kind.SHIPMENT_SENT: "Order {order_number} has shipped",
    Kind.ITEMS_ALLOCATED: "Good news: your backordered items for {order_number} are in",
    Kind.CANCELLATION: "Order {order_number}: cancellation and refund",
    Kind.DISCONTINUED: "Order {order_number}: an item will not come back",
    Kind.DELAY_NOTICE: "Order {order_number} is delayed: please choose how to proceed",
    Kind.RENEWED_NOTICE: "Order {order_number} is delayed again: your consent is needed",
    Kind.CONSENT_CONFIRMED: "Order {order_number}: we have your answer",
    Kind.STAFF_BACKORDER_ALERT: "New backorder: {order_number}",
    Kind.STAFF_DIGEST: "Backorder digest for {date}",
}


def eta_changes_worth_telling(facts: dict[str, Any]) -> list[dict[str, Any]]:
    """ETA changes a customer hears about: any later date, an earlier one by enough days.

    A lead-time estimate ("today + the supplier's lead time") creeps later by a day or so each
    day no purchase order is placed; that creep alone is not worth an email.
    """
    threshold = dt.timedelta(days=settings.ETA_EMAIL_EARLIER_DAYS)
    worth = []
    for change in facts.get("changes", {}).values():
        old = dt.date.fromisoformat(change["old"]) if change.get("old") else None
        new = dt.date.fromisoformat(change["new"]) if change.get("new") else None
        if old == new or not change.get("old_source"):
            # Unchanged, or the line's first estimate (the confirmation already carries it).
            continue
        if old is None or new is None:
            worth.append(change)
        elif new > old:
            creep = change.get("old_source") == change.get("source") == "lead_time"
            if not creep or new - old >= threshold:
                worth.append(change)
        elif old - new >= threshold:
            worth.append(change)
    return worth


def notification_render(*, notification: Notification) -> Rendered | None:
    """Subject, text and HTML for a notification, or None when there is nothing to say."""
    facts = dict(notification.facts)
    if notification.kind == Kind.ETA_CHANGED:
        facts["worth_telling"] = eta_changes_worth_telling(facts)
        notice_since = (
            notification.order_id is not None
            and Notification.objects.filter(
                order_id=notification.order_id,
                kind__in=[Kind.DELAY_NOTICE, Kind.RENEWED_NOTICE],
                created_at__gte=notification.created_at,
            ).exists()
        )
        # A delay notice sent meanwhile already gave the new date (and the choices).
        if not facts["worth_telling"] or notice_since:
            return None
    context = {
        "facts": facts,
        "product_names": dict(
            Product.objects.filter(sku__in=_skus_in(facts)).values_list("sku", "name")
        ),
        "store_name": settings.STORE_NAME,
        "store_address": settings.STORE_ADDRESS,
        "support_email": settings.STORE_SUPPORT_EMAIL,
        "kind": notification.kind,
    }
    template = f"notifications/email/{notification.kind}"
    subject = SUBJECTS[Kind(notification.kind)].format(
        order_number=facts.get("order_number", ""), date=facts.get("date", "")
    )
    return Rendered(
        subject=subject,
        text=render_to_string(f"{template}.txt", context).strip() + "\n",
        html=render_to_string(f"{template}.html", context),
    )


# --- sending ------------------------------------------------------------------------------


class TemporaryEmailError(Exception):
    """The provider could not take the message now; try again later."""


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return True
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None)
        return status is not None and 400 <= status < 500 and status not in (408, 429)
    return isinstance(exc, smtplib.SMTPRecipientsRefused)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 1800))


def notification_message_id(*, notification: Notification) -> str:
    """The email's Message-ID, derived from its outbox row: sending the same row again (after a
    worker died between the provider's acceptance and the row's update) repeats it, so the
    provider and the recipient's mail client can tell it is the same message."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    created = notification.created_at.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    return f"<notification-{notification.pk}.{created}@{domain}>"


def notification_send(*, notification_id: int) -> str:
    """Claim, render, send and record one notification; returns its state afterwards.

    A duplicate task finds the row already claimed and does nothing. Temporary provider errors
    put the row back as pending with a later send_after (the caller retries); permanent ones,
    and the last attempt, fail it.
    """
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, state=State.PENDING, send_after__lte=now
    ).update(state=State.SENDING, attempts=F("attempts") + 1, updated_at=now)
    notification = Notification.objects.select_related("order").get(pk=notification_id)
    if not claimed:
        return notification.state
    rendered = notification_render(notification=notification)
    if rendered is None:
        Notification.objects.filter(pk=notification.pk).update(
            state=State.SUPPRESSED, updated_at=timezone.now()
        )
        return State.SUPPRESSED
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        reply_to=[settings.STORE_SUPPORT_EMAIL],
        headers={
            "Message-ID": notification_message_id(notification=notification),
            "X-Backorder-Desk-Notification": str(notification.pk),
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    try:
        message.send()
    except (AnymailError, smtplib.SMTPException, OSError) as exc:
        permanent = (
            _is_permanent(exc) or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
        )
        Notification.objects.filter(pk=notification.pk).update(
            state=State.FAILED if permanent else State.PENDING,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            send_after=timezone.now() + _backoff(notification.attempts),
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            updated_at=timezone.now(),
        )
        logger.warning(
            "Notification %s %s: %s", notification.pk, "failed" if permanent else "deferred", exc
        )
        if permanent:
            return State.FAILED
        raise TemporaryEmailError(str(exc)) from exc
    status = getattr(message, "anymail_status", None)
    Notification.objects.filter(pk=notification.pk).update(
        state=State.SENT,
        sent_at=timezone.now(),
        provider_message_id=_message_id(status),
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        last_error="",
        updated_at=timezone.now(),
    )
    return State.SENT


def _message_id(status: Any) -> str:
    """The provider's id for the sent message (anymail gives str, some backends int)."""
    message_id = getattr(status, "message_id", None)
    return "" if message_id is None else str(message_id)[:200]


def notifications_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Re-enqueue due notifications whose task was lost; claim rows with SKIP LOCKED so two
    sweepers never pick the same one. Rows stuck in 'sending' for longer than a send can take
    (a worker died mid-send) go back to pending: a rare second email beats a lost one, and it
    carries the same Message-ID as the first."""
    from .tasks import notification_send_task

    now = now or timezone.now()
    grace = dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES)
    stuck = dt.timedelta(minutes=settings.NOTIFICATION_STUCK_SENDING_MINUTES)
    with transaction.atomic():
        Notification.objects.filter(state=State.SENDING, updated_at__lt=now - stuck).update(
            state=State.PENDING, updated_at=now
        )
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(state=State.PENDING)
            .filter(
                # Lost tasks: due for a while. Batched ones: due now (their task may be gone).
                Q(send_after__lte=now - grace) | Q(send_after__lte=now, kind=Kind.ETA_CHANGED)
            )
            .order_by("send_after")
            .values_list("id", flat=True)[:limit]
        )
        for notification_id in ids:
            publish_on_commit(notification_send_task, notification_id)
    return ids


@transaction.atomic
def notification_resend(*, notification: Notification) -> Notification:
    """Send the same email again as a new notification (the original row is never re-sent)."""
    if notification.state in (State.PENDING, State.SENDING):
        raise ValidationError("This notification has not been sent yet.")
    # Lock the original so two quick clicks make two numbered copies, not a clash.
    Notification.objects.select_for_update().filter(pk=notification.pk).first()
    copies = notification.resends.count() + 1
    copy = Notification.objects.create(
        kind=notification.kind,
        order=notification.order,
        recipient=notification.recipient,
        dedupe_key=f"{notification.dedupe_key}:resend:{copies}"[:120],
        facts=notification.facts,
        send_after=timezone.now(),
        resend_of=notification,
    )
    _schedule([copy])
    return copy


# --- delivery tracking --------------------------------------------------------------------

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
            from .tasks import order_unreachable_task

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


def staff_digest_facts(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Low stock, reorder suggestions, unknown ETAs and unreachable customers, for the digest."""
    from inventory.models import LowStockAlert

    today = store_today(now)
    low = (
        LowStockAlert.objects.filter(date=today).select_related("product").order_by("product__sku")
    )
    unknown = (
        OrderLine.objects.filter(quantity_backordered__gt=0, eta_source="unknown")
        .select_related("order", "product")
        .order_by("order__placed_at")[:50]
    )
    unreachable = Order.objects.filter(customer_unreachable_at__isnull=False).select_related(
        "customer"
    )[:50]
    return {
        "date": today.isoformat(),
        "low_stock": [
            {
                "sku": a.product.sku,
                "name": a.product.name,
                "on_hand": a.on_hand,
                "backordered": a.backordered,
                "suggested": a.suggested_quantity,
            }
            for a in low
        ],
        "unknown_etas": [
            {
                "order_number": line.order.number,
                "sku": line.product.sku,
                "backordered": line.backordered,
            }
            for line in unknown
        ],
        "unreachable": [
            {
                "order_number": o.number,
                "email": o.customer.email,
                "reason": o.customer_unreachable_reason,
            }
            for o in unreachable
        ],
    }


@transaction.atomic
def staff_digest_create(*, now: dt.datetime | None = None) -> list[Notification]:
    """Today's digest to each staff address, once a day."""
    facts = staff_digest_facts(now=now)
    return _create(
        [
            Notification(
                kind=Kind.STAFF_DIGEST,
                recipient=address,
                dedupe_key=f"digest:{facts['date']}:{address.lower()}",
                facts=facts,
                send_after=timezone.now(),
            )
            for address in settings.STAFF_NOTIFICATION_EMAILS
        ],
        ignore_conflicts=True,
    )

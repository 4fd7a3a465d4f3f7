"""What each email says: its subject, text and HTML, rendered when it is sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from ..models import Notification
from .context import EmailContext, notifications_context

Kind = Notification.Kind


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    goodwill_grant: int | None = None  # the goodwill gesture the email tells of


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
    Kind.WAITLIST_INVITATION: "Back in stock: {product_name}",
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


def notifications_render(notifications: Sequence[Notification]) -> dict[int, Rendered | None]:
    """Subject, text and HTML of each notification (None when there is nothing to say),
    from what its row froze at the event and what is read now, for a batch at once."""
    contexts = notifications_context(notifications)
    return {n.pk: _render(n, contexts[n.pk]) for n in notifications}


def notification_render(*, notification: Notification) -> Rendered | None:
    """Subject, text and HTML for a notification, or None when there is nothing to say."""
    return notifications_render([notification])[notification.pk]


def _render(notification: Notification, email: EmailContext) -> Rendered | None:
    facts = email.facts
    if notification.kind == Kind.ETA_CHANGED:
        facts["worth_telling"] = eta_changes_worth_telling(facts)
        # A delay notice sent meanwhile already gave the new date (and the choices).
        if not facts["worth_telling"] or email.notice_since:
            return None
    context = {
        "facts": facts,
        "product_names": email.product_names,
        "store_name": settings.STORE_NAME,
        "store_address": settings.STORE_ADDRESS,
        "support_email": settings.STORE_SUPPORT_EMAIL,
        "kind": notification.kind,
    }
    template = f"notifications/email/{notification.kind}"
    subject = SUBJECTS[Kind(notification.kind)].format(
        order_number=facts.get("order_number", ""),
        date=facts.get("date", ""),
        product_name=facts.get("product_name", ""),
    )
    return Rendered(
        subject=subject,
        text=render_to_string(f"{template}.txt", context).strip() + "\n",
        html=render_to_string(f"{template}.html", context),
        goodwill_grant=email.goodwill_grant,
    )

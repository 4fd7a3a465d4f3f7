"""The record the rule asks us to keep, for one order or many at once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from config.formats import format_date, format_money
from orders.models import Order, OrderEvent

from ..models import DelayNotice, OrderCompliance


@dataclass(frozen=True)
class RecordRow:
    at: dt.datetime
    what: str
    detail: str


def compliance_record(*, order_id: int) -> tuple[OrderCompliance | None, list[RecordRow]]:
    """Everything the rule asks us to keep for one order, oldest first."""
    order = records_queryset(Order.objects.filter(pk=order_id)).get()
    record = order_record(order)
    return record.compliance, list(record.entries)


RECORD_EVENT_KINDS = (
    OrderEvent.Kind.MAIL_ORDER_RULE,
    OrderEvent.Kind.SHIPPED,
    OrderEvent.Kind.CANCELLED,
    OrderEvent.Kind.REFUND_DUE,
    OrderEvent.Kind.REFUND_ISSUED,
    OrderEvent.Kind.PAYMENT,
)


@dataclass(frozen=True)
class RecordEntry(RecordRow):
    """A record row; a notice's row and an answer's row also carry the notice itself."""

    notice: DelayNotice | None = None
    kind: str = ""  # "notice" or "answer": how the page lays the row out


@dataclass(frozen=True)
class OrderRecord:
    order: Order
    compliance: OrderCompliance | None
    entries: list[RecordEntry]


def records_queryset(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Orders with everything their record needs: five queries for any number of orders."""
    return orders.select_related("customer", "compliance").prefetch_related(
        Prefetch(
            "events",
            queryset=OrderEvent.objects.filter(kind__in=RECORD_EVENT_KINDS).order_by(
                "created_at", "id"
            ),
            to_attr="record_events",
        ),
        Prefetch(
            "delay_notices",
            queryset=DelayNotice.objects.select_related("notification", "answer")
            .prefetch_related("notification__deliveries")
            .order_by("sent_at", "id"),
            to_attr="record_notices",
        ),
        "refunds",
    )


def order_record(order: Order) -> OrderRecord:
    """The record of an order loaded through records_queryset (no queries)."""
    compliance: OrderCompliance | None = getattr(order, "compliance", None)
    entries = [RecordEntry(order.placed_at, "Order placed", order.number)]
    for event in order.record_events:  # type: ignore[attr-defined]
        entries.append(RecordEntry(event.created_at, event.get_kind_display(), event.message))
    notices: list[DelayNotice] = order.record_notices  # type: ignore[attr-defined]
    for notice in notices:
        notification = notice.notification
        entries.append(
            RecordEntry(
                notice.sent_at,
                notice.get_kind_display(),
                (notification.body_text if notification and notification.body_text else "")
                + (f" [delivery: {notification.state}]" if notification else ""),
                notice,
                "notice",
            )
        )
    for notice in notices:
        answer = getattr(notice, "answer", None)
        if answer is not None:
            entries.append(
                RecordEntry(
                    answer.received_at,
                    "Customer answered",
                    answer.get_choice_display(),
                    notice,
                    "answer",
                )
            )
    for refund in order.refunds.all():
        entries.append(
            RecordEntry(
                refund.vested_at,
                "Refund owed",
                f"{format_money(refund.amount)} due {format_date(refund.due_date)}"
                + (
                    f", issued {format_date(refund.issued_at)} ({refund.issue_reference})"
                    if refund.issued_at
                    else ""
                ),
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return OrderRecord(order=order, compliance=compliance, entries=entries)

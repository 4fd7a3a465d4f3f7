"""What an order waits on and what its notices did: the reads the engine decides from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from config.formats import format_date
from notifications.models import Notification
from orders.models import Order, OrderLine

from ..models import DelayNotice, NoticeFollowUp, OrderCompliance


@dataclass(frozen=True)
class Outlook:
    """Where an order's covered, unshipped lines stand."""

    open_lines: list[OrderLine]
    shipped_any: bool
    # The date the last waiting unit is expected to ship; None when unknown.
    expected: dt.date | None
    waiting: bool


def order_outlook(*, lines: list[OrderLine], today: dt.date) -> Outlook:
    covered = [line for line in lines if not line.exempt_from_mail_order_rule]
    open_lines = [line for line in covered if line.quantity_open > 0]
    waiting = [line for line in open_lines if line.backordered > 0]
    expected: dt.date | None = today
    if any(line.eta is None for line in waiting):
        expected = None
    elif waiting:
        expected = max(line.eta for line in waiting if line.eta is not None)
    return Outlook(
        open_lines=open_lines,
        shipped_any=any(line.quantity_shipped for line in covered),
        expected=expected,
        waiting=bool(waiting),
    )


def delay_reason(*, lines: Sequence[OrderLine]) -> str:
    """The reason given in a notice: which items wait and for what, within the notice's room
    (DelayNotice.delay_reason): with many items, the first names and how many others."""
    waiting = [line for line in lines if line.backordered > 0]
    if not waiting:
        return "The items are being prepared."
    backordered = [line for line in waiting if not line.product.is_preorder]
    if any(line.product.is_discontinued for line in backordered):
        why = "the manufacturer has stopped making it."
    elif any(line.eta is None for line in backordered):
        why = "out of stock and our supplier has not confirmed a delivery date."
    else:
        why = "out of stock; our next delivery from the supplier is later than planned."
    # A preorder waits for its release, not for a supplier's delivery.
    releases = {
        line.product.name: line.product.release_date for line in waiting if line.product.is_preorder
    }
    preorders = " ".join(
        f"{name}: a preorder, not released yet; its release date is "
        + (f"{format_date(released)}." if released else "not confirmed.")
        for name, released in sorted(releases.items())
    )
    names = sorted({line.product.name for line in backordered})
    room = DelayNotice._meta.get_field("delay_reason").max_length or 300
    reason = preorders
    for shown in range(len(names), -1, -1):  # fewer names until it fits
        others = len(names) - shown
        listed = ", ".join(names[:shown])
        if others:
            rest = f"{others} other item{'s' if others > 1 else ''}"
            listed = f"{listed} and {rest}" if shown else f"{others} items"
        reason = " ".join(filter(None, [f"{listed}: {why}" if names else "", preorders]))
        if len(reason) <= room:
            return reason
    return reason[: room - 1] + "…"


def notice_closed_reason(*, lines: Sequence[OrderLine]) -> str:
    """Why an order's delay notices no longer stand ('' while a covered item still waits):
    what was delayed is now in stock and set aside, shipped, or cancelled."""
    covered = [line for line in lines if not line.exempt_from_mail_order_rule]
    if any(line.backordered > 0 for line in covered):
        return ""
    if any(line.quantity_open > 0 for line in covered):
        return DelayNotice.ClosedReason.IN_STOCK
    if any(line.quantity_shipped for line in covered):
        return DelayNotice.ClosedReason.SHIPPED
    return DelayNotice.ClosedReason.CANCELLED


# Email states in which the notice reached the buyer (a spam complaint means it arrived).
NOTICE_REACHED = (
    Notification.State.SENT,
    Notification.State.DELIVERED,
    Notification.State.COMPLAINED,
)
NOTICE_FAILED = (
    Notification.State.FAILED,
    Notification.State.BOUNCED,
    Notification.State.SUPPRESSED,
)


def latest_delay_notices(*, order_ids: Iterable[int]) -> dict[int, DelayNotice]:
    """Each order's latest delay notice (orders without one are left out), with its email and
    its follow-up, in one query: what the engine reads for a batch of orders."""
    latest = (
        DelayNotice.objects.filter(order_id=OuterRef("order_id"))
        .order_by("-sent_at", "-id")
        .values("pk")[:1]
    )
    return {
        notice.order_id: notice
        for notice in DelayNotice.objects.filter(
            order_id__in=list(order_ids), pk=Subquery(latest)
        ).select_related("notification", "follow_up")
    }


def notice_given_at(*, notice: DelayNotice) -> dt.datetime | None:
    """When the notice actually reached the buyer: its email went out, or staff told them
    another way. None while it has not (a notice that never went out is no notice)."""
    moments = []
    email = notice.notification
    if email is not None and email.state in NOTICE_REACHED and email.sent_at is not None:
        moments.append(email.sent_at)
    try:
        follow_up: NoticeFollowUp | None = notice.follow_up  # read with the notice, or now
    except NoticeFollowUp.DoesNotExist:
        follow_up = None
    if follow_up is not None and follow_up.done_at is not None:
        moments.append(follow_up.done_at)
    return min(moments) if moments else None


def notice_follow_ups_open() -> QuerySet[NoticeFollowUp]:
    """Notices staff must still deliver another way, soonest deadline first."""
    return NoticeFollowUp.objects.filter(done_at=None).select_related(
        "order__customer", "notice__notification"
    )


def orders_due_for_rule() -> list[int]:
    """Orders the hourly run looks at: open under the rule, or never evaluated yet."""
    open_rows = OrderCompliance.objects.filter(
        state__in=OrderCompliance.OPEN_STATES + (OrderCompliance.State.AWAITING_PAYMENT,)
    ).values_list("order_id", flat=True)
    never = Order.objects.filter(compliance__isnull=True).values_list("pk", flat=True)
    return sorted(set(open_rows) | set(never))

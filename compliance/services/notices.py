"""Option notices: sending one once per decision, closing them when their reason is gone, and
whether the latest one reached the buyer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction

from config.calendar import end_of_store_day
from config.formats import format_date
from notifications.models import Notification
from notifications.services import notification_create
from orders.models import Order, OrderLine

from ..models import ConsentAnswer, DelayNotice, NoticeFollowUp, OrderCompliance
from ..selectors import (
    NOTICE_FAILED,
    Outlook,
    delay_reason,
    latest_delay_notices,
    notice_closed_reason,
    notice_given_at,
    substitute_choices,
)
from ._common import GRACE, RuleBatch, State, _cancel_under_rule, _record


def _notice(
    *,
    order: Order,
    compliance: OrderCompliance,
    kind: str,
    branch: str,
    deadline: dt.date,
    revised: dt.date | None,
    answer_by: dt.date,
    lines: Sequence[OrderLine],
    decision_key: str,
    cancel_at_end_of: dt.date | None,
    record: str,
) -> None:
    """Send a notice (its row, its email, the new state, the timeline entry) once per decision;
    a decision that already went out does nothing."""
    reason = delay_reason(lines=lines)
    try:
        with transaction.atomic():
            notice = DelayNotice.objects.create(
                order=order,
                kind=kind,
                branch=branch,
                deadline=deadline,
                revised_date=revised,
                delay_reason=reason,
                answer_by=answer_by,
                decision_key=decision_key,
            )
    except IntegrityError:
        return
    DelayNotice.objects.filter(order=order, closed_at__isnull=True).exclude(pk=notice.pk).update(
        closed_at=notice.sent_at, closed_reason=DelayNotice.ClosedReason.REPLACED
    )
    notice.notification = notification_create(
        kind=Notification.Kind.DELAY_NOTICE
        if kind == DelayNotice.Kind.FIRST
        else Notification.Kind.RENEWED_NOTICE,
        order=order,
        dedupe_key=f"rule:{decision_key}",
        facts={
            "notice": notice.pk,
            "branch": branch,
            "deadline": deadline.isoformat(),
            "revised_date": revised.isoformat() if revised else None,
            "answer_by": answer_by.isoformat(),
            "cutoff": (deadline + GRACE).isoformat(),
            "delay_reason": reason,
            "choices": _choices(order),
        },
    )
    notice.save(update_fields=["notification"])
    compliance.state = (
        State.NOTICE_SENT if kind == DelayNotice.Kind.FIRST else State.RENEWED_NOTICE_SENT
    )
    compliance.branch = branch or compliance.branch
    compliance.revised_date = revised
    compliance.cancel_at_end_of = cancel_at_end_of
    compliance.save()
    _record(
        order,
        record,
        notice=notice.pk,
        branch=branch,
        revised=revised.isoformat() if revised else "no date",
    )


def _notices_close(
    *,
    order: Order,
    compliance: OrderCompliance,
    lines: Sequence[OrderLine],
    now: dt.datetime,
    notices: Mapping[int, DelayNotice] | None = None,
) -> None:
    """Close the order's notices whose reason is gone (what was delayed is in stock, shipped or
    cancelled), saying why in the record. If stock is taken back and the items wait again, the
    unanswered notice that closed for it stands again: its deadlines never stopped running.
    `notices` are the latest notices read for a batch of orders (read here if not given)."""
    reason = notice_closed_reason(lines=lines)
    if reason:
        closing = list(
            DelayNotice.objects.filter(order=order, closed_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        if closing:
            DelayNotice.objects.filter(pk__in=closing).update(closed_at=now, closed_reason=reason)
            latest = (notices or {}).get(order.pk)
            if latest is not None and latest.pk in closing:
                latest.closed_at, latest.closed_reason = now, reason
            _record(
                order,
                f"Delay notice closed: {DelayNotice.ClosedReason(reason).label.lower()}.",
                notices=closing,
                reason=reason,
            )
        return
    latest = _latest_notice(order=order, notices=notices)
    if (
        latest is not None
        and latest.closed_reason == DelayNotice.ClosedReason.IN_STOCK
        and compliance.state in (State.NOTICE_SENT, State.RENEWED_NOTICE_SENT)
        and not ConsentAnswer.objects.filter(notice=latest).exists()
    ):
        latest.closed_at, latest.closed_reason = None, ""
        latest.save(update_fields=["closed_at", "closed_reason"])
        _record(
            order, "Delay notice stands again: the items wait for stock again.", notice=latest.pk
        )


def _choices(order: Order) -> list[dict[str, Any]]:
    """The substitutes the notice offers: exactly those the status page offers and accepts."""
    return [
        {
            "line": choice.line_id,
            "sku": choice.product_sku,
            "name": choice.product_name,
            "substitute": choice.substitute_sku,
            "substitute_name": choice.substitute_name,
        }
        for choice in substitute_choices(order=order)
    ]


def _latest_notice(
    *, order: Order, notices: Mapping[int, DelayNotice] | None
) -> DelayNotice | None:
    if notices is None:
        notices = latest_delay_notices(order_ids=[order.pk])
    return notices.get(order.pk)


def _notice_reached(
    *,
    order: Order,
    compliance: OrderCompliance,
    outlook: Outlook,
    today: dt.date,
    batch: RuleBatch | None = None,
    notices: Mapping[int, DelayNotice] | None = None,
) -> bool:
    """True when the latest notice reached the buyer by its deadline, so it counts. Otherwise
    a failed email gets a follow-up for staff (tell the buyer another way before the deadline)
    and, once the deadline has passed, the order is cancelled at it."""
    notice = _latest_notice(order=order, notices=notices)
    if notice is None:
        return True
    given = notice_given_at(notice=notice)
    if given is not None and given <= end_of_store_day(notice.deadline):
        return True
    email = notice.notification
    problem = (
        f"its email {email.get_state_display().lower()}"
        if email is not None and email.state in NOTICE_FAILED
        else "its email had not gone out"
    )
    if today > notice.deadline:
        _cancel_under_rule(
            order=order,
            compliance=compliance,
            lines=outlook.open_lines,
            day=notice.deadline,
            why=f"the delay notice did not reach the customer by {format_date(notice.deadline)} "
            f"({problem}, and no other way of telling them was recorded)",
            batch=batch,
        )
        return False
    if email is not None and email.state in NOTICE_FAILED:
        _, created = NoticeFollowUp.objects.get_or_create(
            notice=notice,
            defaults={"order": order, "problem": problem[:200], "due_by": notice.deadline},
        )
        if created:
            _record(
                order,
                f"The delay notice did not reach the customer ({problem}): staff must tell them "
                f"another way (phone) by the end of {format_date(notice.deadline)}, or the order "
                "is cancelled then.",
                notice=notice.pk,
                follow_up=True,
            )
    # Until the customer has the notice, silence means nothing.
    return False

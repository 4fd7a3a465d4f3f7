"""The FTC Mail Order Rule engine: deadlines, option notices, consent, cancellation.

One function decides for an order (`order_rule_evaluate`); it runs in the flow that changes an
ETA and hourly from beat. It is idempotent: every notice has a decision key, so running it
twice (or in two processes at once) never sends the same notice twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.celery import publish_on_commit
from inventory.models import Product
from notifications.models import Notification
from notifications.services import notification_create
from orders.locks import lock_order
from orders.models import Order, OrderEvent, OrderLine
from orders.services import order_cancel, order_rule_record

from .models import ConsentAnswer, DelayNotice, OrderCompliance
from .selectors import (
    delay_reason,
    end_of_store_day,
    exemption,
    order_outlook,
    orders_due_for_rule,
    shipment_deadline,
    store_date,
)

State = OrderCompliance.State
Branch = OrderCompliance.Branch
GRACE = dt.timedelta(days=30)


def _record(order: Order, message: str, **data: Any) -> None:
    order_rule_record(order=order, message=message, data={"rule": True, **data})


def _fmt(day: dt.date | None) -> str:
    return day.isoformat() if day else "no date"


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
    _record(order, record, notice=notice.pk, branch=branch, revised=_fmt(revised))


def _choices(order: Order) -> list[dict[str, Any]]:
    """Substitutes in stock for the waiting lines, offered as a choice in the notice."""
    offers = []
    for line in order.lines.filter(quantity_backordered__gt=0).select_related("product"):
        for sub in line.product.substitutes.filter(
            is_discontinued=False, stock__on_hand__gt=0
        ).select_related("stock"):
            if sub.stock.available >= line.backordered:
                offers.append(
                    {
                        "line": line.pk,
                        "sku": line.product.sku,
                        "name": line.product.name,
                        "substitute": sub.sku,
                        "substitute_name": sub.name,
                    }
                )
    return offers


def _cancel_under_rule(
    *, order: Order, compliance: OrderCompliance, lines: Sequence[OrderLine], day: dt.date, why: str
) -> None:
    """Cancel the covered unshipped lines as of the end of `day` and owe the refund."""
    order_cancel(
        order=order,
        reason=why,
        cause="mail_order_rule",
        line_ids=[line.pk for line in lines],
        at=end_of_store_day(day),
        details={"ship_by": day.isoformat()},
    )
    compliance.state = State.CANCELLED
    compliance.cancel_at_end_of = None
    compliance.save()
    _record(order, f"Cancelled under the Mail Order Rule: {why}", day=day.isoformat())


@transaction.atomic
def order_rule_evaluate(*, order_id: int, now: dt.datetime | None = None) -> OrderCompliance | None:
    """Decide what the rule requires of one order right now, and do it."""
    if not settings.MAIL_ORDER_RULE_ENABLED:
        return None
    now = now or timezone.now()
    today = store_date(now)
    order = lock_order(order_id=order_id)
    lines = list(OrderLine.objects.filter(order=order).select_related("product"))
    compliance, created = OrderCompliance.objects.get_or_create(order=order)

    exempt = exemption(order=order, lines=lines)
    if exempt:
        if compliance.state != State.EXEMPT:
            compliance.state, compliance.exempt_reason = State.EXEMPT, exempt
            compliance.save()
            _record(order, exempt)
        return compliance

    if order.paid_at is None:
        if compliance.state != State.AWAITING_PAYMENT:
            compliance.state = State.AWAITING_PAYMENT
            compliance.properly_completed_at = None
            compliance.deadline = None
            compliance.save()
            _record(order, "Not properly completed: waiting for good payment; no deadline yet.")
        return compliance

    if compliance.properly_completed_at != order.paid_at or compliance.deadline is None:
        deadline = shipment_deadline(order=order, properly_completed_at=order.paid_at)
        moved = compliance.deadline is not None
        compliance.properly_completed_at = order.paid_at
        compliance.deadline, compliance.basis = deadline.date, deadline.basis
        if compliance.state == State.AWAITING_PAYMENT:
            compliance.state = State.ON_TIME
        compliance.save()
        _record(
            order,
            f"{'Deadline moved' if moved else 'Deadline'}: ship by {deadline.date:%Y-%m-%d} "
            f"({OrderCompliance.Basis(deadline.basis).label.lower()}).",
            t0=order.paid_at.isoformat(),
            deadline=deadline.date.isoformat(),
            basis=deadline.basis,
        )
    deadline_t = compliance.deadline
    assert deadline_t is not None  # noqa: S101 - set just above

    outlook = order_outlook(lines=lines, today=today)
    if not outlook.open_lines:
        final = State.SHIPPED if outlook.shipped_any else State.CANCELLED
        if compliance.state != final:
            compliance.state = final
            compliance.cancel_at_end_of = None
            compliance.save()
        return compliance

    expected = outlook.expected
    state = compliance.state

    if state == State.ON_TIME:
        if today > deadline_t:
            _cancel_under_rule(
                order=order,
                compliance=compliance,
                lines=outlook.open_lines,
                day=deadline_t,
                why=f"not shipped by {deadline_t:%Y-%m-%d} and no delay notice was sent in time",
            )
        elif expected is None or expected > deadline_t:
            branch = (
                Branch.SHORT
                if expected is not None and expected <= deadline_t + GRACE
                else Branch.LONG
            )
            answer_by = expected if branch == Branch.SHORT else deadline_t + GRACE
            assert answer_by is not None  # noqa: S101 - S always has a date
            _notice(
                order=order,
                compliance=compliance,
                kind=DelayNotice.Kind.FIRST,
                branch=branch,
                deadline=deadline_t,
                revised=expected,
                answer_by=answer_by,
                lines=outlook.open_lines,
                decision_key=f"{order.pk}:first:{deadline_t.isoformat()}",
                cancel_at_end_of=deadline_t + GRACE if branch == Branch.LONG else None,
                record=f"First delay notice (branch {branch}): revised date {_fmt(expected)}; "
                f"deadline {deadline_t:%Y-%m-%d}.",
            )
        return compliance

    if state == State.NOTICE_SENT and compliance.branch == Branch.LONG:
        cutoff = compliance.cancel_at_end_of or deadline_t + GRACE
        if today > cutoff:
            _cancel_under_rule(
                order=order,
                compliance=compliance,
                lines=outlook.open_lines,
                day=cutoff,
                why=f"no consent to the delay by {cutoff:%Y-%m-%d} and not shipped",
            )
        return compliance

    if state == State.NOTICE_SENT and compliance.branch == Branch.SHORT:
        # Silence before the revised date is consent to it (branch S).
        revised = compliance.revised_date
        assert revised is not None  # noqa: S101
        if today >= revised or expected is None or expected > revised:
            compliance.state = State.CONSENTED
            compliance.consented_until = revised
            compliance.consent_kind = OrderCompliance.ConsentKind.DEEMED
            compliance.save()
            _record(
                order,
                f"No answer: consent to a delay until {revised:%Y-%m-%d} is deemed.",
                consented_until=revised.isoformat(),
            )
            state = State.CONSENTED
        else:
            return compliance

    if state == State.CONSENTED:
        consented = compliance.consented_until
        assert consented is not None  # noqa: S101
        if today > consented:
            _cancel_under_rule(
                order=order,
                compliance=compliance,
                lines=outlook.open_lines,
                day=consented,
                why=f"not shipped by the consented date {consented:%Y-%m-%d}",
            )
        elif expected is None or expected > consented:
            renewals = order.delay_notices.filter(kind=DelayNotice.Kind.RENEWED).count()
            _notice(
                order=order,
                compliance=compliance,
                kind=DelayNotice.Kind.RENEWED,
                branch="",
                deadline=consented,
                revised=expected,
                answer_by=consented,
                lines=outlook.open_lines,
                decision_key=f"{order.pk}:renewed:{consented.isoformat()}:{renewals}",
                cancel_at_end_of=consented,
                record=f"Renewed notice: new date {_fmt(expected)}; cancelled at the end of "
                f"{consented:%Y-%m-%d} unless the customer consents.",
            )
        return compliance

    if state == State.RENEWED_NOTICE_SENT:
        renewal_cutoff = compliance.cancel_at_end_of
        assert renewal_cutoff is not None  # noqa: S101
        if today > renewal_cutoff:
            _cancel_under_rule(
                order=order,
                compliance=compliance,
                lines=outlook.open_lines,
                day=renewal_cutoff,
                why=f"no consent to the further delay before {renewal_cutoff:%Y-%m-%d} passed",
            )
        return compliance

    return compliance  # consented indefinitely: no more notices


def rule_from_events(events: Sequence[OrderEvent]) -> None:
    """Order event subscriber: once the change commits, re-decide for the orders whose ETA,
    payment or shipments changed. (Run after commit, not inside: a PO date change can move
    thousands of orders, and a decision may cancel lines, which needs the stock locks.)"""
    if not settings.MAIL_ORDER_RULE_ENABLED:
        return
    from .tasks import rule_evaluate_task

    kinds = {
        OrderEvent.Kind.PLACED,
        OrderEvent.Kind.ETA_CHANGED,
        OrderEvent.Kind.PAYMENT,
        OrderEvent.Kind.SHIPPED,
    }
    order_ids = sorted({e.order_id for e in events if e.kind in kinds})
    for start in range(0, len(order_ids), 500):
        publish_on_commit(rule_evaluate_task, order_ids[start : start + 500])


def rule_run(*, now: dt.datetime | None = None, order_ids: Iterable[int] | None = None) -> int:
    """The hourly run: evaluate every open order (each in its own transaction)."""
    now = now or timezone.now()
    ids = list(order_ids) if order_ids is not None else orders_due_for_rule()
    for order_id in ids:
        order_rule_evaluate(order_id=order_id, now=now)
    return len(ids)


# --- the customer's answer ----------------------------------------------------------------


@transaction.atomic
def consent_answer(
    *,
    notice: DelayNotice,
    choice: str,
    substitute_sku: str = "",
    line_id: int | None = None,
    via: str = "status page",
    now: dt.datetime | None = None,
) -> ConsentAnswer:
    """Record the customer's answer to a notice and act on it. The first answer counts."""
    now = now or timezone.now()
    order = lock_order(order_id=notice.order_id)
    if choice not in ConsentAnswer.Choice.values:
        raise ValidationError("Please choose one of the options.")
    compliance = OrderCompliance.objects.select_for_update().get(order=order)
    if compliance.state == State.CANCELLED:
        raise ValidationError(
            "These items were already cancelled and refunded; there is nothing left to change."
        )
    lines = list(OrderLine.objects.filter(order=order).select_related("product"))
    outlook = order_outlook(lines=lines, today=store_date(now))
    if not outlook.open_lines:
        raise ValidationError(
            "Your order has already shipped, so there is nothing left to change here. "
            "If you no longer want it, our returns policy applies."
        )
    existing = ConsentAnswer.objects.filter(notice=notice).first()
    if existing is not None:
        if (
            choice == ConsentAnswer.Choice.CANCEL
            and compliance.state == State.CONSENTED_INDEFINITELY
        ):
            # Consent to an indefinite delay keeps the right to cancel before shipment.
            _customer_cancel(order=order, compliance=compliance, lines=outlook.open_lines, now=now)
            return existing
        raise ValidationError("We already have your answer to this notice; the first one counts.")
    waits = choice in (ConsentAnswer.Choice.WAIT_UNTIL, ConsentAnswer.Choice.WAIT_INDEFINITELY)
    silence_cancels = notice.kind == DelayNotice.Kind.RENEWED or notice.branch == Branch.LONG
    if waits and silence_cancels and store_date(now) > notice.answer_by:
        raise ValidationError(
            f"The time to answer this notice ended on {notice.answer_by:%-d %B %Y}; the delayed "
            "items are being cancelled and you will be refunded in full."
        )
    answer = ConsentAnswer.objects.create(
        notice=notice, choice=choice, received_at=now, via=via, line_id=line_id
    )
    if choice == ConsentAnswer.Choice.CANCEL:
        _customer_cancel(order=order, compliance=compliance, lines=outlook.open_lines, now=now)
        message = "Customer chose to cancel and be refunded."
    elif choice == ConsentAnswer.Choice.WAIT_INDEFINITELY:
        compliance.state = State.CONSENTED_INDEFINITELY
        compliance.consent_kind = OrderCompliance.ConsentKind.INDEFINITE
        compliance.consented_until = None
        message = "Customer consents to wait, whatever the date (may still cancel before shipment)."
    elif choice == ConsentAnswer.Choice.WAIT_UNTIL:
        if notice.revised_date is None:
            raise ValidationError("This notice gives no date; choose to wait whatever the date.")
        compliance.state = State.CONSENTED
        compliance.consent_kind = OrderCompliance.ConsentKind.EXPRESS
        compliance.consented_until = notice.revised_date
        message = f"Customer consents to wait until {notice.revised_date:%Y-%m-%d}."
    else:
        message = _substitute(order=order, answer=answer, sku=substitute_sku, line_id=line_id)
        # The substitute is in stock and set aside: the customer agreed to it shipping now.
        compliance.state = State.CONSENTED
        compliance.consent_kind = OrderCompliance.ConsentKind.EXPRESS
        compliance.consented_until = store_date(now) + dt.timedelta(days=settings.ETA_HANDLING_DAYS)
    if choice != ConsentAnswer.Choice.CANCEL:
        compliance.cancel_at_end_of = None
        compliance.save()
        _record(order, message, notice=notice.pk, choice=choice, at=now.isoformat())
    notification_create(
        kind=Notification.Kind.CONSENT_CONFIRMED,
        order=order,
        dedupe_key=f"consent:{answer.pk}",
        facts={
            "choice": choice,
            "message": message,
            "revised_date": notice.revised_date.isoformat() if notice.revised_date else None,
        },
    )
    return answer


def _customer_cancel(
    *, order: Order, compliance: OrderCompliance, lines: Sequence[OrderLine], now: dt.datetime
) -> None:
    order_cancel(
        order=order,
        reason="The customer chose to cancel after a delay notice",
        cause="customer",
        line_ids=[x.pk for x in lines],
        at=now,
    )
    compliance.state = State.CANCELLED
    compliance.cancel_at_end_of = None
    compliance.save()
    _record(order, "Customer chose to cancel and be refunded.", at=now.isoformat())


def _substitute(*, order: Order, answer: ConsentAnswer, sku: str, line_id: int | None) -> str:
    from orders.services import line_substitute

    line = (
        OrderLine.objects.select_related("product").filter(order=order, pk=line_id).first()
        if line_id is not None
        else None
    )
    substitute = Product.objects.filter(sku=sku).first()
    if line is None or substitute is None:
        raise ValidationError("That substitute is not on offer for this order.")
    line_substitute(line=line, substitute=substitute, reason="Customer accepted a substitute")
    answer.substitute = substitute
    answer.save(update_fields=["substitute"])
    return f"Customer accepted {substitute.name} instead of {line.product.name}."

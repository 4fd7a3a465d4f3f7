"""The FTC Mail Order Rule engine: deadlines, option notices, consent, cancellation.

One function decides for an order (`order_rule_evaluate`); it runs in the flow that changes an
ETA and hourly from beat. It is idempotent: every notice has a decision key, so running it
twice (or in two processes at once) never sends the same notice twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from config.calendar import end_of_store_day, store_date
from config.celery import publish_on_commit
from inventory.locks import lock_stocks
from inventory.models import Product
from notifications.models import Notification
from notifications.services import notification_create
from orders.locks import lock_order
from orders.models import Order, OrderEvent, OrderLine
from orders.services import line_cancel, order_cancel, order_rule_record

from .models import ConsentAnswer, DelayNotice, NoticeFollowUp, OrderCompliance
from .selectors import (
    NOTICE_FAILED,
    Outlook,
    cancel_offer,
    delay_reason,
    exemption,
    notice_closed_reason,
    notice_given_at,
    open_notice,
    order_outlook,
    orders_due_for_rule,
    shipment_deadline,
    substitute_choices,
)

logger = logging.getLogger(__name__)

State = OrderCompliance.State
Branch = OrderCompliance.Branch
GRACE = dt.timedelta(days=30)


def _lock_stocks_then_order(*, order_id: int) -> Order:
    """Lock the stock rows of the order's products and of their substitutes (by product id),
    then the order: the lock order of every write path, so the engine or a customer's answer
    never deadlocks with staff shipping, receiving or cancelling the same products. The
    substitutes are included because a substitution committed between reading the lines and
    locking adds a line of one of them; its stock row is then already held."""
    product_ids = list(
        OrderLine.objects.filter(order_id=order_id).values_list("product_id", flat=True)
    )
    substitute_ids = Product.substitutes.through.objects.filter(
        from_product_id__in=product_ids
    ).values_list("to_product_id", flat=True)
    lock_stocks(product_ids=[*product_ids, *substitute_ids])
    return lock_order(order_id=order_id)


def _record(order: Order, message: str, **data: Any) -> None:
    order_rule_record(order=order, message=message, data={"rule": True, **data})


def _staff(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


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
    _record(order, record, notice=notice.pk, branch=branch, revised=_fmt(revised))


def _notices_close(
    *, order: Order, compliance: OrderCompliance, lines: Sequence[OrderLine], now: dt.datetime
) -> None:
    """Close the order's notices whose reason is gone (what was delayed is in stock, shipped or
    cancelled), saying why in the record. If stock is taken back and the items wait again, the
    unanswered notice that closed for it stands again: its deadlines never stopped running."""
    reason = notice_closed_reason(lines=lines)
    if reason:
        closing = list(
            DelayNotice.objects.filter(order=order, closed_at__isnull=True).values_list(
                "pk", flat=True
            )
        )
        if closing:
            DelayNotice.objects.filter(pk__in=closing).update(closed_at=now, closed_reason=reason)
            _record(
                order,
                f"Delay notice closed: {DelayNotice.ClosedReason(reason).label.lower()}.",
                notices=closing,
                reason=reason,
            )
        return
    latest = order.delay_notices.order_by("-sent_at", "-id").first()
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
    # Stock rows first, then the order, as shipping and receiving take them: a decision may
    # cancel lines (and so lock their stock) while staff ship the same order.
    order = _lock_stocks_then_order(order_id=order_id)
    lines = list(OrderLine.objects.filter(order=order).select_related("product"))
    compliance, created = OrderCompliance.objects.get_or_create(order=order)
    if compliance.engine_failure:
        compliance.engine_failure, compliance.engine_failed_at = "", None
        compliance.save(update_fields=["engine_failure", "engine_failed_at", "updated_at"])

    exempt = exemption(order=order, lines=lines)
    if exempt:
        if compliance.state != State.EXEMPT:
            compliance.state, compliance.exempt_reason = State.EXEMPT, exempt
            compliance.save()
            _record(order, exempt)
        return compliance

    if _discontinued_cancel(order=order, lines=lines):
        lines = list(OrderLine.objects.filter(order=order).select_related("product"))

    if order.paid_at is None:
        if compliance.state != State.AWAITING_PAYMENT:
            voided = _void_notices_and_consent(compliance)
            compliance.state = State.AWAITING_PAYMENT
            compliance.properly_completed_at = None
            compliance.deadline = None
            compliance.save()
            _record(
                order,
                "Not properly completed: waiting for good payment; no deadline yet."
                + (" Earlier delay notices and consent no longer count." if voided else ""),
            )
        return compliance

    if compliance.properly_completed_at != order.paid_at or compliance.deadline is None:
        deadline = shipment_deadline(order=order, properly_completed_at=order.paid_at)
        moved = compliance.deadline is not None
        # A payment refused and made good again moves t0: whatever was sent or agreed under the
        # old t0 no longer counts, and the new deadline needs its own notice if it is missed.
        voided = _void_notices_and_consent(compliance)
        compliance.properly_completed_at = order.paid_at
        compliance.deadline, compliance.basis = deadline.date, deadline.basis
        if compliance.state == State.AWAITING_PAYMENT or voided:
            compliance.state = State.ON_TIME
        if voided:
            _record(order, "The payment moved: earlier delay notices and consent no longer count.")
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
    _notices_close(order=order, compliance=compliance, lines=lines, now=now)
    if not outlook.open_lines:
        final = State.SHIPPED if outlook.shipped_any else State.CANCELLED
        if compliance.state != final:
            compliance.state = final
            compliance.cancel_at_end_of = None
            compliance.save()
        return compliance

    expected = outlook.expected
    state = compliance.state

    if state in (State.NOTICE_SENT, State.RENEWED_NOTICE_SENT) and not _notice_reached(
        order=order, compliance=compliance, outlook=outlook, today=today
    ):
        return compliance

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
            # First notices voided by a moved payment: a new one is a new decision.
            earlier_firsts = order.delay_notices.filter(kind=DelayNotice.Kind.FIRST).count()
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
                decision_key=f"{order.pk}:first:{deadline_t.isoformat()}"
                + (f":{earlier_firsts}" if earlier_firsts else ""),
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


def _discontinued_cancel(*, order: Order, lines: Sequence[OrderLine]) -> bool:
    """A discontinued product is never offered as a wait: the shop cancels its waiting units,
    the customer is told (with any substitutes) and refunded, whatever they answered before."""
    gone = [
        line
        for line in lines
        if line.product.is_discontinued
        and line.backordered > 0
        and not line.exempt_from_mail_order_rule
    ]
    for line in gone:
        line_cancel(
            line=line,
            quantity=line.backordered,
            cause="discontinued",
            reason=f"{line.product.name} is discontinued and will not be made again",
        )
    if gone:
        _record(
            order,
            "Discontinued items cancelled and refunded instead of kept waiting: "
            + ", ".join(sorted({line.product.sku for line in gone})),
            skus=sorted({line.product.sku for line in gone}),
        )
    return bool(gone)


def _notice_reached(
    *, order: Order, compliance: OrderCompliance, outlook: Outlook, today: dt.date
) -> bool:
    """True when the latest notice reached the buyer by its deadline, so it counts. Otherwise
    a failed email gets a follow-up for staff (tell the buyer another way before the deadline)
    and, once the deadline has passed, the order is cancelled at it."""
    notice = (
        DelayNotice.objects.filter(order=order)
        .select_related("notification")
        .order_by("-sent_at", "-id")
        .first()
    )
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
            why=f"the delay notice did not reach the customer by {notice.deadline:%Y-%m-%d} "
            f"({problem}, and no other way of telling them was recorded)",
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
                f"another way (phone) by the end of {notice.deadline:%Y-%m-%d}, or the order is "
                "cancelled then.",
                notice=notice.pk,
                follow_up=True,
            )
    # Until the customer has the notice, silence means nothing.
    return False


@transaction.atomic
def notice_follow_up_done(
    *, follow_up: NoticeFollowUp, how: str, actor: Any = None, now: dt.datetime | None = None
) -> NoticeFollowUp:
    """Staff told the customer the notice's content another way (phone, letter): from now on
    the notice counts, if this was before its deadline."""
    now = now or timezone.now()
    how = (how or "").strip()
    if not how:
        raise ValidationError("Say how the customer was told (for example: phoned, read out).")
    order = lock_order(order_id=follow_up.order_id)
    follow_up = NoticeFollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.done_at is not None:
        raise ValidationError(f"This was already done on {follow_up.done_at:%Y-%m-%d}.")
    if store_date(now) > follow_up.due_by:
        raise ValidationError(
            f"Too late: the customer had to be told by the end of {follow_up.due_by:%Y-%m-%d}; "
            "a notice after the deadline does not count, so the order is cancelled at it."
        )
    follow_up.done_at, follow_up.done_by, follow_up.how = now, _staff(actor), how[:200]
    follow_up.save(update_fields=["done_at", "done_by", "how"])
    _record(
        order,
        f"Delay notice given another way: {how}"[:300],
        notice=follow_up.notice_id,
        at=now.isoformat(),
    )
    return follow_up


def _void_notices_and_consent(compliance: OrderCompliance) -> bool:
    """Forget the notices and consent given under an earlier t0; True if there were any."""
    had_any = compliance.state in (
        State.NOTICE_SENT,
        State.CONSENTED,
        State.CONSENTED_INDEFINITELY,
        State.RENEWED_NOTICE_SENT,
    )
    compliance.branch = ""
    compliance.revised_date = None
    compliance.consented_until = None
    compliance.consent_kind = ""
    compliance.cancel_at_end_of = None
    return had_any


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
        # Stock set aside, taken back, cancelled or substituted can end (or revive) a delay.
        OrderEvent.Kind.ALLOCATED,
        OrderEvent.Kind.DEALLOCATED,
        OrderEvent.Kind.CANCELLED,
        OrderEvent.Kind.SUBSTITUTED,
    }
    order_ids = sorted({e.order_id for e in events if e.kind in kinds})
    for start in range(0, len(order_ids), 500):
        publish_on_commit(rule_evaluate_task, order_ids[start : start + 500])


def rule_run(*, now: dt.datetime | None = None, order_ids: Iterable[int] | None = None) -> int:
    """The hourly run: evaluate every open order, each in its own transaction, so one order
    the engine cannot decide is recorded and skipped instead of stopping the others."""
    now = now or timezone.now()
    ids = list(order_ids) if order_ids is not None else orders_due_for_rule()
    for order_id in ids:
        try:
            order_rule_evaluate(order_id=order_id, now=now)
        except OperationalError:
            raise  # the database, not the order: the task retries the whole (idempotent) run
        except Exception as error:
            logger.exception("Mail Order Rule engine failed on order %s", order_id)
            rule_failure_record(order_id=order_id, error=error)
    return len(ids)


@transaction.atomic
def rule_failure_record(*, order_id: int, error: BaseException) -> OrderEvent | None:
    """Put an engine failure on the order's record for staff (once per distinct failure)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return None
    failure = f"{type(error).__name__}: {error}"[:200]
    compliance, _ = OrderCompliance.objects.get_or_create(order=order)
    if compliance.engine_failure == failure:
        return None
    compliance.engine_failure, compliance.engine_failed_at = failure, timezone.now()
    compliance.save(update_fields=["engine_failure", "engine_failed_at", "updated_at"])
    return order_rule_record(
        order=order,
        message="The Mail Order Rule could not be applied to this order; staff must check it "
        f"by hand ({failure}).",
        data={"rule": True, "failure": failure},
    )


# --- the customer's answer ----------------------------------------------------------------


class AnswerNotOffered(ValidationError):
    """An answer the page never offered (a forged or stale form): bad input, not a conflict."""


def _lock_for_answer(*, order_id: int) -> Order:
    """The stock rows an answer may touch (the order's products and their substitutes), then
    the order: the order in which shipping and cancelling take them, so a customer's click
    never deadlocks with staff shipping the same order."""
    return _lock_stocks_then_order(order_id=order_id)


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
    """Record the customer's answer to a notice and act on it. The first answer counts; only
    the choices the page offered are accepted (AnswerNotOffered otherwise, nothing written)."""
    now = now or timezone.now()
    order = _lock_for_answer(order_id=notice.order_id)
    if choice not in ConsentAnswer.Choice.values:
        raise AnswerNotOffered("Please choose one of the options on this page.")
    if line_id is not None and not OrderLine.objects.filter(order=order, pk=line_id).exists():
        raise AnswerNotOffered("That item is not part of this order.")
    compliance = OrderCompliance.objects.select_for_update().get(order=order)
    if compliance.state == State.CANCELLED:
        raise ValidationError(
            "These items were already cancelled and refunded; there is nothing left to change."
        )
    if (
        compliance.properly_completed_at is None
        or notice.sent_at < compliance.properly_completed_at
    ):
        raise ValidationError(
            "This notice was about a payment that did not go through, so it no longer applies; "
            "we will write again if your order is delayed."
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
    notice = DelayNotice.objects.get(pk=notice.pk)
    if open_notice(order=order) != notice:
        raise ValidationError(_no_longer_stands(notice=notice, lines=lines))
    waits = choice in (ConsentAnswer.Choice.WAIT_UNTIL, ConsentAnswer.Choice.WAIT_INDEFINITELY)
    silence_cancels = notice.kind == DelayNotice.Kind.RENEWED or notice.branch == Branch.LONG
    if waits and silence_cancels and store_date(now) > notice.answer_by:
        raise ValidationError(
            f"The time to answer this notice ended on {notice.answer_by:%-d %B %Y}; the delayed "
            "items are being cancelled and you will be refunded in full."
        )
    if choice == ConsentAnswer.Choice.WAIT_UNTIL and notice.revised_date is None:
        raise AnswerNotOffered("This notice gives no date; choose to wait whatever the date.")
    substitute: tuple[OrderLine, Product] | None = None
    if choice == ConsentAnswer.Choice.SUBSTITUTE:
        substitute = _substitute_offered(order=order, sku=substitute_sku, line_id=line_id)
    answer = ConsentAnswer.objects.create(
        notice=notice,
        choice=choice,
        received_at=now,
        via=via,
        line_id=line_id if substitute is not None else None,
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
        assert notice.revised_date is not None  # noqa: S101 - checked above
        compliance.state = State.CONSENTED
        compliance.consent_kind = OrderCompliance.ConsentKind.EXPRESS
        compliance.consented_until = notice.revised_date
        message = f"Customer consents to wait until {notice.revised_date:%Y-%m-%d}."
    else:
        assert substitute is not None  # noqa: S101 - checked above
        message = _substitute(answer=answer, line=substitute[0], substitute=substitute[1])
        # The substitute is in stock and set aside: the customer agreed to it shipping now.
        compliance.state = State.CONSENTED
        compliance.consent_kind = OrderCompliance.ConsentKind.EXPRESS
        compliance.consented_until = store_date(now) + dt.timedelta(days=settings.ETA_HANDLING_DAYS)
    if choice != ConsentAnswer.Choice.CANCEL:
        compliance.cancel_at_end_of = None
        compliance.save()
        _record(order, message, notice=notice.pk, choice=choice, at=now.isoformat())
        if choice == ConsentAnswer.Choice.SUBSTITUTE:
            _notices_close(
                order=order,
                compliance=compliance,
                lines=list(OrderLine.objects.filter(order=order).select_related("product")),
                now=now,
            )
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


def _no_longer_stands(*, notice: DelayNotice, lines: Sequence[OrderLine]) -> str:
    """Why a notice can no longer be answered, in the customer's words."""
    if notice.closed_reason == DelayNotice.ClosedReason.REPLACED:
        return "We have sent you a newer notice since; please answer that one on this page."
    if notice_closed_reason(lines=lines) == DelayNotice.ClosedReason.IN_STOCK:
        return (
            "Good news: your items are now in stock and set aside for you, so this delay "
            "notice no longer needs an answer."
        )
    return "This notice no longer needs an answer; this page shows where your order stands."


@transaction.atomic
def order_cancel_before_shipment(*, order_id: int, now: dt.datetime | None = None) -> Order:
    """The customer cancels what has not shipped, where the rule still lets them (after
    consenting to wait whatever the date, or while an unanswered notice's offer holds)."""
    now = now or timezone.now()
    order = _lock_for_answer(order_id=order_id)
    compliance = OrderCompliance.objects.select_for_update().filter(order=order).first()
    lines = list(OrderLine.objects.filter(order=order).select_related("product"))
    outlook = order_outlook(lines=lines, today=store_date(now))
    if compliance is None or cancel_offer(order=order, today=store_date(now)) is None:
        if outlook.open_lines:
            raise ValidationError(
                "This order cannot be cancelled from this page; please email us and we will help."
            )
        if outlook.shipped_any:
            raise ValidationError(
                "Your order has already shipped, so there is nothing left to cancel. "
                "If you no longer want it, our returns policy applies."
            )
        raise ValidationError(
            "These items were already cancelled; there is nothing left to cancel."
        )
    _customer_cancel(
        order=order,
        compliance=compliance,
        lines=outlook.open_lines,
        now=now,
        reason="The customer cancelled before shipment",
        record="Customer cancelled before shipment; a full refund is owed.",
    )
    return order


def _customer_cancel(
    *,
    order: Order,
    compliance: OrderCompliance,
    lines: Sequence[OrderLine],
    now: dt.datetime,
    reason: str = "The customer chose to cancel after a delay notice",
    record: str = "Customer chose to cancel and be refunded.",
) -> None:
    order_cancel(
        order=order,
        reason=reason,
        cause="customer",
        line_ids=[x.pk for x in lines],
        at=now,
    )
    compliance.state = State.CANCELLED
    compliance.cancel_at_end_of = None
    compliance.save()
    _record(order, record, at=now.isoformat())
    _notices_close(
        order=order,
        compliance=compliance,
        lines=list(OrderLine.objects.filter(order=order).select_related("product")),
        now=now,
    )


def _substitute_offered(
    *, order: Order, sku: str, line_id: int | None
) -> tuple[OrderLine, Product]:
    """The line and substitute of a substitute answer, if the page offered exactly that pair."""
    line = (
        OrderLine.objects.filter(order=order, pk=line_id).select_related("product").first()
        if line_id is not None
        else None
    )
    offered = {
        (choice.line_id, choice.substitute_sku) for choice in substitute_choices(order=order)
    }
    if line is None or (line.pk, sku) not in offered:
        known = line.product.substitutes.filter(sku=sku).first() if line is not None else None
        if known is not None:
            raise AnswerNotOffered(
                f"Sorry, {known.name} is no longer available to send instead; "
                "please choose another option."
            )
        raise AnswerNotOffered(
            "That substitute is not on offer for this order; please choose one of the options "
            "on this page."
        )
    return line, Product.objects.get(sku=sku)


def _substitute(*, answer: ConsentAnswer, line: OrderLine, substitute: Product) -> str:
    from orders.services import line_substitute

    line_substitute(line=line, substitute=substitute, reason="Customer accepted a substitute")
    answer.substitute = substitute
    answer.save(update_fields=["substitute"])
    return f"Customer accepted {substitute.name} instead of {line.product.name}."

"""The customer's answer to a notice (consent, cancel, substitute) and cancelling before
shipment from the status page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.calendar import store_date
from config.formats import format_date
from inventory.models import Product
from notifications.models import Notification
from notifications.services import notification_create
from orders.models import Order, OrderLine
from orders.services import order_cancel

from ..models import ConsentAnswer, DelayNotice, OrderCompliance
from ..selectors import (
    cancel_offer,
    notice_closed_reason,
    open_notice,
    order_outlook,
    substitute_choices,
)
from ._common import Branch, State, _lock_stocks_then_order, _record, _ship_by_store
from .notices import _notices_close


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
            _customer_cancel(
                order=order,
                compliance=compliance,
                lines=outlook.open_lines,
                now=now,
                answered={"notice": notice.pk, "choice": choice},
            )
            _confirm(
                order=order,
                notice=notice,
                choice=choice,
                message="Customer chose to cancel and be refunded.",
                dedupe_key=f"consent:{existing.pk}:cancel",
            )
            return existing
        raise ValidationError("We already have your answer to this notice; the first one counts.")
    notice = DelayNotice.objects.get(pk=notice.pk)
    if open_notice(order=order) != notice:
        raise ValidationError(_no_longer_stands(notice=notice, lines=lines))
    waits = choice in (ConsentAnswer.Choice.WAIT_UNTIL, ConsentAnswer.Choice.WAIT_INDEFINITELY)
    silence_cancels = notice.kind == DelayNotice.Kind.RENEWED or notice.branch == Branch.LONG
    if waits and silence_cancels and store_date(now) > notice.answer_by:
        raise ValidationError(
            f"The time to answer this notice ended on {format_date(notice.answer_by)}; the delayed "
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
        _customer_cancel(
            order=order,
            compliance=compliance,
            lines=outlook.open_lines,
            now=now,
            answered={"notice": notice.pk, "choice": choice},
        )
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
        message = f"Customer consents to wait until {format_date(notice.revised_date)}."
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
        _ship_by_store(order_ids=[order.pk])
        _record(order, message, notice=notice.pk, choice=choice, at=now.isoformat())
        if choice == ConsentAnswer.Choice.SUBSTITUTE:
            _notices_close(
                order=order,
                compliance=compliance,
                lines=list(OrderLine.objects.filter(order=order).select_related("product")),
                now=now,
            )
    _confirm(
        order=order,
        notice=notice,
        choice=choice,
        message=message,
        dedupe_key=f"consent:{answer.pk}",
    )
    return answer


def _confirm(
    *, order: Order, notice: DelayNotice, choice: str, message: str, dedupe_key: str
) -> None:
    """Email the customer what we understood from their answer and what we did."""
    notification_create(
        kind=Notification.Kind.CONSENT_CONFIRMED,
        order=order,
        dedupe_key=dedupe_key,
        facts={
            "choice": choice,
            "message": message,
            "revised_date": notice.revised_date.isoformat() if notice.revised_date else None,
        },
    )


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
    answered: Mapping[str, Any] | None = None,
) -> None:
    """Cancel the open lines for the customer; `answered` (the notice and the choice) when
    this answers a notice, so the record says which answer it was."""
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
    _ship_by_store(order_ids=[order.pk])
    _record(order, record, at=now.isoformat(), **(answered or {}))
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

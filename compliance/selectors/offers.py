"""What the customer may answer now: the open notice, its choices (wait, cancel, substitute)
and cancelling before shipment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch

from config.formats import format_date
from inventory.models import Product
from orders.models import Order, OrderLine

from ..models import ConsentAnswer, DelayNotice, OrderCompliance
from .outlook import notice_closed_reason


@dataclass(frozen=True)
class ConsentChoice:
    value: str
    label: str
    line_id: int | None = None
    substitute_sku: str = ""
    # For a substitute: the waiting product and the substitute's name (what an email says).
    product_sku: str = ""
    product_name: str = ""
    substitute_name: str = ""


@dataclass(frozen=True)
class ConsentOffer:
    notice: DelayNotice
    choices: list[ConsentChoice]
    explanation: str


ASKING_STATES = (OrderCompliance.State.NOTICE_SENT, OrderCompliance.State.RENEWED_NOTICE_SENT)


@dataclass(frozen=True)
class _Standing:
    """What the customer's choices depend on: the rule's state, the latest notice, the lines."""

    compliance: OrderCompliance
    latest: DelayNotice | None
    answered: bool
    lines: list[OrderLine]  # the lines the rule covers

    @property
    def open_notice(self) -> DelayNotice | None:
        notice = self.latest
        if (
            self.compliance.state not in ASKING_STATES
            or notice is None
            or notice.closed_at is not None
            or self.answered
            # Stock may have arrived since the rule engine last ran: the page never asks about
            # a delay that is over.
            or notice_closed_reason(lines=self.lines)
        ):
            return None
        return notice


def _standing(order: Order) -> _Standing | None:
    """None (after one query) unless a notice may be answered or a cancellation offered."""
    compliance = OrderCompliance.objects.filter(order=order).first()
    if compliance is None or compliance.state not in (
        *ASKING_STATES,
        OrderCompliance.State.CONSENTED_INDEFINITELY,
    ):
        return None
    latest = (
        DelayNotice.objects.filter(order=order)
        .select_related("answer")
        .order_by("-sent_at", "-id")
        .first()
    )
    lines = [
        line
        for line in OrderLine.objects.filter(order=order).select_related("product")
        if not line.exempt_from_mail_order_rule
    ]
    answered = latest is not None and getattr(latest, "answer", None) is not None
    return _Standing(compliance=compliance, latest=latest, answered=answered, lines=lines)


def open_notice(*, order: Order) -> DelayNotice | None:
    """The notice the customer is asked to answer: the latest one, unanswered, not closed, and
    only while the order is still waiting under it (its reason is not gone)."""
    standing = _standing(order)
    return standing.open_notice if standing is not None else None


def substitute_choices(*, order: Order) -> list[ConsentChoice]:
    """Substitutes on offer: each waiting line's own substitutes, not discontinued, with enough
    available to replace every waiting unit. The page shows exactly these, and only these
    are accepted."""
    lines = (
        OrderLine.objects.filter(order=order, quantity_backordered__gt=0)
        .select_related("product")
        .prefetch_related(
            Prefetch(
                "product__substitutes",
                queryset=Product.objects.filter(is_discontinued=False).select_related("stock"),
            )
        )
        .order_by("pk")
    )
    choices = []
    for line in lines:
        if line.backordered <= 0:
            continue
        for sub in line.product.substitutes.all():
            if sub.stock.available >= line.backordered:
                choices.append(
                    ConsentChoice(
                        ConsentAnswer.Choice.SUBSTITUTE,
                        f"Send {sub.name} instead of {line.product.name}",
                        line_id=line.pk,
                        substitute_sku=sub.sku,
                        product_sku=line.product.sku,
                        product_name=line.product.name,
                        substitute_name=sub.name,
                    )
                )
    return choices


def consent_offer(*, order: Order) -> ConsentOffer | None:
    """The choices the open notice gives the customer, if any."""
    standing = _standing(order)
    return _consent_offer(order, standing.open_notice) if standing is not None else None


def _consent_offer(order: Order, notice: DelayNotice | None) -> ConsentOffer | None:
    if notice is None:
        return None
    choices = []
    if notice.revised_date is not None:
        choices.append(
            ConsentChoice(
                ConsentAnswer.Choice.WAIT_UNTIL,
                f"I'll wait until {format_date(notice.revised_date)}",
            )
        )
    choices.append(
        ConsentChoice(ConsentAnswer.Choice.WAIT_INDEFINITELY, "I'll wait, whatever the date")
    )
    choices += substitute_choices(order=order)
    choices.append(ConsentChoice(ConsentAnswer.Choice.CANCEL, "Cancel and refund"))
    if notice.kind == DelayNotice.Kind.RENEWED:
        explanation = (
            f"Unless you agree before the end of {format_date(notice.answer_by)}, we will cancel "
            "the delayed items and refund you in full."
        )
    elif notice.branch == OrderCompliance.Branch.SHORT:
        explanation = (
            "If we don't hear from you before we ship, we'll take it that you accept the new date."
        )
    else:
        explanation = (
            f"Unless you agree to wait by {format_date(notice.answer_by)}, or we ship by then, "
            "we will cancel the delayed items and refund you in full."
        )
    return ConsentOffer(notice=notice, choices=choices, explanation=explanation)


@dataclass(frozen=True)
class CancelOffer:
    """The customer may still cancel what has not shipped, for a full refund."""

    explanation: str


def cancel_offer(*, order: Order, today: dt.date) -> CancelOffer | None:
    """Whether the rule still lets the customer cancel before shipment, outside an open notice:
    after consenting to wait whatever the date (the right to cancel stays until shipment), or
    while a notice they have not answered still stands although its delay is over (its offer
    to cancel holds until its answer date)."""
    standing = _standing(order)
    return _cancel_offer(standing, today) if standing is not None else None


def _cancel_offer(standing: _Standing, today: dt.date) -> CancelOffer | None:
    if not any(line.quantity_open > 0 for line in standing.lines):
        return None
    if standing.compliance.state == OrderCompliance.State.CONSENTED_INDEFINITELY:
        return CancelOffer(
            "You agreed to wait, whatever the date. You can still cancel what has not shipped, "
            "for a full refund, until we ship it."
        )
    latest = standing.latest
    if (
        latest is None
        or standing.answered
        or today > latest.answer_by
        or standing.open_notice is not None
    ):
        return None
    return CancelOffer(
        "If you no longer want your order, you can still cancel what has not shipped, for a full "
        "refund, until we ship it."
    )


@dataclass(frozen=True)
class CustomerOffers:
    consent: ConsentOffer | None
    cancel: CancelOffer | None


def customer_offers(*, order: Order, today: dt.date) -> CustomerOffers:
    """What the status page offers: the open notice's choices, or else a plain cancellation."""
    standing = _standing(order)
    if standing is None:
        return CustomerOffers(None, None)
    consent = _consent_offer(order, standing.open_notice)
    return CustomerOffers(consent, None if consent else _cancel_offer(standing, today))

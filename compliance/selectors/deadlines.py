"""The rule's dates: the shipment deadline, exemptions, the ship-by date and "at risk", the one
definition every screen, filter, card and email uses, and the shipping check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case, DateField, Exists, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from config.calendar import add_working_days, end_of_store_day, store_date
from config.formats import format_date
from orders.models import SHIP_BY_NONE, Order, OrderLine

from ..models import DATED_STATE_VALUES, DelayNotice, OrderCompliance
from .outlook import notice_given_at

EXEMPT_PAYMENT_METHODS: dict[str, str] = {
    Order.PaymentMethod.COD: "cash on delivery",
    Order.PaymentMethod.BILL_ME: '"bill me" order, paid on invoice after delivery',
}


@dataclass(frozen=True)
class Deadline:
    date: dt.date
    basis: str


def shipment_deadline(*, order: Order, properly_completed_at: dt.datetime) -> Deadline:
    """T: the time stated at order time, else 30 days after t0, or 50 with a credit application."""
    t0 = store_date(properly_completed_at)
    if order.promised_ship_date is not None:
        return Deadline(order.promised_ship_date, OrderCompliance.Basis.STATED_DATE)
    if order.promised_business_days is not None:
        return Deadline(
            add_working_days(t0, order.promised_business_days), OrderCompliance.Basis.STATED_DAYS
        )
    if order.credit_application:
        return Deadline(t0 + dt.timedelta(days=50), OrderCompliance.Basis.FIFTY_DAYS)
    return Deadline(t0 + dt.timedelta(days=30), OrderCompliance.Basis.THIRTY_DAYS)


def exemption(*, order: Order, lines: list[OrderLine]) -> str:
    """Why the rule does not cover this order, or '' when it does."""
    if order.payment_method in EXEMPT_PAYMENT_METHODS:
        return f"Exempt: {EXEMPT_PAYMENT_METHODS[order.payment_method]}."
    if lines and all(line.product.exempt_from_mail_order_rule for line in lines):
        return "Exempt: only services, seeds or growing plants."
    if lines and all(line.exempt_from_mail_order_rule for line in lines):
        return "Exempt: only later issues of a subscription (and other exempt items)."
    return ""


def ship_by_limit(*, order: Order, compliance: OrderCompliance | None) -> dt.date | None:
    """The last store day the order's covered items may still ship under the rule, given
    what was sent and answered so far; None when no limit applies (not properly completed,
    exempt, or an indefinite delay was agreed)."""
    if order.paid_at is None:
        return None
    if (
        compliance is None
        or compliance.deadline is None
        or compliance.properly_completed_at != order.paid_at
    ):
        # Not evaluated since the payment: the deadline is what the engine is about to set.
        return shipment_deadline(order=order, properly_completed_at=order.paid_at).date
    state, branch = compliance.state, compliance.branch
    State, Branch = OrderCompliance.State, OrderCompliance.Branch
    if state == State.ON_TIME:
        return compliance.deadline
    if state == State.NOTICE_SENT and branch == Branch.SHORT:
        # Silence before the revised date is consent to it.
        return compliance.revised_date
    if state == State.NOTICE_SENT:
        return compliance.cancel_at_end_of or compliance.deadline + dt.timedelta(days=30)
    if state == State.CONSENTED:
        return compliance.consented_until
    if state == State.RENEWED_NOTICE_SENT:
        return compliance.cancel_at_end_of
    return None


# Compliance states in which the order is still held to a date (an indefinite consent has none).
DATED_STATES = tuple(OrderCompliance.State(value) for value in DATED_STATE_VALUES)


def ship_by_expression(compliance: str = "compliance__") -> Case:
    """The order's ship-by date as a query expression: the consented date where the customer
    consented, else the deadline T; NULL while the rule holds the order to no date. `compliance`
    is the path to the OrderCompliance row ("" from OrderCompliance itself)."""
    return Case(
        When(
            **{f"{compliance}state__in": DATED_STATES},
            then=Coalesce(f"{compliance}consented_until", f"{compliance}deadline"),
        ),
        default=None,
        output_field=DateField(),
    )


def ship_by_date(compliance: OrderCompliance | None) -> dt.date | None:
    """The same ship-by date for one order, from its compliance row."""
    if compliance is None or compliance.state not in DATED_STATES:
        return None
    return compliance.consented_until or compliance.deadline


def ship_by_subquery() -> Subquery:
    """The ship-by date of the order at OuterRef("pk"), read from its rule record."""
    return Subquery(
        OrderCompliance.objects.filter(order=OuterRef("pk"))
        .annotate(ship_by=ship_by_expression(""))
        .values("ship_by")[:1],
        output_field=DateField(),
    )


def ship_by_mismatches() -> list[tuple[str, dt.date | None, dt.date | None]]:
    """(order number, stored date, rule record's date) of every order whose stored ship-by
    date (Order.ship_by) disagrees with its rule record's, by number."""
    date = DateField()
    expected = ship_by_subquery()
    return list(
        Order.objects.annotate(
            expected=expected,
            stored_key=Coalesce(F("ship_by"), Value(SHIP_BY_NONE), output_field=date),
            expected_key=Coalesce(expected, Value(SHIP_BY_NONE), output_field=date),
        )
        .exclude(stored_key=F("expected_key"))
        .order_by("number")
        .values_list("number", "ship_by", "expected")
    )


def at_risk_lines_q() -> Q:
    """Order lines at risk: still waiting, covered by the rule, and with an ETA unknown or later
    than their order's ship-by date. For OrderLine querysets."""
    ship_by = ship_by_expression("order__compliance__")
    return (
        Q(
            quantity_backordered__gt=0,
            later_subscription_issue=False,
            product__exempt_from_mail_order_rule=False,
            order__compliance__state__in=DATED_STATES,
        )
        & (
            Q(order__compliance__consented_until__isnull=False)
            | Q(order__compliance__deadline__isnull=False)
        )
        & (Q(eta__isnull=True) | Q(eta__gt=ship_by))
    )


def at_risk_orders_q() -> Exists:
    """Orders with at least one line at risk. For Order querysets."""
    return Exists(OrderLine.objects.filter(at_risk_lines_q(), order=OuterRef("pk")))


def line_at_risk(*, line: OrderLine, ship_by: dt.date | None) -> bool:
    """The per-line form of at_risk_lines_q(), given the order's ship_by_date()."""
    return (
        line.quantity_backordered > 0
        and not line.exempt_from_mail_order_rule
        and ship_by is not None
        and (line.eta is None or line.eta > ship_by)
    )


def shipment_refusal(*, order: Order, line_ids: Sequence[int], now: dt.datetime) -> str:
    """Why the rule forbids shipping these lines now ('' when it does not): past the deadline
    without a valid consent the order must be cancelled and refunded, not shipped late."""
    if not settings.MAIL_ORDER_RULE_ENABLED:
        return ""
    lines = list(OrderLine.objects.filter(order=order).select_related("product"))
    if exemption(order=order, lines=lines):
        return ""
    if all(line.exempt_from_mail_order_rule for line in lines if line.pk in set(line_ids)):
        return ""
    compliance = OrderCompliance.objects.filter(order=order).first()
    if compliance is not None and compliance.state in (
        OrderCompliance.State.EXEMPT,
        OrderCompliance.State.CONSENTED_INDEFINITELY,
    ):
        return ""
    limit = ship_by_limit(order=order, compliance=compliance)
    if compliance is not None and compliance.state in (
        OrderCompliance.State.NOTICE_SENT,
        OrderCompliance.State.RENEWED_NOTICE_SENT,
    ):
        notice = (
            DelayNotice.objects.filter(order=order)
            .select_related("notification")
            .order_by("-sent_at", "-id")
            .first()
        )
        given = notice_given_at(notice=notice) if notice is not None else None
        if notice is not None and (given is None or given > end_of_store_day(notice.deadline)):
            # A notice that has not reached the buyer is no notice: its deadline stands.
            limit = notice.deadline if limit is None else min(limit, notice.deadline)
    if limit is None or store_date(now) <= limit:
        return ""
    return (
        f"Order {order.number} cannot ship: under the Mail Order Rule it had to ship by "
        f"{format_date(limit)} and the customer has not agreed to a later date. The delayed items "
        "must be cancelled and refunded instead."
    )

"""Reads for the Mail Order Rule: deadlines, what an order is waiting on, and the records."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, DateField, Exists, OuterRef, Prefetch, Q, QuerySet, When
from django.db.models.functions import Coalesce

from config.calendar import add_working_days, end_of_store_day, store_date
from config.calendar import store_zone as store_zone
from inventory.models import Product
from notifications.models import Notification
from orders.models import EtaSource, Order, OrderEvent, OrderLine, OrderStatus
from orders.selectors import order_detail

from .models import ConsentAnswer, DelayNotice, NoticeFollowUp, OrderCompliance

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
DATED_STATES = (
    OrderCompliance.State.ON_TIME,
    OrderCompliance.State.NOTICE_SENT,
    OrderCompliance.State.CONSENTED,
    OrderCompliance.State.RENEWED_NOTICE_SENT,
)


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
        f"{limit:%Y-%m-%d} and the customer has not agreed to a later date. The delayed items "
        "must be cancelled and refunded instead."
    )


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
    """The reason given in a notice: which items wait and for what."""
    waiting = [line for line in lines if line.backordered > 0]
    if not waiting:
        return "The items are being prepared."
    reasons = []
    # A preorder waits for its release, not for a supplier's delivery.
    releases = {
        line.product.name: line.product.release_date for line in waiting if line.product.is_preorder
    }
    backordered = [line for line in waiting if not line.product.is_preorder]
    if backordered:
        names = ", ".join(sorted({line.product.name for line in backordered}))
        if any(line.product.is_discontinued for line in backordered):
            reasons.append(f"{names}: the manufacturer has stopped making it.")
        elif any(line.eta is None for line in backordered):
            reasons.append(
                f"{names}: out of stock and our supplier has not confirmed a delivery date."
            )
        else:
            reasons.append(
                f"{names}: out of stock; our next delivery from the supplier is later than planned."
            )
    for name, released in sorted(releases.items()):
        reasons.append(
            f"{name}: a preorder, not released yet; its release date is {released:%-d %B %Y}."
            if released
            else f"{name}: a preorder, not released yet; its release date is not confirmed."
        )
    return " ".join(reasons)


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


def notice_given_at(*, notice: DelayNotice) -> dt.datetime | None:
    """When the notice actually reached the buyer: its email went out, or staff told them
    another way. None while it has not (a notice that never went out is no notice)."""
    moments = []
    email = notice.notification
    if email is not None and email.state in NOTICE_REACHED and email.sent_at is not None:
        moments.append(email.sent_at)
    follow_up = NoticeFollowUp.objects.filter(notice=notice, done_at__isnull=False).first()
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


@dataclass(frozen=True)
class ConsentChoice:
    value: str
    label: str
    line_id: int | None = None
    substitute_sku: str = ""


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
                f"I'll wait until {notice.revised_date:%-d %B %Y}",
            )
        )
    choices.append(
        ConsentChoice(ConsentAnswer.Choice.WAIT_INDEFINITELY, "I'll wait, whatever the date")
    )
    choices += substitute_choices(order=order)
    choices.append(ConsentChoice(ConsentAnswer.Choice.CANCEL, "Cancel and refund"))
    if notice.kind == DelayNotice.Kind.RENEWED:
        explanation = (
            f"Unless you agree before the end of {notice.answer_by:%-d %B %Y}, we will cancel "
            "the delayed items and refund you in full."
        )
    elif notice.branch == OrderCompliance.Branch.SHORT:
        explanation = (
            "If we don't hear from you before we ship, we'll take it that you accept the new date."
        )
    else:
        explanation = (
            f"Unless you agree to wait by {notice.answer_by:%-d %B %Y}, or we ship by then, "
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


# --- the customer's status page ---------------------------------------------------
# Built from the prefetched order only (no queries), so the template needs no logic.

STATUS_WORDS: dict[str, tuple[str, str]] = {
    OrderStatus.OPEN: (
        "Being prepared",
        "Everything you ordered is in stock and set aside for you. We are packing it now.",
    ),
    OrderStatus.BACKORDERED: (
        "Waiting for stock",
        "Some items are on backorder. Below is when we expect each of them to ship.",
    ),
    OrderStatus.PARTIALLY_SHIPPED: (
        "Partly shipped",
        "Part of your order is on its way. The rest follows as described below.",
    ),
    OrderStatus.SHIPPED: ("Shipped", "Everything you ordered is on its way."),
    OrderStatus.CANCELLED: (
        "Cancelled",
        "This order was cancelled. Any money owed back to you is shown below.",
    ),
}


@dataclass(frozen=True)
class ShippedPart:
    quantity: int
    shipped_at: dt.datetime
    carrier: str
    tracking_number: str
    shipping_method: str


@dataclass(frozen=True)
class LineView:
    line: OrderLine
    shipped: list[ShippedPart]
    eta_kind: str  # "po", "estimated", "release" or "unknown": picks the sentence
    waiting_word: str  # a preorder is shown as a preorder, never as a backorder
    allocated_waits_for_rest: bool

    @property
    def backordered(self) -> int:
        return self.line.backordered


@dataclass(frozen=True)
class RefundView:
    amount: Decimal
    item: str
    due_date: dt.date
    issued_at: dt.datetime | None


@dataclass(frozen=True)
class StatusPage:
    order: Order
    status: str
    headline: str
    explanation: str
    ships_together: bool
    lines: list[LineView]
    refunds: list[RefundView]


def _eta_kind(line: OrderLine) -> str:
    if line.eta is None or line.eta_source in ("", EtaSource.UNKNOWN):
        return "unknown"
    if line.eta_source == EtaSource.PURCHASE_ORDER:
        return "po"
    if line.eta_source == EtaSource.RELEASE:
        return "release"
    return "estimated"


def _status_page(order: Order) -> StatusPage:
    lines = list(order.lines.all())
    names = {line.pk: line.product.name for line in lines}
    shipped: dict[int, list[ShippedPart]] = defaultdict(list)
    for shipment in sorted(order.shipments.all(), key=lambda s: (s.shipped_at, s.pk)):
        for shipment_line in shipment.lines.all():
            shipped[shipment_line.order_line_id].append(
                ShippedPart(
                    quantity=shipment_line.quantity,
                    shipped_at=shipment.shipped_at,
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    shipping_method=shipment.shipping_method,
                )
            )
    ships_complete = order.ship_preference == Order.ShipPreference.SHIP_COMPLETE
    anything_backordered = any(line.backordered for line in lines)
    status = str(getattr(order, "status", "") or OrderStatus.OPEN)
    headline, explanation = STATUS_WORDS.get(status, (status.replace("_", " ").capitalize(), ""))
    return StatusPage(
        order=order,
        status=status,
        headline=headline,
        explanation=explanation,
        # Only worth saying while nothing has left yet.
        ships_together=ships_complete and status in (OrderStatus.OPEN, OrderStatus.BACKORDERED),
        lines=[
            LineView(
                line=line,
                shipped=shipped[line.pk],
                eta_kind=_eta_kind(line),
                waiting_word="preordered" if line.product.is_preorder else "on backorder",
                allocated_waits_for_rest=ships_complete and anything_backordered,
            )
            for line in lines
        ],
        refunds=[
            RefundView(
                amount=refund.amount,
                item=names.get(refund.order_line_id or 0, ""),
                due_date=refund.due_date,
                issued_at=refund.issued_at,
            )
            for refund in order.refunds.all()
        ],
    )


# --- views -------------------------------------------------------------------------------------


def customer_status_page(*, order_id: int) -> StatusPage:
    """Everything the customer's status page shows, in words, from one prefetched order."""
    return _status_page(order_detail(order_id=order_id))


# --- the record, for many orders at once ---------------------------------------------------

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
                f"{refund.amount} due {refund.due_date:%Y-%m-%d}"
                + (
                    f", issued {refund.issued_at:%Y-%m-%d} ({refund.issue_reference})"
                    if refund.issued_at
                    else ""
                ),
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return OrderRecord(order=order, compliance=compliance, entries=entries)

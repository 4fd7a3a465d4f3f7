"""Report: cash flow of backorders — the money waiting lines bring in when they ship, the
refunds the Mail Order Rule's dates may force, and the money open purchase orders commit.

Every figure is summed in the database (one grouped query each); Python only folds the weeks
already past into one "overdue" bucket. Weeks are ISO weeks (Monday first) of store dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    Q,
    Sum,
)
from django.db.models.functions import TruncWeek

from compliance.selectors import at_risk_lines_q, ship_by_expression
from inventory.models import PurchaseOrder, PurchaseOrderLine
from orders.models import OrderLine, Refund

from ...overview.selectors import money, revenue_expression
from .base import week_start

ZERO = Decimal("0.00")


def iso_week(week: dt.date) -> str:
    """An ISO week as people write it: "2026-W50"."""
    year, number, _ = week.isocalendar()
    return f"{year}-W{number:02d}"


def capture_timing() -> str:
    """When this store takes a paid order's money: "order" (at checkout) or "shipment"."""
    return str(settings.PAYMENT_CAPTURE)


# --- expected captures by week -----------------------------------------------------------


@dataclass(frozen=True)
class CaptureWeek:
    """The waiting lines whose ETA falls in one week (or none, or a week already past)."""

    week: dt.date | None  # the Monday of the ISO week; None: no ETA
    overdue: bool
    lines: int
    units: int
    # Paid orders whose payment is only authorised: the money is captured when they ship.
    captured_at_shipment: Decimal
    # Paid at checkout: no cash moves at shipment, the sale is recognised as revenue then.
    paid_up_front: Decimal
    # Not paid yet (cash on delivery, invoice, a payment still to come): collected then.
    unpaid: Decimal

    @property
    def label(self) -> str:
        if self.week is None:
            return "No ETA"
        if self.overdue:
            return "Overdue"
        return iso_week(self.week)

    @property
    def total(self) -> Decimal:
        return self.captured_at_shipment + self.paid_up_front + self.unpaid

    @property
    def cash_in(self) -> Decimal:
        """Money that actually arrives around shipment (not already in the bank)."""
        return self.captured_at_shipment + self.unpaid


def expected_captures(*, today: dt.date) -> list[CaptureWeek]:
    """Backordered units × unit price of every waiting line, by the ISO week of its ETA and
    by when its money is taken; ETAs before this week fold into one overdue row first, lines
    without an ETA come last. One query."""
    paid = Q(order__paid_at__isnull=False)
    at_shipment = capture_timing() == "shipment"
    revenue = revenue_expression()
    rows = (
        OrderLine.objects.filter(quantity_backordered__gt=0)
        .annotate(week=TruncWeek("eta"))
        .values("week")
        .annotate(
            lines=Count("id"),
            units=Sum("quantity_backordered"),
            paid=Sum(revenue, filter=paid),
            unpaid=Sum(revenue, filter=~paid),
        )
        .order_by(F("week").asc(nulls_last=True))
    )
    this_week = week_start(today)
    overdue: list[CaptureWeek] = []
    result: list[CaptureWeek] = []
    for row in rows:
        week = row["week"]
        if isinstance(week, dt.datetime):  # SQLite truncates a date to a datetime
            week = week.date()
        paid_money = money(row["paid"])
        entry = CaptureWeek(
            week=week,
            overdue=week is not None and week < this_week,
            lines=row["lines"],
            units=row["units"] or 0,
            captured_at_shipment=paid_money if at_shipment else ZERO,
            paid_up_front=ZERO if at_shipment else paid_money,
            unpaid=money(row["unpaid"]),
        )
        (overdue if entry.overdue else result).append(entry)
    if overdue:
        result.insert(
            0,
            CaptureWeek(
                week=overdue[-1].week,
                overdue=True,
                lines=sum(e.lines for e in overdue),
                units=sum(e.units for e in overdue),
                captured_at_shipment=sum((e.captured_at_shipment for e in overdue), ZERO),
                paid_up_front=sum((e.paid_up_front for e in overdue), ZERO),
                unpaid=sum((e.unpaid for e in overdue), ZERO),
            ),
        )
    return result


# --- refunds falling due by day ----------------------------------------------------------


@dataclass
class RefundDay:
    day: dt.date
    # Refunds already owed and not yet issued, due that day.
    owed: Decimal = ZERO
    owed_refunds: int = 0
    # Waiting lines covered by the rule whose ship-by date is that day while their ETA is
    # later or unknown: unless the customer consents to the delay, the order is cancelled
    # and this is refunded.
    at_stake: Decimal = ZERO
    at_stake_orders: int = 0

    @property
    def total(self) -> Decimal:
        return self.owed + self.at_stake


def refunds_by_day(*, today: dt.date) -> list[RefundDay]:
    """By day: refunds owed and falling due (unissued Refund rows by due date), and the money
    at stake on a Mail Order Rule ship-by date that the ETA will miss. Two queries."""
    days: dict[dt.date, RefundDay] = {}
    owed = (
        Refund.objects.filter(issued_at__isnull=True)
        .values("due_date")
        .annotate(amount=Sum("amount"), refunds=Count("id"))
        .order_by("due_date")
    )
    for row in owed:
        day = days.setdefault(row["due_date"], RefundDay(row["due_date"]))
        day.owed, day.owed_refunds = money(row["amount"]), row["refunds"]
    at_stake = (
        OrderLine.objects.filter(at_risk_lines_q(), order__amount_paid__gt=0)
        .annotate(ship_by=ship_by_expression("order__compliance__"))
        .values("ship_by")
        .annotate(amount=Sum(revenue_expression()), orders=Count("order_id", distinct=True))
        .order_by("ship_by")
    )
    for stake in at_stake:
        if stake["ship_by"] is None:
            continue
        day = days.setdefault(stake["ship_by"], RefundDay(stake["ship_by"]))
        day.at_stake, day.at_stake_orders = money(stake["amount"]), stake["orders"]
    return [days[key] for key in sorted(days)]


# --- money committed in open purchase orders ---------------------------------------------


def _outstanding() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("quantity_ordered") - F("quantity_received"), output_field=IntegerField()
    )


def _committed() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("unit_cost") * (F("quantity_ordered") - F("quantity_received")),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def _open_po_lines() -> Q:
    return Q(
        purchase_order__status__in=PurchaseOrder.OPEN_STATUSES,
        is_cancelled=False,
        quantity_received__lt=F("quantity_ordered"),
    )


@dataclass(frozen=True)
class PoCommitment:
    purchase_order_id: int
    number: str
    supplier: str
    committed: Decimal
    units_outstanding: int
    # Units still to arrive on lines without a unit cost: money not counted above.
    units_without_cost: int
    next_expected: dt.date


@dataclass(frozen=True)
class ArrivalWeek:
    week: dt.date
    overdue: bool
    committed: Decimal
    units_outstanding: int
    units_without_cost: int

    @property
    def label(self) -> str:
        return "Overdue" if self.overdue else iso_week(self.week)


def _committed_sum() -> Sum:
    return Sum(_committed(), filter=Q(unit_cost__isnull=False))


def _units_sum(*, without_cost: bool = False) -> Sum:
    return Sum(_outstanding(), filter=Q(unit_cost__isnull=True) if without_cost else None)


def po_commitments() -> list[PoCommitment]:
    """Sent and partly received purchase orders: unit cost × units still to arrive, per PO
    (most money first). Drafts commit nothing yet. One query."""
    rows = (
        PurchaseOrderLine.objects.filter(_open_po_lines())
        .values("purchase_order_id", "purchase_order__number", "purchase_order__supplier__name")
        .annotate(
            committed=_committed_sum(),
            units=_units_sum(),
            unpriced=_units_sum(without_cost=True),
            next_expected=Min("expected_date"),
        )
        .order_by("purchase_order__number")
    )
    result = [
        PoCommitment(
            purchase_order_id=row["purchase_order_id"],
            number=row["purchase_order__number"],
            supplier=row["purchase_order__supplier__name"],
            committed=money(row["committed"]),
            units_outstanding=row["units"] or 0,
            units_without_cost=row["unpriced"] or 0,
            next_expected=row["next_expected"],
        )
        for row in rows
    ]
    # NULL sorts differently per database: order by the money in Python, the same everywhere.
    result.sort(key=lambda po: (-po.committed, po.number))
    return result


def supplier_commitments(commitments: list[PoCommitment]) -> list[tuple[str, Decimal]]:
    """The per-PO figures summed by supplier, most money first."""
    totals: dict[str, Decimal] = {}
    for po in commitments:
        totals[po.supplier] = totals.get(po.supplier, ZERO) + po.committed
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def po_arrivals_by_week(*, today: dt.date) -> list[ArrivalWeek]:
    """The same commitment by the ISO week each open line is expected to arrive; weeks before
    this one fold into one overdue row first. One query."""
    rows = (
        PurchaseOrderLine.objects.filter(_open_po_lines())
        .annotate(week=TruncWeek("expected_date"))
        .values("week")
        .annotate(
            committed=_committed_sum(),
            units=_units_sum(),
            unpriced=_units_sum(without_cost=True),
        )
        .order_by("week")
    )
    this_week = week_start(today)
    result: list[ArrivalWeek] = []
    for row in rows:
        week = row["week"]
        if isinstance(week, dt.datetime):
            week = week.date()
        entry = ArrivalWeek(
            week=week,
            overdue=week < this_week,
            committed=money(row["committed"]),
            units_outstanding=row["units"] or 0,
            units_without_cost=row["unpriced"] or 0,
        )
        if entry.overdue and result and result[0].overdue:
            first = result[0]
            result[0] = ArrivalWeek(
                week=entry.week,
                overdue=True,
                committed=first.committed + entry.committed,
                units_outstanding=first.units_outstanding + entry.units_outstanding,
                units_without_cost=first.units_without_cost + entry.units_without_cost,
            )
        else:
            result.append(entry)
    return result


# --- the whole report --------------------------------------------------------------------


@dataclass
class CashFlow:
    today: dt.date
    capture_timing: str
    captures: list[CaptureWeek] = field(default_factory=list)
    refunds: list[RefundDay] = field(default_factory=list)
    commitments: list[PoCommitment] = field(default_factory=list)
    arrivals: list[ArrivalWeek] = field(default_factory=list)

    def captures_within(self, weeks: int) -> Decimal:
        """Expected at shipment over this week and the next weeks-1 (overdue lines included:
        they ship as soon as stock arrives)."""
        end = week_start(self.today) + dt.timedelta(weeks=weeks)
        return sum((c.total for c in self.captures if c.week is not None and c.week < end), ZERO)

    def cash_in_within(self, weeks: int) -> Decimal:
        end = week_start(self.today) + dt.timedelta(weeks=weeks)
        return sum((c.cash_in for c in self.captures if c.week is not None and c.week < end), ZERO)

    @property
    def refunds_overdue(self) -> Decimal:
        return sum((d.owed for d in self.refunds if d.day < self.today), ZERO)

    def refunds_within(self, days: int) -> Decimal:
        """Owed and at stake from today through the next days-1 days."""
        end = self.today + dt.timedelta(days=days)
        return sum((d.total for d in self.refunds if self.today <= d.day < end), ZERO)

    @property
    def committed(self) -> Decimal:
        return sum((po.committed for po in self.commitments), ZERO)

    @property
    def units_without_cost(self) -> int:
        return sum(po.units_without_cost for po in self.commitments)


def cash_flow(*, today: dt.date) -> CashFlow:
    """The whole cash flow report: five queries, however many orders and POs."""
    return CashFlow(
        today=today,
        capture_timing=capture_timing(),
        captures=expected_captures(today=today),
        refunds=refunds_by_day(today=today),
        commitments=po_commitments(),
        arrivals=po_arrivals_by_week(today=today),
    )

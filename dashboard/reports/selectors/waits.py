"""Reports: how long shipped backorders waited, and how close their ETAs were."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, OuterRef, Q, Subquery

from config.calendar import store_date
from inventory.models import PurchaseOrder
from inventory.selectors import (
    LIKELY_SHARE,
    RANGE_MIN_RECEIPTS,
    SCORECARD_DAYS,
    supplier_scorecards,
)
from orders.models import EtaSource, OrderLine

from .base import (
    ChartSpec,
    Column,
    Report,
    Stat,
    days_text,
    order_link,
    percent,
    percentile,
    period_start,
    placed_lines,
)

# --- shipped backorders: waits and ETA accuracy --------------------------------------------


@dataclass(frozen=True)
class ShippedBackorder:
    order_id: int
    order_number: str
    sku: str
    placed_on: dt.date
    shipped_on: dt.date
    promised_on: dt.date | None
    quoted_eta: dt.date | None
    quoted_source: str
    # The supplier of the purchase order the line's ETA rests on, when it rests on one.
    supplier_id: int | None = None

    @property
    def waited(self) -> int:
        return (self.shipped_on - self.placed_on).days

    @property
    def days_late(self) -> int | None:
        return None if self.promised_on is None else (self.shipped_on - self.promised_on).days

    @property
    def eta_error(self) -> int | None:
        return None if self.quoted_eta is None else (self.shipped_on - self.quoted_eta).days


def shipped_backorders(*, since: dt.datetime) -> list[ShippedBackorder]:
    """Lines backordered when ordered whose wait ended with their last shipment in the period.

    The ship date is the store date of the line's last shipment (its backordered units ship
    after the ones taken from stock). The promised date is the ship-by date stated at sale,
    else the Mail Order Rule deadline. The supplier is that of the purchase order the line's
    last ETA referred to (the placement record keeps no reference). Two queries.
    """
    shipped = (
        OrderLine.objects.exclude(eta_source="")  # only lines that ever waited get an ETA
        .filter(quantity_backordered=0, quantity_shipped__gt=0)
        .annotate(last_shipped_at=Max("shipment_lines__shipment__shipped_at"))
        .filter(last_shipped_at__gte=since)
    )
    po_supplier = PurchaseOrder.objects.filter(number=OuterRef("eta_reference")).values(
        "supplier_id"
    )[:1]
    lines = list(
        shipped.values(
            "order_id",
            "order__number",
            "order__placed_at",
            "order__promised_ship_date",
            "order__compliance__deadline",
            "product__sku",
            "quantity",
            "quantity_shipped",
            "last_shipped_at",
            po_supplier_id=Subquery(po_supplier),
        ).order_by()
    )
    placed = {
        (p.order_id, p.sku): p
        for p in placed_lines(
            # A subquery rather than the ids: the query runs (and is counted) even when empty.
            order_filter=Q(order_id__in=shipped.values("order_id")),
            with_first_eta=True,
        )
    }
    result = []
    for line in lines:
        at_placement = placed.get((line["order_id"], line["product__sku"]))
        if at_placement is None or at_placement.backordered <= 0:
            continue
        if line["quantity_shipped"] <= line["quantity"] - at_placement.backordered:
            continue  # the backordered units were cancelled, not shipped
        result.append(
            ShippedBackorder(
                order_id=line["order_id"],
                order_number=line["order__number"],
                sku=line["product__sku"],
                placed_on=store_date(line["order__placed_at"]),
                shipped_on=store_date(line["last_shipped_at"]),
                promised_on=line["order__promised_ship_date"]
                or line["order__compliance__deadline"],
                quoted_eta=at_placement.eta,
                quoted_source=at_placement.eta_source,
                supplier_id=line["po_supplier_id"]
                if at_placement.eta_source == EtaSource.PURCHASE_ORDER
                else None,
            )
        )
    result.sort(key=lambda x: (-x.waited, x.order_number, x.sku))
    return result


WAIT_HISTOGRAM: tuple[tuple[str, int, int | None], ...] = (
    ("0–7", 0, 7),
    ("8–14", 8, 14),
    ("15–30", 15, 30),
    ("31–60", 31, 60),
    ("Over 60", 61, None),
)


def wait_times(*, days: int, today: dt.date) -> Report:
    shipped = shipped_backorders(since=period_start(days, today))
    waits = [x.waited for x in shipped]
    promised = [x for x in shipped if x.promised_on is not None]
    late = [x for x in promised if (x.days_late or 0) > 0]
    histogram = [
        (label, sum(1 for w in waits if w >= low and (high is None or w <= high)))
        for label, low, high in WAIT_HISTOGRAM
    ]
    p90 = percentile(waits, 0.9)
    return Report(
        slug="wait-times",
        title="How long backorders waited",
        definition=(
            "Lines that were backordered when ordered and shipped in the period: the wait is "
            "the ship date (their last shipment) minus the order date, in store days. Lateness "
            "compares the ship date with the ship-by date stated at sale, else the Mail Order "
            "Rule deadline; the share late counts only lines that had such a date. The 90th "
            "percentile is the nearest-rank value."
        ),
        stats=[
            Stat("Backordered lines shipped", f"{len(shipped):,}"),
            Stat("Average wait", days_text(sum(waits) / len(waits) if waits else None)),
            Stat("90th percentile wait", "—" if p90 is None else f"{p90} days"),
            Stat(
                "Shipped after the promised date",
                percent(len(late), len(promised)),
                "bad" if late else "",
            ),
            Stat(
                "Average lateness when late",
                days_text(sum(x.days_late or 0 for x in late) / len(late) if late else None),
            ),
        ],
        charts=[ChartSpec("bar", "Backordered lines by days waited", histogram, " lines")],
        columns=[
            Column("Order"),
            Column("SKU"),
            Column("Ordered"),
            Column("Shipped"),
            Column("Days waited", True),
            Column("Promised by"),
            Column("Days late", True),
        ],
        rows=[
            [
                order_link(x.order_id, x.order_number),
                x.sku,
                x.placed_on,
                x.shipped_on,
                x.waited,
                x.promised_on,
                x.days_late,
            ]
            for x in shipped
        ],
    )


ETA_HISTOGRAM: tuple[tuple[str, int | None, int | None], ...] = (
    ("8+ early", None, -8),
    ("4–7 early", -7, -4),
    ("1–3 early", -3, -1),
    ("On the day", 0, 0),
    ("1–3 late", 1, 3),
    ("4–7 late", 4, 7),
    ("8+ late", 8, None),
)
ETA_CLOSE_DAYS = 2


def padded_etas(
    shipped: list[ShippedBackorder], *, today: dt.date
) -> dict[tuple[int, str], dt.date]:
    """Each quoted ETA resting on a purchase order of a supplier with enough receipts, padded by
    that supplier's 80th-percentile slip (never before the order date), by (order id, SKU).

    The supplier's record is read as of `today` (its current scorecard), not as it stood
    when the date was quoted. Three queries, however many lines.
    """
    cards = {
        card.supplier_id: card
        for card in supplier_scorecards(today=today)
        if card.receipts >= RANGE_MIN_RECEIPTS
    }
    padded = {}
    for x in shipped:
        card = cards.get(x.supplier_id or 0)
        if card is None or x.quoted_eta is None:
            continue
        slip = card.slip_percentile(LIKELY_SHARE) or 0
        padded[(x.order_id, x.sku)] = max(x.quoted_eta + dt.timedelta(days=slip), x.placed_on)
    return padded


def _mean_late(errors: list[int]) -> str:
    return days_text(sum(max(e, 0) for e in errors) / len(errors) if errors else None)


def eta_accuracy(*, days: int, today: dt.date) -> Report:
    shipped = shipped_backorders(since=period_start(days, today))
    padding = padded_etas(shipped, today=today)
    dated = [x for x in shipped if x.quoted_eta is not None]
    errors = [x.eta_error or 0 for x in dated]
    late = [e for e in errors if e > 0]
    padded = {
        (x.order_id, x.sku): padding.get((x.order_id, x.sku), x.quoted_eta or x.shipped_on)
        for x in dated
    }
    padded_errors = {
        (x.order_id, x.sku): (x.shipped_on - padded[(x.order_id, x.sku)]).days for x in dated
    }
    histogram = [
        (
            label,
            sum(1 for e in errors if (low is None or e >= low) and (high is None or e <= high)),
        )
        for label, low, high in ETA_HISTOGRAM
    ]
    sources = dict(EtaSource.choices)
    dated.sort(key=lambda x: (-abs(x.eta_error or 0), x.order_number, x.sku))
    return Report(
        slug="eta-accuracy",
        title="ETA accuracy",
        definition=(
            "For lines backordered when ordered and shipped in the period: the ship date (their "
            "last shipment) minus the ETA quoted in the order confirmation (the order's "
            "placement record), in days. Negative: shipped early. Lines quoted no date are "
            "counted apart. The padded date is the quoted ETA plus the 80th-percentile slip of "
            "the supplier whose purchase order the ETA rested on, when that supplier has at "
            f"least {RANGE_MIN_RECEIPTS} receipts; otherwise it is the quoted ETA. The padding "
            f"uses the supplier's current scorecard (the last {SCORECARD_DAYS} days up to "
            "the report's end), not its record when the ETA was quoted, and the "
            "purchase order the line's latest ETA named. Mean days late counts early and "
            "on-time lines as 0."
        ),
        stats=[
            Stat("Lines with a quoted ETA", f"{len(dated):,}"),
            Stat(
                "Shipped by the quoted ETA", percent(sum(1 for e in errors if e <= 0), len(errors))
            ),
            Stat(
                "Shipped by the padded date",
                percent(sum(1 for e in padded_errors.values() if e <= 0), len(padded_errors)),
            ),
            Stat(
                f"Within ±{ETA_CLOSE_DAYS} days",
                percent(sum(1 for e in errors if abs(e) <= ETA_CLOSE_DAYS), len(errors)),
            ),
            Stat(
                "Average error",
                days_text(sum(abs(e) for e in errors) / len(errors) if errors else None),
            ),
            Stat("Average days late when late", days_text(sum(late) / len(late) if late else None)),
            Stat("Mean days late, quoted ETA", _mean_late(errors)),
            Stat("Mean days late, padded date", _mean_late(list(padded_errors.values()))),
            Stat("Padded by supplier slips", f"{len(padding):,}"),
            Stat("Quoted no date", f"{len(shipped) - len(dated):,}"),
        ],
        charts=[ChartSpec("bar", "Ship date against the quoted ETA", histogram, " lines")],
        columns=[
            Column("Order"),
            Column("SKU"),
            Column("Ordered"),
            Column("Quoted ETA"),
            Column("ETA basis"),
            Column("Padded date"),
            Column("Shipped"),
            Column("Days off", True),
            Column("Days off padded", True),
        ],
        rows=[
            [
                order_link(x.order_id, x.order_number),
                x.sku,
                x.placed_on,
                x.quoted_eta,
                sources.get(x.quoted_source, x.quoted_source),
                padded[(x.order_id, x.sku)],
                x.shipped_on,
                x.eta_error,
                padded_errors[(x.order_id, x.sku)],
            ]
            for x in dated
        ],
    )

"""Reads for the managers' reports: each a few bounded queries, whatever the amount of data.

Where a figure needs what an order looked like when it was placed (units taken from stock,
the ETA quoted), it is read from the order's PLACED event and computed in Python over a query
bounded by the report's period.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils import timezone

from compliance.models import DelayNotice
from inventory.models import Product
from orders.models import EtaSource, OrderEvent, OrderLine
from orders.selectors import store_today

from .selectors_overview import (
    chart_label,
    money,
    revenue_expression,
    start_of_store_day,
    store_date,
)

PERIODS = (30, 90, 365)
DEFAULT_PERIOD = 90


@dataclass(frozen=True)
class Link:
    text: str
    href: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Stat:
    label: str
    value: str
    tone: str = ""


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False


@dataclass(frozen=True)
class ChartSpec:
    kind: str  # "bar", "hbar" or "line"
    title: str
    rows: Sequence[tuple[str, int | float | Decimal]]
    unit: str = ""


@dataclass
class Report:
    slug: str
    title: str
    definition: str
    stats: list[Stat] = field(default_factory=list)
    charts: list[ChartSpec] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    uses_period: bool = True


def order_link(order_id: int, number: str) -> Link:
    return Link(number, reverse("dashboard:order", args=[order_id]))


def product_link(product_id: int, sku: str) -> Link:
    return Link(sku, reverse("dashboard:product", args=[product_id]))


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def days_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} days"


def percentile(values: Sequence[int], share: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least `share` of values at or
    below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    weeks, week = [], week_start(first)
    while week <= last:
        weeks.append(week)
        week += dt.timedelta(days=7)
    return weeks


def week_label(week: dt.date) -> str:
    return f"{week:%b} {week.day}"


# --- what orders looked like when placed --------------------------------------------------


@dataclass(frozen=True)
class PlacedLine:
    order_id: int
    placed_at: dt.datetime
    sku: str
    quantity: int
    allocated: int
    backordered: int
    eta: dt.date | None
    eta_source: str


def placed_lines(*, order_filter: Q, with_first_eta: bool = False) -> list[PlacedLine]:
    """The lines of every PLACED event of the orders matching `order_filter`: one query.

    A line that joined a queue which was recomputed as the order was placed (a priority or
    back-dated order) gets its first ETA from that recomputation rather than in the PLACED
    event; `with_first_eta` reads it from the ETA_CHANGED event that gave the line its first
    date, which is what the order confirmation told the customer.
    """
    kinds = [OrderEvent.Kind.PLACED]
    if with_first_eta:
        kinds.append(OrderEvent.Kind.ETA_CHANGED)
    events = (
        OrderEvent.objects.filter(order_filter, kind__in=kinds)
        .values_list("order_id", "order__placed_at", "kind", "data")
        .order_by("created_at", "id")
    )
    result = []
    first_eta: dict[tuple[int, str], tuple[dt.date | None, str]] = {}
    for order_id, placed_at, kind, data in events:
        for entry in (data or {}).get("lines", []):
            try:
                if kind == OrderEvent.Kind.ETA_CHANGED:
                    key = (order_id, str(entry["sku"]))
                    if key not in first_eta and not entry.get("old_source"):
                        new = entry.get("new")
                        first_eta[key] = (
                            dt.date.fromisoformat(new) if new else None,
                            str(entry.get("source") or ""),
                        )
                    continue
                eta = entry.get("eta")
                result.append(
                    PlacedLine(
                        order_id=order_id,
                        placed_at=placed_at,
                        sku=str(entry["sku"]),
                        quantity=int(entry["quantity"]),
                        allocated=int(entry.get("allocated") or 0),
                        backordered=int(entry.get("backordered") or 0),
                        eta=dt.date.fromisoformat(eta) if eta else None,
                        eta_source=str(entry.get("eta_source") or ""),
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue
    if first_eta:
        result = [
            replace(line, eta=first_eta[key][0], eta_source=first_eta[key][1])
            if not line.eta_source and (key := (line.order_id, line.sku)) in first_eta
            else line
            for line in result
        ]
    return result


def period_start(days: int, today: dt.date) -> dt.datetime:
    return start_of_store_day(today - dt.timedelta(days=days - 1))


# --- most backordered products -----------------------------------------------------------


def most_backordered(*, days: int, today: dt.date) -> Report:
    since = period_start(days, today)
    lines = [
        line
        for line in placed_lines(order_filter=Q(order__placed_at__gte=since))
        if line.backordered > 0
    ]
    orders: dict[str, set[int]] = defaultdict(set)
    units: Counter[str] = Counter()
    ordered: Counter[str] = Counter()
    for line in lines:
        orders[line.sku].add(line.order_id)
        units[line.sku] += line.backordered
        ordered[line.sku] += line.quantity
    products: dict[str, dict[str, Any]] = {
        p["sku"]: dict(p)
        for p in Product.objects.filter(sku__in=list(orders))
        .annotate(
            waiting_now=Sum(
                "order_lines__quantity_backordered",
                filter=Q(order_lines__quantity_backordered__gt=0),
            )
        )
        .values("id", "sku", "name", "waiting_now")
    }
    ranked = sorted(orders, key=lambda sku: (-len(orders[sku]), -units[sku], sku))
    rows = []
    for sku in ranked:
        product = products.get(sku, {"id": None, "name": "", "waiting_now": 0})
        rows.append(
            [
                product_link(product["id"], sku) if product["id"] else sku,
                product["name"],
                len(orders[sku]),
                units[sku],
                ordered[sku],
                product["waiting_now"] or 0,
            ]
        )
    names: dict[str, str] = {sku: product["name"] for sku, product in products.items()}
    by_units = sorted(ranked, key=lambda sku: (-units[sku], -len(orders[sku]), sku))
    return Report(
        slug="most-backordered",
        title="Most backordered products",
        definition=(
            "Orders placed in the period in which the product could not be served from stock, "
            "and the units backordered on them at the time of the order (from each order's "
            "placement record). “Waiting now” is what still waits today, whenever ordered."
        ),
        stats=[
            Stat("Products backordered", f"{len(orders):,}"),
            Stat("Orders with a backorder", f"{len({x.order_id for x in lines}):,}"),
            Stat("Units backordered", f"{sum(units.values()):,}"),
        ],
        charts=[
            ChartSpec(
                "hbar",
                "Top 10 by orders with a backorder",
                [(chart_label(sku, names.get(sku, "")), len(orders[sku])) for sku in ranked[:10]],
            ),
            ChartSpec(
                "hbar",
                "Top 10 by units backordered",
                [(chart_label(sku, names.get(sku, "")), units[sku]) for sku in by_units[:10]],
            ),
        ],
        columns=[
            Column("SKU"),
            Column("Product"),
            Column("Orders backordered", True),
            Column("Units backordered", True),
            Column("Units ordered", True),
            Column("Waiting now", True),
        ],
        rows=rows,
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
    else the Mail Order Rule deadline. Two queries.
    """
    shipped = (
        OrderLine.objects.exclude(eta_source="")  # only lines that ever waited get an ETA
        .filter(quantity_backordered=0, quantity_shipped__gt=0)
        .annotate(last_shipped_at=Max("shipment_lines__shipment__shipped_at"))
        .filter(last_shipped_at__gte=since)
    )
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


def eta_accuracy(*, days: int, today: dt.date) -> Report:
    shipped = shipped_backorders(since=period_start(days, today))
    dated = [x for x in shipped if x.quoted_eta is not None]
    errors = [x.eta_error or 0 for x in dated]
    late = [e for e in errors if e > 0]
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
            "counted apart."
        ),
        stats=[
            Stat("Lines with a quoted ETA", f"{len(dated):,}"),
            Stat(
                "Shipped by the quoted ETA", percent(sum(1 for e in errors if e <= 0), len(errors))
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
            Stat("Quoted no date", f"{len(shipped) - len(dated):,}"),
        ],
        charts=[ChartSpec("bar", "Ship date against the quoted ETA", histogram, " lines")],
        columns=[
            Column("Order"),
            Column("SKU"),
            Column("Ordered"),
            Column("Quoted ETA"),
            Column("ETA basis"),
            Column("Shipped"),
            Column("Days off", True),
        ],
        rows=[
            [
                order_link(x.order_id, x.order_number),
                x.sku,
                x.placed_on,
                x.quoted_eta,
                sources.get(x.quoted_source, x.quoted_source),
                x.shipped_on,
                x.eta_error,
            ]
            for x in dated
        ],
    )


# --- fill rate ---------------------------------------------------------------------------


def fill_rate(*, days: int, today: dt.date) -> Report:
    since = period_start(days, today)
    lines = placed_lines(order_filter=Q(order__placed_at__gte=since))
    weeks = weeks_between(store_date(since), today)
    ordered_by_week: Counter[dt.date] = Counter()
    filled_by_week: Counter[dt.date] = Counter()
    per_product: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    order_full: dict[int, bool] = {}
    for line in lines:
        week = week_start(store_date(line.placed_at))
        ordered_by_week[week] += line.quantity
        filled_by_week[week] += line.allocated
        stats = per_product[line.sku]
        stats[0] += 1
        stats[1] += line.allocated >= line.quantity
        stats[2] += line.quantity
        stats[3] += line.allocated
        order_full[line.order_id] = order_full.get(line.order_id, True) and (
            line.allocated >= line.quantity
        )
    products = {
        sku: (pk, name)
        for sku, pk, name in Product.objects.filter(sku__in=list(per_product)).values_list(
            "sku", "id", "name"
        )
    }
    units_ordered = sum(s[2] for s in per_product.values())
    units_filled = sum(s[3] for s in per_product.values())
    ranked = sorted(per_product, key=lambda sku: (per_product[sku][3] / per_product[sku][2], sku))
    return Report(
        slug="fill-rate",
        title="Fill rate",
        definition=(
            "Unit fill rate: of the units ordered in the period, the share allocated from stock "
            "the moment the order was placed. Line fill rate: the share of lines allocated in "
            "full at placement; order fill rate: orders with every line so. Read from each "
            "order's placement record."
        ),
        stats=[
            Stat("Unit fill rate", percent(units_filled, units_ordered)),
            Stat(
                "Line fill rate",
                percent(sum(s[1] for s in per_product.values()), len(lines)),
            ),
            Stat("Order fill rate", percent(sum(order_full.values()), len(order_full))),
            Stat("Units ordered", f"{units_ordered:,}"),
        ],
        charts=[
            ChartSpec(
                "line",
                "Unit fill rate by week of order (%)",
                [
                    (
                        week_label(week),
                        round(100 * filled_by_week[week] / ordered_by_week[week], 1)
                        if ordered_by_week[week]
                        else 0,
                    )
                    for week in weeks
                ],
                "%",
            )
        ],
        columns=[
            Column("SKU"),
            Column("Product"),
            Column("Lines", True),
            Column("Lines filled", True),
            Column("Units ordered", True),
            Column("Units from stock", True),
            Column("Unit fill rate", True),
        ],
        rows=[
            [
                product_link(products[sku][0], sku) if sku in products else sku,
                products[sku][1] if sku in products else "",
                per_product[sku][0],
                per_product[sku][1],
                per_product[sku][2],
                per_product[sku][3],
                percent(per_product[sku][3], per_product[sku][2]),
            ]
            for sku in ranked
        ],
    )


# --- cancellations caused by delay -------------------------------------------------------


def delay_cancellations(*, days: int, today: dt.date) -> Report:
    since = period_start(days, today)
    first_notice = Subquery(
        DelayNotice.objects.filter(order=OuterRef("order_id"))
        .order_by("sent_at", "id")
        .values("sent_at")[:1]
    )
    cancellations = OrderEvent.objects.filter(
        kind=OrderEvent.Kind.CANCELLED, created_at__gte=since
    ).annotate(first_notice_at=first_notice)
    caused_by_delay = Q(data__cause="mail_order_rule") | Q(
        data__cause="customer", first_notice_at__lte=F("created_at")
    )
    totals = cancellations.aggregate(all=Count("id"), by_delay=Count("id", filter=caused_by_delay))
    events = list(
        cancellations.filter(caused_by_delay)
        .values("order_id", "order__number", "created_at", "data")
        .order_by("-created_at", "-id")
    )
    weeks = weeks_between(store_date(since), today)
    per_week: Counter[dt.date] = Counter()
    rows = []
    refund_total = Decimal("0")
    units_total = 0
    for event in events:
        data = event["data"] or {}
        units = sum(int(x.get("cancelled") or 0) for x in data.get("lines", []))
        refund = money(data.get("refund"))
        day = store_date(event["created_at"])
        per_week[week_start(day)] += 1
        refund_total += refund
        units_total += units
        rows.append(
            [
                order_link(event["order_id"], event["order__number"]),
                day,
                "Mail Order Rule" if data.get("cause") == "mail_order_rule" else "Customer",
                units,
                refund,
                str(data.get("reason", "")),
            ]
        )
    return Report(
        slug="delay-cancellations",
        title="Cancellations caused by delay",
        definition=(
            "Cancellations in the period made under the Mail Order Rule (no consent to a "
            "delay), or asked for by the customer after a delay notice had been sent for the "
            "order."
        ),
        stats=[
            Stat("Cancelled because of delay", f"{len(rows):,}", "bad" if rows else ""),
            Stat("Of all cancellations", percent(totals["by_delay"], totals["all"])),
            Stat("Orders", f"{len({e['order_id'] for e in events}):,}"),
            Stat("Units", f"{units_total:,}"),
            Stat("Refunds owed", f"${refund_total:,.2f}"),
        ],
        charts=[
            ChartSpec(
                "bar",
                "Cancellations caused by delay, by week",
                [(week_label(week), per_week[week]) for week in weeks],
                " cancellations",
            )
        ],
        columns=[
            Column("Order"),
            Column("Date"),
            Column("Cause"),
            Column("Units", True),
            Column("Refund", True),
            Column("Reason"),
        ],
        rows=rows,
    )


# --- revenue waiting ---------------------------------------------------------------------

ETA_HORIZONS: tuple[tuple[str, int | None], ...] = (
    ("≤ 7 days", 7),
    ("8–30 days", 30),
    ("Later", None),
)


def revenue_waiting(*, days: int, today: dt.date) -> Report:
    waiting = OrderLine.objects.filter(quantity_backordered__gt=0)
    horizons: dict[str, Any] = {}
    previous: dt.date | None = None
    for index, (_, within) in enumerate(ETA_HORIZONS):
        condition = Q(eta__isnull=False)
        if previous is not None:
            condition &= Q(eta__gt=previous)
        if within is not None:
            limit = today + dt.timedelta(days=within)
            condition &= Q(eta__lte=limit)
            previous = limit
        horizons[f"h{index}"] = Sum(revenue_expression(), filter=condition)
    totals = waiting.aggregate(
        revenue=Sum(revenue_expression()),
        units=Sum("quantity_backordered"),
        orders=Count("order_id", distinct=True),
        unknown=Sum(revenue_expression(), filter=Q(eta__isnull=True)),
        **horizons,
    )
    products = list(
        waiting.values("product_id", "product__sku", "product__name")
        .annotate(
            revenue=Sum(revenue_expression()),
            units=Sum("quantity_backordered"),
            lines=Count("id"),
            orders=Count("order_id", distinct=True),
            latest_eta=Max("eta"),
        )
        .order_by("-revenue", "product__sku")
    )
    for product in products:
        product["revenue"] = money(product["revenue"])
    horizon_rows: list[tuple[str, int | float | Decimal]] = [
        (label, int(money(totals[f"h{i}"]))) for i, (label, _) in enumerate(ETA_HORIZONS)
    ]
    horizon_rows.append(("No date", int(money(totals["unknown"]))))
    return Report(
        slug="revenue-waiting",
        title="Revenue waiting on backorders",
        definition=(
            "Backordered units times their unit price, for every line waiting now, by "
            "product; and by when the ETA says it will ship. Not limited to the period."
        ),
        stats=[
            Stat("Revenue waiting", f"${money(totals['revenue']):,.2f}"),
            Stat("Units waiting", f"{totals['units'] or 0:,}"),
            Stat("Orders waiting", f"{totals['orders']:,}"),
            Stat(
                "With no ETA",
                f"${money(totals['unknown']):,.2f}",
                "warn" if totals["unknown"] else "",
            ),
        ],
        charts=[
            ChartSpec(
                "hbar",
                "Top 10 products by revenue waiting ($)",
                [
                    (chart_label(p["product__sku"], p["product__name"]), int(p["revenue"]))
                    for p in products[:10]
                ],
            ),
            ChartSpec("bar", "Revenue waiting by expected ship date ($)", horizon_rows),
        ],
        columns=[
            Column("SKU"),
            Column("Product"),
            Column("Revenue waiting", True),
            Column("Units", True),
            Column("Lines", True),
            Column("Orders", True),
            Column("Latest ETA"),
        ],
        rows=[
            [
                product_link(p["product_id"], p["product__sku"]),
                p["product__name"],
                p["revenue"],
                p["units"],
                p["lines"],
                p["orders"],
                p["latest_eta"],
            ]
            for p in products
        ],
        uses_period=False,
    )


REPORTS: dict[str, tuple[str, Callable[..., Report]]] = {
    "most-backordered": ("Most backordered", most_backordered),
    "wait-times": ("Wait times", wait_times),
    "eta-accuracy": ("ETA accuracy", eta_accuracy),
    "fill-rate": ("Fill rate", fill_rate),
    "delay-cancellations": ("Delay cancellations", delay_cancellations),
    "revenue-waiting": ("Revenue waiting", revenue_waiting),
}


def report(*, slug: str, days: int = DEFAULT_PERIOD, now: dt.datetime | None = None) -> Report:
    """One report by its slug (KeyError for an unknown one), over the last `days` store days."""
    _, build = REPORTS[slug]
    if days not in PERIODS:
        days = DEFAULT_PERIOD
    return build(days=days, today=store_today(now or timezone.now()))

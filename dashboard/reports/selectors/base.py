"""Reads for the managers' reports: each a few bounded queries, whatever the amount of data.

Where a figure needs what an order looked like when it was placed (units taken from stock,
the ETA quoted), it is read from the order's PLACED event and computed in Python over a query
bounded by the report's period.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.urls import reverse

from config.calendar import start_of_store_day
from orders.models import OrderEvent

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

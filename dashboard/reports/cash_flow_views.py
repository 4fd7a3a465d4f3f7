"""Dashboard: the cash flow of backorders — a page with its charts and tables, and each table
as a CSV download."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone

from config.calendar import store_today
from config.csv_cells import csv_cell, csv_row
from config.formats import format_money

from ..access import managers_required
from ..charts import bar_chart, hbar_chart
from .selectors.base import Column, Link, Stat, week_label, week_start, weeks_between
from .selectors.cash_flow import CashFlow, cash_flow, iso_week, supplier_commitments
from .views import cell_class, display

CHART_WEEKS = 12
CHART_DAYS = 30

Table = tuple[list[Column], list[list[Any]]]


def _week(week: dt.date | None) -> str:
    return "" if week is None else f"{iso_week(week)} ({week_label(week)})"


def captures_table(data: CashFlow) -> Table:
    columns = [
        Column("Week of ETA"),
        Column("Week starts"),
        Column("Lines", True),
        Column("Units", True),
        Column("Captured at shipment", True),
        Column("Paid up front (recognised at shipment)", True),
        Column("Not paid yet", True),
        Column("Total", True),
    ]
    rows = [
        [
            c.label,
            None if c.overdue else c.week,
            c.lines,
            c.units,
            c.captured_at_shipment,
            c.paid_up_front,
            c.unpaid,
            c.total,
        ]
        for c in data.captures
    ]
    return columns, rows


def refunds_table(data: CashFlow) -> Table:
    columns = [
        Column("Day"),
        Column("Refunds owed", True),
        Column("Owed, amount", True),
        Column("Orders at stake", True),
        Column("At stake, amount", True),
        Column("Total", True),
    ]
    rows = [
        [d.day, d.owed_refunds, d.owed, d.at_stake_orders, d.at_stake, d.total]
        for d in data.refunds
    ]
    return columns, rows


def commitments_table(data: CashFlow) -> Table:
    columns = [
        Column("Purchase order"),
        Column("Supplier"),
        Column("Next expected"),
        Column("Units outstanding", True),
        Column("Units without a cost", True),
        Column("Committed", True),
    ]
    rows = [
        [
            Link(po.number, reverse("dashboard:purchase_order", args=[po.purchase_order_id])),
            po.supplier,
            po.next_expected,
            po.units_outstanding,
            po.units_without_cost,
            po.committed,
        ]
        for po in data.commitments
    ]
    return columns, rows


def arrivals_table(data: CashFlow) -> Table:
    columns = [
        Column("Week expected"),
        Column("Week starts"),
        Column("Units outstanding", True),
        Column("Units without a cost", True),
        Column("Committed", True),
    ]
    rows = [
        [
            a.label,
            None if a.overdue else a.week,
            a.units_outstanding,
            a.units_without_cost,
            a.committed,
        ]
        for a in data.arrivals
    ]
    return columns, rows


TABLES: dict[str, tuple[str, Callable[[CashFlow], Table]]] = {
    "captures": ("Expected at shipment, by week of ETA", captures_table),
    "refunds": ("Refunds falling due, by day", refunds_table),
    "po-commitments": ("Money committed in open purchase orders", commitments_table),
    "po-arrivals": ("Committed money by week of expected arrival", arrivals_table),
}


def _weekly(
    today: dt.date, overdue: Decimal | None, by_week: dict[dt.date, Decimal]
) -> list[tuple[str, int | float | Decimal]]:
    """Bars for an overdue total (if any), then every week from this one up to the last with
    money within the chart's horizon, empty weeks included."""
    bars: list[tuple[str, int | float | Decimal]] = []
    if overdue:
        bars.append(("Overdue", overdue))
    first = week_start(today)
    shown = [week for week in by_week if first <= week < first + dt.timedelta(weeks=CHART_WEEKS)]
    if shown:
        bars.extend(
            (week_label(week), by_week.get(week, Decimal("0.00")))
            for week in weeks_between(first, max(shown))
        )
    return bars


def _charts(data: CashFlow) -> list[tuple[str, Any]]:
    captures = _weekly(
        data.today,
        sum((c.total for c in data.captures if c.overdue), Decimal("0.00")),
        {c.week: c.total for c in data.captures if c.week is not None and not c.overdue},
    )
    arrivals = _weekly(
        data.today,
        sum((a.committed for a in data.arrivals if a.overdue), Decimal("0.00")),
        {a.week: a.committed for a in data.arrivals if not a.overdue},
    )
    end = data.today + dt.timedelta(days=CHART_DAYS)
    by_day = {d.day: d.total for d in data.refunds if data.today <= d.day < end}
    refunds: list[tuple[str, int | float | Decimal]] = (
        [
            (f"{day:%b} {day.day}", by_day.get(day, Decimal("0.00")))
            for day in (
                data.today + dt.timedelta(days=n)
                for n in range((max(by_day) - data.today).days + 1)
            )
        ]
        if by_day
        else []
    )
    by_supplier = supplier_commitments(data.commitments)[:10]
    return [
        (
            f"Expected at shipment by week of ETA (next {CHART_WEEKS} weeks)",
            bar_chart("Expected at shipment by week", captures),
        ),
        (
            f"Refunds owed or at stake by day (next {CHART_DAYS} days)",
            bar_chart("Refunds by day", refunds),
        ),
        ("Committed in open POs by week of arrival", bar_chart("PO money by week", arrivals)),
        ("Committed in open POs by supplier", hbar_chart("PO money by supplier", by_supplier)),
    ]


def _stats(data: CashFlow) -> list[Stat]:
    unpriced = data.units_without_cost
    return [
        Stat("Expected at shipment, next 4 weeks", format_money(data.captures_within(4))),
        Stat("Of which cash still to come", format_money(data.cash_in_within(4))),
        Stat("Refunds owed or at stake, next 30 days", format_money(data.refunds_within(30))),
        Stat(
            "Refunds overdue",
            format_money(data.refunds_overdue),
            "bad" if data.refunds_overdue else "",
        ),
        Stat("Committed in open POs", format_money(data.committed)),
        Stat("PO units without a cost", f"{unpriced:,}", "warn" if unpriced else ""),
    ]


@managers_required
def cash_flow_page(request: HttpRequest) -> HttpResponse:
    data = cash_flow(today=store_today(timezone.now()))
    tables = []
    for slug, (title, build) in TABLES.items():
        columns, rows = build(data)
        tables.append(
            {
                "slug": slug,
                "title": title,
                "columns": columns,
                "rows": [
                    [
                        (display(cell), cell_class(cell, numeric=column.numeric))
                        for cell, column in zip(row, columns, strict=True)
                    ]
                    for row in rows
                ],
            }
        )
    return render(
        request,
        "dashboard/reports/cash_flow.html",
        {
            "data": data,
            "stats": _stats(data),
            "charts": _charts(data),
            "tables": tables,
            "at_shipment": data.capture_timing == "shipment",
        },
    )


@managers_required
def cash_flow_export(request: HttpRequest, table: str) -> HttpResponse:
    if table not in TABLES:
        raise Http404("No such table.")
    _, build = TABLES[table]
    data = cash_flow(today=store_today(timezone.now()))
    columns, rows = build(data)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cash-flow-{table}.csv"'
    writer = csv.writer(response)
    writer.writerow(csv_row(column.label for column in columns))
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return response


urlpatterns = [
    path("reports/cash-flow/", cash_flow_page, name="cash_flow"),
    path("reports/cash-flow/<slug:table>.csv", cash_flow_export, name="cash_flow_export"),
]

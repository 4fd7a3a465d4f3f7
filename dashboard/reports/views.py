"""Dashboard: reports for managers, each with a chart, a paginated table and a CSV export."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.safestring import SafeString

from config.csv_cells import csv_cell, csv_row
from config.formats import format_date, format_money

from ..access import managers_required
from ..charts import bar_chart, hbar_chart, line_chart
from ..params import choice_param
from .selectors import REPORTS
from .selectors import report as report_build
from .selectors.base import DEFAULT_PERIOD, PERIODS, ChartSpec, Link, Report

PAGE_SIZE = 25
CHARTS = {"bar": bar_chart, "hbar": hbar_chart, "line": line_chart}


def period(request: HttpRequest) -> int:
    return choice_param(request, "days", PERIODS, DEFAULT_PERIOD)


def chart(spec: ChartSpec) -> SafeString:
    return CHARTS[spec.kind](spec.title, spec.rows, unit=spec.unit)


def display(value: Any) -> Any:
    """A cell as shown on the page (links stay links for the template)."""
    if value is None:
        return "—"
    if isinstance(value, Link):
        return value
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value


def cell_class(value: Any, *, numeric: bool) -> str:
    """Numbers align right; dates, links and short codes never break across lines."""
    if numeric:
        return "num"
    if isinstance(value, dt.date | Link) or (isinstance(value, str) and len(value) <= 14):
        return "nowrap"
    return ""


def exported(value: Any) -> str:
    """A cell as written to CSV: plain, machine-readable values, never a formula."""
    return csv_cell(value)


@managers_required
def reports(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("report", "")
    if slug not in REPORTS:
        slug = next(iter(REPORTS))
    days = period(request)
    data: Report = report_build(slug=slug, days=days)
    page = Paginator(data.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/reports/reports.html",
        {
            "report": data,
            "reports": [(key, label) for key, (label, _) in REPORTS.items()],
            "days": days,
            "periods": PERIODS,
            "charts": [(spec.title, chart(spec)) for spec in data.charts],
            "page": page,
            "rows": [
                [
                    (display(cell), cell_class(cell, numeric=column.numeric))
                    for cell, column in zip(row, data.columns, strict=True)
                ]
                for row in page.object_list
            ],
        },
    )


@managers_required
def report_export(request: HttpRequest, report: str) -> HttpResponse:
    if report not in REPORTS:
        raise Http404("No such report.")
    days = period(request)
    data = report_build(slug=report, days=days)
    name = report if not data.uses_period else f"{report}-{days}-days"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(csv_row(column.label for column in data.columns))
    for row in data.rows:
        writer.writerow([exported(cell) for cell in row])
    return response


urlpatterns = [
    path("reports/", reports, name="reports"),
    path("reports/<slug:report>.csv", report_export, name="report_export"),
]

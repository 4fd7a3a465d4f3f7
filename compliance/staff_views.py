"""Staff pages for the Mail Order Rule records: one order's record, and CSV exports.

Mounted inside the admin by OrderComplianceAdmin.get_urls(), so they need no URLconf entry and
get the admin's login, staff check and never-cache; each view also checks the permission itself.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.views.decorators.http import require_safe

from config.csv_cells import csv_row
from inventory.bounds import EARLIEST_DATE, latest_date
from orders.models import Order

from .models import OrderCompliance
from .selectors import OrderRecord, order_record, records_queryset, store_zone

View = TypeVar("View", bound=Callable[..., Any])
PERMISSION = "compliance.view_ordercompliance"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
CSV_HEADER = (
    "order number",
    "customer email",
    "t0 (UTC)",
    "deadline T",
    "basis",
    "event time (UTC)",
    "event",
    "detail",
)
# Orders per round of queries in the period export: memory stays flat however long the period.
EXPORT_CHUNK = 500


# --- the records of many orders in a fixed number of queries --------------------------------
def _get_record(order_id: int) -> OrderRecord:
    order = records_queryset(Order.objects.filter(pk=order_id)).first()
    if order is None:
        raise Http404("No such order.")
    return order_record(order)


# --- CSV ----------------------------------------------------------------------------------


class _Echo:
    """A file-like object whose write() hands back the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).isoformat() if moment else ""


def _csv_rows(record: OrderRecord) -> Iterator[list[str]]:
    order, compliance = record.order, record.compliance
    head = [
        order.number,
        order.customer.email,
        _utc(compliance.properly_completed_at) if compliance else "",
        compliance.deadline.isoformat() if compliance and compliance.deadline else "",
        compliance.get_basis_display() if compliance else "",
    ]
    for entry in record.entries:
        yield [*head, _utc(entry.at), entry.what, entry.detail]


def records_csv_lines(records: Iterable[OrderRecord]) -> Iterator[str]:
    """The CSV export, line by line: CSV_HEADER, then one line per record row."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for record in records:
        for row in _csv_rows(record):
            yield writer.writerow(csv_row(row))


def _attachment(filename: str) -> str:
    return f'attachment; filename="{filename}"'


# --- views --------------------------------------------------------------------------------


def _staff_view(view: View) -> View:
    """Login and staff (to the admin login page), then the permission (403 without it)."""
    checked: View = staff_member_required(
        permission_required(PERMISSION, raise_exception=True)(view)
    )
    return checked


@require_safe
@_staff_view
def compliance_record_page(request: HttpRequest, order_id: int) -> HttpResponse:
    """Everything the rule asks us to keep for one order, as a page."""
    record = _get_record(order_id)
    context = {
        **admin.site.each_context(request),
        "title": f"Mail Order Rule record: order {record.order.number}",
        "record": record,
        "order": record.order,
        "compliance": record.compliance,
        "store_zone": store_zone(),
        "opts": OrderCompliance._meta,
    }
    return render(request, "compliance/record.html", context)


@require_safe
@_staff_view
def compliance_record_csv(request: HttpRequest, order_id: int) -> HttpResponse:
    record = _get_record(order_id)
    response = HttpResponse("".join(records_csv_lines([record])), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = _attachment(f"mail-order-rule-{record.order.number}.csv")
    return response


def _period(request: HttpRequest) -> tuple[dt.date, dt.date] | str:
    """The `from` and `to` dates (inclusive, store days), or what is wrong with them."""
    days = []
    for name in ("from", "to"):
        raw = request.GET.get(name, "").strip()
        if not raw:
            return f"Give both dates: '{name}' is missing (format YYYY-MM-DD)."
        try:
            days.append(dt.date.fromisoformat(raw))
        except ValueError:
            return f"'{name}' must be a date written YYYY-MM-DD, not '{raw[:40]}'."
    start, end = days
    if start > end:
        return f"'from' ({start}) is after 'to' ({end})."
    return export_period_problem(start, end) or (start, end)


def export_period_problem(start: dt.date, end: dt.date) -> str:
    """What is wrong with an export period beyond the dates any order can have, or ''."""
    latest = latest_date()
    if start < EARLIEST_DATE or end > latest:
        return (
            f"Export orders placed from {EARLIEST_DATE.isoformat()} to {latest.isoformat()} "
            f"at most, not {start.isoformat()} to {end.isoformat()}."
        )
    return ""


@require_safe
@_staff_view
def compliance_records_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The records of the orders placed from `from` to `to` (store days, both included).

    Each order's whole record is exported, including what happened after the period: a record
    cut at the period's end would not show whether the order was shipped, cancelled or refunded.
    """
    period = _period(request)
    if isinstance(period, str):
        context = {
            **admin.site.each_context(request),
            "title": "Export not possible",
            "problem": period,
            "opts": OrderCompliance._meta,
        }
        return render(request, "compliance/export_error.html", context, status=400)
    start, end = period
    zone = store_zone()
    orders = Order.objects.filter(
        placed_at__gte=dt.datetime.combine(start, dt.time(), tzinfo=zone),
        placed_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone),
    ).order_by("placed_at", "id")
    records = (
        order_record(order) for order in records_queryset(orders).iterator(chunk_size=EXPORT_CHUNK)
    )
    response = StreamingHttpResponse(records_csv_lines(records), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = _attachment(
        f"mail-order-rule-{start.isoformat()}-to-{end.isoformat()}.csv"
    )
    return response

"""The Mail Order Rule records as CSV: one row builder for every export of them.

The dashboard's period export and the admin's per-order download write the same columns, with
moments in the store's time zone and their offset (as every screen shows them) and every cell
neutralised against spreadsheet formulas (config.csv_cells).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from config.csv_cells import csv_row
from inventory.bounds import EARLIEST_DATE, latest_date
from orders.models import Order

from .selectors import OrderRecord, order_record

CSV_HEADER = (
    "order number",
    "customer email",
    "t0 (store time)",
    "deadline T",
    "basis",
    "event time (store time)",
    "event",
    "detail",
)


class _Echo:
    """A file-like object whose write() hands back the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def record_csv_rows(record: OrderRecord) -> Iterator[list[Any]]:
    """One row per entry of an order's record, each led by the order's t0, T and basis."""
    order, compliance = record.order, record.compliance
    head = [
        order.number,
        order.customer.email,
        compliance.properly_completed_at if compliance else None,
        compliance.deadline if compliance else None,
        compliance.get_basis_display() if compliance else "",
    ]
    for entry in record.entries:
        yield [*head, entry.at, entry.what, entry.detail]


def records_csv_lines(orders: Iterable[Order]) -> Iterator[str]:
    """The CSV, line by line: CSV_HEADER, then the rows of each order's record.

    `orders` come from compliance.selectors.records_queryset (their record in fixed queries).
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    for order in orders:
        for row in record_csv_rows(order_record(order)):
            yield writer.writerow(csv_row(row))


def export_period_problem(start: dt.date, end: dt.date) -> str:
    """What is wrong with an export period beyond the dates any order can have, or ''."""
    latest = latest_date()
    if start < EARLIEST_DATE or end > latest:
        return (
            f"Export orders placed from {EARLIEST_DATE.isoformat()} to {latest.isoformat()} "
            f"at most, not {start.isoformat()} to {end.isoformat()}."
        )
    return ""

"""Report: how each supplier kept its dates, from the receipts measured against their promise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse

from inventory.selectors import supplier_scorecards

from .base import ChartSpec, Column, Link, Report, Stat, percent


def _plain(value: Decimal | None) -> float | None:
    """A figure in days or moves: a Decimal cell would be shown as money."""
    return None if value is None else float(value)


def supplier_reliability(*, days: int, today: dt.date) -> Report:
    cards = supplier_scorecards(today=today, days=days)
    receipts = sum(card.receipts for card in cards)
    on_time = sum(card.on_time for card in cards)
    measured = [card for card in cards if card.receipts]
    return Report(
        slug="supplier-reliability",
        title="Supplier reliability",
        definition=(
            "Per supplier, the receipts of the period against the date first promised for their "
            "purchase-order line: the share on or before it, and the median and 90th-percentile "
            "slip in days (late positive, early negative). Fill rate: units received of the "
            "units ordered on lines first promised in the period that are closed or due; date "
            "moves: how often those lines' expected dates were changed, per line."
        ),
        stats=[
            Stat("Receipts", f"{receipts:,}"),
            Stat("On time", percent(on_time, receipts)),
            Stat("Suppliers measured", f"{len(measured):,}"),
        ],
        charts=[
            ChartSpec(
                "hbar",
                "On time (%)",
                [(card.name, card.on_time_percent or 0) for card in measured],
                "%",
            )
        ],
        columns=[
            Column("Supplier"),
            Column("Receipts", True),
            Column("On time", True),
            Column("Median slip (days)", True),
            Column("90th percentile slip (days)", True),
            Column("Fill rate", True),
            Column("Date moves per line", True),
        ],
        rows=[
            [
                Link(card.name, reverse("dashboard:supplier", args=[card.supplier_id])),
                card.receipts,
                percent(card.on_time, card.receipts),
                _plain(card.median_slip),
                card.p90_slip,
                percent(card.units_received, card.units_ordered),
                _plain(card.average_date_moves),
            ]
            for card in cards
        ],
    )

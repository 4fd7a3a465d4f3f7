"""How sure a waiting line's ETA is: the range its supplier's record gives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from inventory.selectors import DateRange, supply_date_ranges

from .models import EtaSource, OrderLine

__all__ = ["DateRange", "line_eta_ranges"]


def line_eta_ranges(*, lines: Iterable[OrderLine], today: dt.date) -> dict[int, DateRange]:
    """Each waiting line whose ETA rests on a purchase order from a supplier with enough
    history: its ETA padded by that supplier's measured slips, by line id."""
    waiting = [
        line
        for line in lines
        if line.quantity_backordered
        and line.eta is not None
        and line.eta_source == EtaSource.PURCHASE_ORDER
        and line.eta_reference
    ]
    ranges = supply_date_ranges(
        dated=[(line.eta_reference, line.eta) for line in waiting if line.eta], today=today
    )
    return {
        line.pk: ranges[key]
        for line in waiting
        if line.eta and (key := (line.eta_reference, line.eta)) in ranges
    }

"""The ETA walk: which supply covers a waiting line's last unit. Pure: no database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from inventory.selectors import Supply

from .models import EtaSource


@dataclass(frozen=True)
class Eta:
    date: dt.date | None
    source: str
    reference: str = ""

    def describe(self) -> str:
        if self.date is None:
            return "unknown"
        return f"{self.date:%Y-%m-%d} ({EtaSource(self.source).label.lower()})"


@dataclass
class EtaContext:
    """What one product's ETA computation needs: its open supply and its fallbacks."""

    supplies: list[Supply]
    today: dt.date
    lead_time_days: int | None
    handling_days: int
    is_discontinued: bool
    release_date: dt.date | None


class EtaWalker:
    """Covers backordered units one by one from the earliest supply, in queue order.

    A line's ETA is when its last unit is covered, plus the handling time. Units beyond all
    incoming supply are estimated from the lead time; with no lead time, or for a discontinued
    product, the date is unknown. A preorder never ships before its release date.
    """

    def __init__(self, context: EtaContext) -> None:
        self.context = context
        self._index = 0
        self._left = context.supplies[0].quantity if context.supplies else 0

    def skip(self, units: int) -> None:
        """Consume supply for units ahead in the queue."""
        self.take(units)

    def take(self, units: int) -> Eta:
        ctx = self.context
        supplies = ctx.supplies
        last: Supply | None = None
        while units > 0 and self._index < len(supplies):
            used = min(units, self._left)
            units -= used
            self._left -= used
            last = supplies[self._index]
            if self._left == 0:
                self._index += 1
                self._left = supplies[self._index].quantity if self._index < len(supplies) else 0
        if ctx.is_discontinued:
            return Eta(None, EtaSource.UNKNOWN)
        handling = dt.timedelta(days=ctx.handling_days)
        if units == 0 and last is not None:
            eta = Eta(
                max(last.expected_date, ctx.today) + handling,
                EtaSource.PURCHASE_ORDER,
                last.reference,
            )
        elif units == 0:
            # Nothing to cover (no backordered units): ready as soon as handled.
            eta = Eta(ctx.today + handling, EtaSource.PURCHASE_ORDER)
        elif ctx.lead_time_days is not None:
            eta = Eta(
                ctx.today + dt.timedelta(days=ctx.lead_time_days) + handling, EtaSource.LEAD_TIME
            )
        else:
            eta = Eta(None, EtaSource.UNKNOWN)
        release = ctx.release_date
        if release is not None and (eta.date is None or eta.date < release):
            return Eta(release, EtaSource.RELEASE)
        return eta


def new_line_eta(*, context: EtaContext, units_ahead: int, available: int, backordered: int) -> Eta:
    """The ETA a new line's backordered units get behind `units_ahead` waiting units."""
    walker = EtaWalker(context)
    walker.skip(max(0, units_ahead - available))
    return walker.take(backordered)

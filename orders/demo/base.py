"""The demo shop's state and the helpers every part of the story uses."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.utils import timezone

from config.calendar import store_zone
from inventory.models import Product, Supplier

from .catalog import DAYS, SEED, DemoSupplier


@dataclass
class Delivery:
    """How one purchase-order line really arrives: the supplier knows, the shop finds out."""

    # "late": announced late, then in full; "short": part now, the balance later; "early":
    # `delay_days` before the date; "unannounced": `delay_days` after it, with no warning
    kind: str
    delay_days: int
    reason: str = ""
    fraction: float = 1.0
    done: bool = False


@dataclass
class DemoSummary:
    products: int = 0
    suppliers: int = 0
    customers: int = 0
    orders: int = 0
    purchase_orders: int = 0
    multi_line_purchase_orders: int = 0
    receipts: int = 0
    short_receipts: int = 0
    reschedules: int = 0
    delays: int = 0  # reschedules because the supplier announced a delay
    purchase_orders_cancelled: int = 0
    shipments: int = 0
    cancellations: int = 0
    adjustments: int = 0
    refunds_issued: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    purchase_order_statuses: Counter[str] = field(default_factory=Counter)
    eta_sources: Counter[str] = field(default_factory=Counter)
    lines_backordered: int = 0
    units_backordered: int = 0
    refunds: int = 0
    refunds_open: int = 0
    waitlist_invitations: int = 0


def next_weekday(day: dt.date) -> dt.date:
    """Suppliers deliver Monday to Friday."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


@contextmanager
def simulated_clock(moment: dt.datetime | None) -> Iterator[None]:
    """Run a simulated day at its own date, so the timeline, receipts, ETAs and refunds carry
    that day's time (the clock then runs on from there). Uses time-machine when it is
    installed (it comes with the test tools); without it, everything is stamped "now"."""
    try:
        import time_machine
    except ImportError:  # pragma: no cover - production installs without the test tools
        yield
        return
    if moment is None:
        yield
        return
    with time_machine.travel(moment, tick=True):
        yield


class DemoBase:
    """The shop's state as the days go by: its suppliers, products, customers and what is
    still to happen (late deliveries, refunds to issue)."""

    def __init__(self, *, now: dt.datetime | None = None) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 - a repeatable story, not secrets
        self.tz = store_zone()
        self.now = timezone.localtime(now or timezone.now(), self.tz)
        self.today = self.now.date()
        self.start = self.today - dt.timedelta(days=DAYS)
        self.suppliers: dict[str, Supplier] = {}
        self.habits: dict[int, DemoSupplier] = {}  # by supplier id
        self.products: dict[str, Product] = {}
        self.by_id: dict[int, Product] = {}
        self.customers: list[tuple[str, str]] = []
        self.customer_weights: list[int] = []
        # PO line id -> how it will arrive; lines not in here arrive in full when expected.
        self.deliveries: dict[int, Delivery] = {}
        # Products whose purchase order was cancelled: the buyer re-sources, does not reorder.
        self.on_hold: set[int] = set()
        self.pending_refunds: list[tuple[dt.date, int]] = []
        self.summary = DemoSummary()

    # --- helpers ------------------------------------------------------------------------

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)

    def tracking_number(self, carrier: str) -> str:
        digits = self.rng.choices("0123456789", k=22)
        if carrier == "UPS":
            letters = "".join(self.rng.choices("ABCDEFGHJKLMNPRSTVWXY0123456789", k=6))
            return f"1Z{letters}03{''.join(digits[:8])}"
        if carrier == "USPS":
            return "9400" + "".join(digits[:18])
        return "".join(digits[:12])

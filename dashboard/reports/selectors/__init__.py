"""The reports: one module per report, each building a Report from the shared pieces in base."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from config.calendar import store_today

from .base import DEFAULT_PERIOD, PERIODS, Report
from .delay_cancellations import delay_cancellations
from .fill_rate import fill_rate
from .goodwill import goodwill_report
from .most_backordered import most_backordered
from .revenue_waiting import revenue_waiting
from .supplier_reliability import supplier_reliability
from .waits import eta_accuracy, wait_times

REPORTS: dict[str, tuple[str, Callable[..., Report]]] = {
    "most-backordered": ("Most backordered", most_backordered),
    "wait-times": ("Wait times", wait_times),
    "eta-accuracy": ("ETA accuracy", eta_accuracy),
    "fill-rate": ("Fill rate", fill_rate),
    "delay-cancellations": ("Delay cancellations", delay_cancellations),
    "revenue-waiting": ("Revenue waiting", revenue_waiting),
    "supplier-reliability": ("Supplier reliability", supplier_reliability),
    "goodwill": ("Goodwill", goodwill_report),
}


def report(*, slug: str, days: int = DEFAULT_PERIOD, now: dt.datetime | None = None) -> Report:
    """One report by its slug (KeyError for an unknown one), over the last `days` store days."""
    _, build = REPORTS[slug]
    if days not in PERIODS:
        days = DEFAULT_PERIOD
    return build(days=days, today=store_today(now or timezone.now()))

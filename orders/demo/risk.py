"""The demo's worried customers: some of those still waiting open their order's status page
again and again, more often the longer they have waited, so the cancellation risk list has
customers to show."""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Min

from ..models import Order
from ..services import order_status_view_record
from .catalog import SEED

# How many times a waiting customer opens the page, before their wait adds to it.
OPENS = (0, 1, 2, 3)
OPENS_WEIGHTS = (6, 3, 2, 1)
WAIT_DAYS_PER_EXTRA_OPEN = 14
MAX_OPENS = 7


def status_page_opens(*, now: dt.datetime) -> int:
    """Record the waiting customers' status page opens (over the hours before `now`); its own
    seeded generator leaves the rest of the story unchanged. Returns the opens recorded."""
    rng = random.Random(SEED + 1)  # noqa: S311 - a repeatable story, not secrets
    waiting = (
        Order.objects.filter(lines__quantity_backordered__gt=0)
        .annotate(waiting_since=Min("lines__queued_at"))
        .order_by("pk")
        .values_list("pk", "waiting_since")
    )
    recorded = 0
    for order_id, waiting_since in waiting:
        opens = rng.choices(OPENS, weights=OPENS_WEIGHTS)[0]
        if opens:
            opens += (now - waiting_since).days // WAIT_DAYS_PER_EXTRA_OPEN
        opens = min(opens, MAX_OPENS)
        for hours_before in range(5 * (opens - 1), -1, -5):  # the latest open last
            order_status_view_record(order_id=order_id, now=now - dt.timedelta(hours=hours_before))
        recorded += opens
    return recorded

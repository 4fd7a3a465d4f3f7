"""Report: goodwill — do delayed orders that got a gesture cancel less than those that did
not?

Plainly, over the orders placed in the period:

- **delayed**: an order that got a goodwill gesture; or one whose ETA moved later (a dated
  line moved to a later or unknown date); or one with a backordered line that waited longer
  than N store days — still waiting N days after it was placed, given its units more than N
  days after, or cancelled more than N days after. N is the shortest "wait longer than" of the
  goodwill rules (with no such rule, only a moved ETA makes an order delayed).
- **cancelled**: at least one unit of the order was cancelled (not counting units replaced
  by a substitute the customer accepted).
- **with goodwill**: the order was granted a gesture; **without**: every other delayed order.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, F, OuterRef, Q

from config.calendar import start_of_store_day, store_date
from config.formats import format_money
from orders.goodwill.selectors import eta_moved_later, goodwill_budget_used
from orders.models import GoodwillGrant, GoodwillRule, Order, OrderEvent, OrderLine

from .base import ChartSpec, Column, Report, Stat, order_link, percent, period_start


def delay_threshold_days() -> int | None:
    """N: the shortest wait of the long-wait rules, None without one."""
    days = (
        GoodwillRule.objects.filter(trigger=GoodwillRule.Trigger.LONG_WAIT, wait_days__isnull=False)
        .order_by("wait_days")
        .values_list("wait_days", flat=True)
        .first()
    )
    return days


def _rate_text(cancelled: int, delayed: int) -> str:
    return f"{percent(cancelled, delayed)} of {delayed:,}" if delayed else "—"


def goodwill_report(*, days: int, today: dt.date) -> Report:
    since = period_start(days, today)
    threshold = delay_threshold_days()
    orders = Order.objects.filter(placed_at__gte=since).annotate(
        granted=Exists(GoodwillGrant.objects.filter(order=OuterRef("pk"))),
        cancelled=Exists(
            OrderLine.objects.filter(
                order=OuterRef("pk"), quantity_cancelled__gt=F("quantity_substituted")
            )
        ),
    )
    if threshold is not None:
        late = dt.timedelta(days=threshold)
        # A line that waited (only those get an ETA) past N store days after placing.
        cutoff = start_of_store_day(today - late)
        waited = OrderLine.objects.filter(order=OuterRef("pk")).exclude(eta_source="")
        orders = orders.annotate(
            waited_long=Exists(
                waited.filter(
                    Q(quantity_backordered__gt=0, order__placed_at__lt=cutoff)
                    | Q(last_allocated_at__gt=F("order__placed_at") + late)
                )
            )
            | (
                Exists(waited.filter(quantity_cancelled__gt=0))
                & Exists(
                    OrderEvent.objects.filter(
                        order=OuterRef("pk"),
                        kind=OrderEvent.Kind.CANCELLED,
                        created_at__gt=OuterRef("placed_at") + late,
                    )
                )
            )
        )
    rows_by_order = {
        row["pk"]: row
        for row in orders.values(
            "pk",
            "number",
            "placed_at",
            "granted",
            "cancelled",
            *(["waited_long"] if threshold is not None else []),
        )
    }
    moved = {
        order_id
        for order_id, data in OrderEvent.objects.filter(
            order__placed_at__gte=since, kind=OrderEvent.Kind.ETA_CHANGED
        ).values_list("order_id", "data")
        if eta_moved_later(data or {})
    }
    gestures = dict(
        GoodwillGrant.objects.filter(order__placed_at__gte=since).values_list("order_id", "gesture")
    )
    labels = dict(GoodwillRule.Gesture.choices)
    counts = {True: [0, 0], False: [0, 0]}  # with goodwill?: [delayed, cancelled]
    rows = []
    for order_id, row in sorted(rows_by_order.items(), key=lambda kv: kv[1]["placed_at"]):
        why = []
        if row.get("waited_long"):
            why.append(f"waited over {threshold} days")
        if order_id in moved:
            why.append("ETA moved later")
        if not why and not row["granted"]:
            continue
        counts[row["granted"]][0] += 1
        counts[row["granted"]][1] += row["cancelled"]
        rows.append(
            [
                order_link(order_id, row["number"]),
                store_date(row["placed_at"]),
                ", ".join(why).capitalize() or "Goodwill granted",
                labels.get(gestures.get(order_id, ""), "—"),
                "Yes" if row["cancelled"] else "No",
            ]
        )
    (with_n, with_c), (without_n, without_c) = counts[True], counts[False]
    rate = {
        True: 100 * with_c / with_n if with_n else 0,
        False: 100 * without_c / without_n if without_n else 0,
    }
    return Report(
        slug="goodwill",
        title="Goodwill",
        definition=(
            "Orders placed in the period that were delayed: given a goodwill gesture, an ETA "
            "moved later, or a backordered line that waited longer than "
            + (f"{threshold} days" if threshold is not None else "a rule's days (no rule yet)")
            + " (still waiting, allocated or cancelled after that). Cancelled: at least one "
            "unit cancelled. Budget used: grants made this calendar month, store time."
        ),
        stats=[
            Stat("Delayed orders", f"{with_n + without_n:,}"),
            Stat(
                "Cancelled with goodwill",
                _rate_text(with_c, with_n),
                "",
            ),
            Stat(
                "Cancelled without goodwill",
                _rate_text(without_c, without_n),
                "bad" if without_n and rate[False] > rate[True] else "",
            ),
            Stat(
                "Goodwill budget used this month",
                format_money(goodwill_budget_used(now=start_of_store_day(today))),
            ),
        ],
        charts=[
            ChartSpec(
                "bar",
                "Cancellation rate of delayed orders, with and without goodwill",
                [("With", round(rate[True], 1)), ("Without", round(rate[False], 1))],
                "%",
            )
        ],
        columns=[
            Column("Order"),
            Column("Placed"),
            Column("Delayed because"),
            Column("Goodwill"),
            Column("Cancelled"),
        ],
        rows=rows,
    )

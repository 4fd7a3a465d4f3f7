"""Reads for the dashboard overview: a fixed number of queries whatever the amount of data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from compliance.models import OrderCompliance
from compliance.selectors import at_risk_lines_q
from config.calendar import start_of_store_day, store_date, store_today, store_zone
from notifications.models import Notification
from orders.models import Order, OrderEvent, OrderLine, Refund, ShipmentLine

SERIES_DAYS = (30, 90)
# (label, first day, last day or None for "and older") of a waiting line's age in days.
WAIT_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–7 days", 0, 7),
    ("8–14 days", 8, 14),
    ("15–30 days", 15, 30),
    ("Over 30 days", 31, None),
)
ANSWER_AWAITED = (
    OrderCompliance.State.NOTICE_SENT,
    OrderCompliance.State.RENEWED_NOTICE_SENT,
)
UNDELIVERABLE = (Notification.State.BOUNCED, Notification.State.COMPLAINED)


def money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def chart_label(sku: str, name: str, *, limit: int = 24) -> str:
    """A product as a chart label, short enough for the chart's label column."""
    label = f"{sku} {name}".strip()
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def waiting_lines() -> Any:
    return OrderLine.objects.filter(quantity_backordered__gt=0)


def revenue_expression() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("quantity_backordered") * F("unit_price"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


# --- the stats ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingStats:
    units: int
    lines: int
    orders: int
    revenue: Decimal
    oldest_queued_at: dt.datetime | None
    oldest_days: int | None
    at_risk_lines: int
    at_risk_orders: int
    buckets: list[tuple[str, int]]


def waiting_stats(*, today: dt.date | None = None) -> WaitingStats:
    """Everything about the waiting lines in one aggregate query; "at risk" is the rule's
    definition (compliance.selectors.at_risk_lines_q)."""
    today = today or store_today()
    at_risk = at_risk_lines_q()
    bucket_filters = {}
    for index, (_, first, last) in enumerate(WAIT_BUCKETS):
        # Age in days is today − the store date of queued_at.
        condition = Q(queued_at__lt=start_of_store_day(today - dt.timedelta(days=first - 1)))
        if last is not None:
            condition &= Q(queued_at__gte=start_of_store_day(today - dt.timedelta(days=last)))
        bucket_filters[f"bucket_{index}"] = Count("id", filter=condition)
    row = waiting_lines().aggregate(
        units=Coalesce(Sum("quantity_backordered"), 0),
        lines=Count("id"),
        orders=Count("order_id", distinct=True),
        revenue=Sum(revenue_expression()),
        oldest=Min("queued_at"),
        at_risk_lines=Count("id", filter=at_risk),
        at_risk_orders=Count("order_id", filter=at_risk, distinct=True),
        **bucket_filters,
    )
    oldest = row["oldest"]
    return WaitingStats(
        units=row["units"],
        lines=row["lines"],
        orders=row["orders"],
        revenue=money(row["revenue"]),
        oldest_queued_at=oldest,
        oldest_days=(today - store_date(oldest)).days if oldest else None,
        at_risk_lines=row["at_risk_lines"],
        at_risk_orders=row["at_risk_orders"],
        buckets=[(label, row[f"bucket_{i}"]) for i, (label, _, _) in enumerate(WAIT_BUCKETS)],
    )


@dataclass(frozen=True)
class FollowUps:
    notices_awaiting: int
    refunds_due: int
    refunds_due_amount: Decimal
    refunds_overdue: int
    undeliverable_emails: int
    unreachable_orders: int


def follow_ups(*, today: dt.date | None = None) -> FollowUps:
    """Notices awaiting an answer, refunds owed, emails that did not reach the customer."""
    today = today or store_today()
    notices = OrderCompliance.objects.filter(state__in=ANSWER_AWAITED).count()
    refunds = Refund.objects.filter(issued_at=None).aggregate(
        due=Count("id"),
        amount=Sum("amount"),
        overdue=Count("id", filter=Q(due_date__lt=today)),
    )
    emails = Notification.objects.filter(state__in=UNDELIVERABLE).aggregate(n=Count("id"))["n"]
    unreachable = Order.objects.filter(customer_unreachable_at__isnull=False).count()
    return FollowUps(
        notices_awaiting=notices,
        refunds_due=refunds["due"],
        refunds_due_amount=money(refunds["amount"]),
        refunds_overdue=refunds["overdue"],
        undeliverable_emails=emails,
        unreachable_orders=unreachable,
    )


def top_backordered_products(*, limit: int = 10) -> list[dict[str, Any]]:
    """The products with the most units waiting now, with lines and revenue waiting."""
    return list(
        waiting_lines()
        .values("product_id", "product__sku", "product__name")
        .annotate(
            units=Sum("quantity_backordered"),
            lines=Count("id"),
            revenue=Sum(revenue_expression()),
        )
        .order_by("-units", "product__sku")[:limit]
    )


# --- backordered units day by day --------------------------------------------------------


def placed_backorders(data: Any) -> dict[str, int]:
    """SKU → units backordered when the order was placed, from its PLACED event's data.

    SKUs are unique within an order, so a SKU names one line of the order.
    """
    result: dict[str, int] = {}
    entries = data.get("lines", []) if isinstance(data, dict) else []
    for entry in entries:
        try:
            result[str(entry["sku"])] = int(entry.get("backordered") or 0)
        except (KeyError, TypeError, ValueError):
            continue
    return result


def latest_cancellation() -> Subquery:
    return Subquery(
        OrderEvent.objects.filter(order=OuterRef("order_id"), kind=OrderEvent.Kind.CANCELLED)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )


def latest_shipment() -> Subquery:
    return Subquery(
        ShipmentLine.objects.filter(order_line=OuterRef("pk"))
        .order_by("-shipment__shipped_at")
        .values("shipment__shipped_at")[:1]
    )


def placed_event_data() -> Subquery:
    return Subquery(
        OrderEvent.objects.filter(order=OuterRef("order_id"), kind=OrderEvent.Kind.PLACED)
        .order_by("-created_at", "-id")
        .values("data")[:1]
    )


@dataclass(frozen=True)
class Wait:
    """One line's wait: `units` from `start` until `end` (None: still waiting)."""

    start: dt.datetime
    end: dt.datetime | None
    units: int


def wait_end(line: Mapping[str, Any], *, backordered_at_placement: int) -> dt.datetime:
    """When a line that no longer waits stopped waiting (see backordered_series)."""
    queued_at: dt.datetime = line["queued_at"]
    taken_at_placement = line["quantity"] - backordered_at_placement
    ends = []
    if line["quantity_allocated"] + line["quantity_shipped"] > taken_at_placement:
        # Stock reached backordered units: at the last allocation, which cannot be later than
        # the shipment that carried them (history loaded after the fact may say otherwise).
        got_stock = [
            moment
            for moment in (line["last_allocated_at"], line["last_shipped_at"])
            if moment is not None and moment > queued_at
        ]
        if got_stock:
            ends.append(min(got_stock))
    if line["quantity_cancelled"] and line["cancelled_at"] is not None:
        ends.append(line["cancelled_at"])
    return max(ends) if ends else queued_at


def waiting_by_store_day() -> list[Wait]:
    """The lines still waiting, summed by the store day they were queued: one query.

    Each day's waits start at the start of that day, which is all the series looks at.
    """
    rows = (
        waiting_lines()
        .annotate(day=TruncDate("queued_at", tzinfo=store_zone()))
        .values("day")
        .annotate(units=Sum("quantity_backordered"))
        .order_by()
    )
    return [Wait(start_of_store_day(row["day"]), None, row["units"]) for row in rows]


def waits_ended_since(*, since: dt.datetime) -> list[Wait]:
    """The waits of the lines that once waited (only they get an ETA), wait no longer and were
    allocated, shipped or cancelled since `since`: one query.

    The partial index orderline_waited_idx holds exactly the lines that waited and wait no
    longer, so the lines that never waited (most of them) are never read.
    """
    rows = (
        OrderLine.objects.filter(quantity_backordered=0)
        .exclude(eta_source="")
        .filter(
            Q(last_allocated_at__gte=since)
            | Exists(
                ShipmentLine.objects.filter(
                    order_line=OuterRef("pk"), shipment__shipped_at__gte=since
                )
            )
            | Exists(
                OrderEvent.objects.filter(
                    order=OuterRef("order_id"),
                    kind=OrderEvent.Kind.CANCELLED,
                    created_at__gte=since,
                )
            )
        )
        .annotate(
            last_shipped_at=latest_shipment(),
            cancelled_at=latest_cancellation(),
            placed_data=placed_event_data(),
        )
        .values(
            "product__sku",
            "quantity",
            "quantity_allocated",
            "quantity_shipped",
            "quantity_cancelled",
            "queued_at",
            "last_allocated_at",
            "last_shipped_at",
            "cancelled_at",
            "placed_data",
        )
        .order_by()
    )
    waits = []
    for line in rows:
        units = placed_backorders(line["placed_data"]).get(line["product__sku"], 0)
        if units > 0:
            end = wait_end(line, backordered_at_placement=units)
            waits.append(Wait(line["queued_at"], end, units))
    return waits


def waits_overlapping(*, since: dt.datetime) -> list[Wait]:
    """The waits of every line that waited at some moment since `since`: two queries."""
    return waiting_by_store_day() + waits_ended_since(since=since)


def daily_waiting_units(
    waits: Iterable[Wait], *, first_day: dt.date, today: dt.date
) -> list[tuple[dt.date, int]]:
    """Units waiting at the end of each store day from first_day to today (today: now)."""
    size = (today - first_day).days + 1
    delta = [0] * (size + 1)
    for wait in waits:
        # Counted on every day from the day it was queued up to, not including, the day the
        # wait ended: a line queued and served on the same day never shows.
        begin = max(0, (store_date(wait.start) - first_day).days)
        stop = size if wait.end is None else (store_date(wait.end) - first_day).days
        stop = min(stop, size)
        if begin < stop:
            delta[begin] += wait.units
            delta[stop] -= wait.units
    series = []
    running = 0
    for index in range(size):
        running += delta[index]
        series.append((first_day + dt.timedelta(days=index), running))
    return series


def backordered_series(*, days: int, today: dt.date | None = None) -> list[tuple[dt.date, int]]:
    """Backordered units at the end of each of the last `days` store days.

    Lines are not snapshotted daily, so the series is rebuilt from each line's history:
    - a line still waiting counts with its backordered units now, from its queued_at on
      (earlier partial allocations are not replayed, so its past is slightly understated);
    - a line that waited and no longer does counts with the units backordered when it was
      placed (its PLACED event) from queued_at until its wait ended: when stock reached it
      (last_allocated_at, capped by its last shipment date) and/or when it was cancelled (the
      order's latest CANCELLED event), whichever came last;
    - lines that only waited after stock was taken back from them are left out.
    Today's point therefore equals the "Backordered units" figure.
    """
    today = today or store_today()
    first_day = today - dt.timedelta(days=days - 1)
    waits = waits_overlapping(since=start_of_store_day(first_day))
    return daily_waiting_units(waits, first_day=first_day, today=today)


# --- the screen --------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    today: dt.date
    now: dt.datetime
    waiting: WaitingStats
    follow_ups: FollowUps
    top_products: list[dict[str, Any]]
    series_days: int
    series: list[tuple[dt.date, int]]


def figures_version() -> tuple[int, int]:
    """What the overview's figures were computed from, in two index look-ups: the latest order
    event (every service that changes an order, its lines, refunds or Mail Order Rule record
    writes one) and the latest email."""
    last_event = OrderEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    last_email = Notification.objects.order_by("-pk").values_list("pk", flat=True).first()
    return last_event or 0, last_email or 0


def overview(*, series_days: int = 30, now: dt.datetime | None = None) -> Overview:
    """The overview screen's figures. Over hundreds of thousands of waiting lines they take
    seconds to compute, so they are kept (settings.OVERVIEW_CACHE_SECONDS at most) for as long
    as nothing changed: the key holds the store day and figures_version(), so any order change
    or new email recomputes them on the next visit. Two queries when kept, ten otherwise."""
    now = now or timezone.now()
    if series_days not in SERIES_DAYS:
        series_days = SERIES_DAYS[0]
    seconds = settings.OVERVIEW_CACHE_SECONDS
    if seconds <= 0:
        return overview_compute(series_days=series_days, now=now)
    # An event numbered before the latest may commit after it (ids are taken at insert): the
    # figures computed in between miss it until the key expires, hence the short time limit.
    last_event, last_email = figures_version()
    key = f"dashboard:overview:{store_today(now)}:{series_days}:{last_event}:{last_email}"
    figures = cache.get(key)
    if isinstance(figures, Overview):
        return figures
    figures = overview_compute(series_days=series_days, now=now)
    cache.set(key, figures, seconds)
    return figures


def overview_compute(*, series_days: int = 30, now: dt.datetime | None = None) -> Overview:
    """The overview screen's figures, computed now: eight queries."""
    now = now or timezone.now()
    today = store_today(now)
    if series_days not in SERIES_DAYS:
        series_days = SERIES_DAYS[0]
    return Overview(
        today=today,
        now=now,
        waiting=waiting_stats(today=today),
        follow_ups=follow_ups(today=today),
        top_products=top_backordered_products(),
        series_days=series_days,
        series=backordered_series(days=series_days, today=today),
    )

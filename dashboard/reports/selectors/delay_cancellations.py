"""Report: cancellations caused by delay."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, Subquery

from compliance.models import DelayNotice
from config.calendar import store_date
from config.formats import format_money
from orders.models import OrderEvent

from ...overview.selectors import (
    money,
)
from .base import (
    ChartSpec,
    Column,
    Report,
    Stat,
    order_link,
    percent,
    period_start,
    week_label,
    week_start,
    weeks_between,
)

# --- cancellations caused by delay -------------------------------------------------------


def delay_cancellations(*, days: int, today: dt.date) -> Report:
    since = period_start(days, today)
    first_notice = Subquery(
        DelayNotice.objects.filter(order=OuterRef("order_id"))
        .order_by("sent_at", "id")
        .values("sent_at")[:1]
    )
    cancellations = OrderEvent.objects.filter(
        kind=OrderEvent.Kind.CANCELLED, created_at__gte=since
    ).annotate(first_notice_at=first_notice)
    caused_by_delay = Q(data__cause="mail_order_rule") | Q(
        data__cause="customer", first_notice_at__lte=F("created_at")
    )
    totals = cancellations.aggregate(all=Count("id"), by_delay=Count("id", filter=caused_by_delay))
    events = list(
        cancellations.filter(caused_by_delay)
        .values("order_id", "order__number", "created_at", "data")
        .order_by("-created_at", "-id")
    )
    weeks = weeks_between(store_date(since), today)
    per_week: Counter[dt.date] = Counter()
    rows = []
    refund_total = Decimal("0")
    units_total = 0
    for event in events:
        data = event["data"] or {}
        units = sum(int(x.get("cancelled") or 0) for x in data.get("lines", []))
        refund = money(data.get("refund"))
        day = store_date(event["created_at"])
        per_week[week_start(day)] += 1
        refund_total += refund
        units_total += units
        rows.append(
            [
                order_link(event["order_id"], event["order__number"]),
                day,
                "Mail Order Rule" if data.get("cause") == "mail_order_rule" else "Customer",
                units,
                refund,
                str(data.get("reason", "")),
            ]
        )
    return Report(
        slug="delay-cancellations",
        title="Cancellations caused by delay",
        definition=(
            "Cancellations in the period made under the Mail Order Rule (no consent to a "
            "delay), or asked for by the customer after a delay notice had been sent for the "
            "order."
        ),
        stats=[
            Stat("Cancelled because of delay", f"{len(rows):,}", "bad" if rows else ""),
            Stat("Of all cancellations", percent(totals["by_delay"], totals["all"])),
            Stat("Orders", f"{len({e['order_id'] for e in events}):,}"),
            Stat("Units", f"{units_total:,}"),
            Stat("Refunds owed", format_money(refund_total)),
        ],
        charts=[
            ChartSpec(
                "bar",
                "Cancellations caused by delay, by week",
                [(week_label(week), per_week[week]) for week in weeks],
                " cancellations",
            )
        ],
        columns=[
            Column("Order"),
            Column("Date"),
            Column("Cause"),
            Column("Units", True),
            Column("Refund", True),
            Column("Reason"),
        ],
        rows=rows,
    )

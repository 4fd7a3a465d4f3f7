"""Dashboard: overview — what waits, what is at risk, what needs an answer."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from config.formats import count_noun, format_money

from ..access import can_manage, operations_required
from ..charts import bar_chart, hbar_chart, line_chart
from ..lists.filters import AWAITING_ANSWER
from ..params import choice_param
from .selectors import SERIES_DAYS, chart_label
from .selectors import overview as overview_figures


@dataclass(frozen=True)
class Stat:
    label: str
    value: str
    href: str = ""
    tone: str = ""
    note: str = ""


def units(value: int) -> str:
    return f"{value:,}"


def dollars(value: Decimal) -> str:
    return format_money(value)


def wait_words(days: int | None) -> str:
    if days is None:
        return "—"
    return "under a day" if days == 0 else count_noun(days, "day")


def series_days(request: HttpRequest) -> int:
    return choice_param(request, "days", SERIES_DAYS, SERIES_DAYS[0])


@operations_required
def overview(request: HttpRequest) -> HttpResponse:
    figures = overview_figures(series_days=series_days(request))
    waiting, follow = figures.waiting, figures.follow_ups
    manager = can_manage(request.user)
    # Every count links to the list that shows exactly what it counts.
    queue = reverse("dashboard:queue")
    orders = reverse("dashboard:orders")
    compliance = reverse("dashboard:compliance") if manager else ""
    revenue_report = reverse("dashboard:reports") + "?report=revenue-waiting" if manager else queue
    oldest_days = waiting.oldest_days
    stats = [
        Stat("Backordered units", units(waiting.units), queue),
        Stat("Backordered lines", units(waiting.lines), queue),
        Stat("Orders waiting", units(waiting.orders), f"{orders}?backordered=1"),
        Stat("Revenue waiting", dollars(waiting.revenue), revenue_report),
        Stat(
            "Oldest wait",
            "—"
            if oldest_days is None
            else "under a day"
            if oldest_days == 0
            else count_noun(oldest_days, "day"),
            # The queue with the longest wait on top.
            f"{queue}?sort=-waited",
            tone="bad" if (oldest_days or 0) > 30 else "warn" if (oldest_days or 0) > 14 else "",
        ),
        Stat(
            "Lines at risk",
            units(waiting.at_risk_lines),
            f"{queue}?at_risk=1",
            tone="bad" if waiting.at_risk_lines else "",
            note=f"{waiting.at_risk_orders} orders" if waiting.at_risk_lines else "",
        ),
        Stat(
            "Notices awaiting answers",
            units(follow.notices_awaiting),
            f"{orders}?consent={AWAITING_ANSWER}",
            tone="warn" if follow.notices_awaiting else "",
        ),
        Stat(
            "Refunds due",
            units(follow.refunds_due),
            f"{compliance}#refunds" if compliance else "",
            tone="bad" if follow.refunds_overdue else "warn" if follow.refunds_due else "",
            note=(
                f"{dollars(follow.refunds_due_amount)}, {follow.refunds_overdue} overdue"
                if follow.refunds_due
                else ""
            ),
        ),
        Stat(
            "Customers unreachable",
            units(follow.unreachable_orders),
            f"{orders}?unreachable=1",
            tone="warn" if follow.unreachable_orders else "",
            note=f"{follow.undeliverable_emails} emails bounced or marked spam",
        ),
    ]
    days = figures.series_days
    charts = {
        "series": line_chart(
            f"Backordered units at the end of each day, last {days} days",
            [(f"{day:%b} {day.day}", value) for day, value in figures.series],
            unit=" units",
        ),
        "buckets": bar_chart(
            "Waiting lines by how long they have waited", waiting.buckets, unit=" lines"
        ),
        "top": hbar_chart(
            "Top 10 backordered products (units waiting)",
            [
                (chart_label(p["product__sku"], p["product__name"]), p["units"])
                for p in figures.top_products
            ],
            unit=" units",
        ),
    }
    return render(
        request,
        "dashboard/overview/overview.html",
        {
            "figures": figures,
            "stats": stats,
            "charts": charts,
            "series_choices": SERIES_DAYS,
        },
    )


urlpatterns = [
    path("", overview, name="overview"),
]

"""Report: revenue waiting for stock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, Sum

from config.formats import format_money
from orders.models import OrderLine

from ...overview.selectors import (
    chart_label,
    money,
    revenue_expression,
)
from .base import ChartSpec, Column, Report, Stat, product_link

# --- revenue waiting ---------------------------------------------------------------------

ETA_HORIZONS: tuple[tuple[str, int | None], ...] = (
    ("≤ 7 days", 7),
    ("8–30 days", 30),
    ("Later", None),
)


def revenue_waiting(*, days: int, today: dt.date) -> Report:
    waiting = OrderLine.objects.filter(quantity_backordered__gt=0)
    horizons: dict[str, Any] = {}
    previous: dt.date | None = None
    for index, (_, within) in enumerate(ETA_HORIZONS):
        condition = Q(eta__isnull=False)
        if previous is not None:
            condition &= Q(eta__gt=previous)
        if within is not None:
            limit = today + dt.timedelta(days=within)
            condition &= Q(eta__lte=limit)
            previous = limit
        horizons[f"h{index}"] = Sum(revenue_expression(), filter=condition)
    totals = waiting.aggregate(
        revenue=Sum(revenue_expression()),
        units=Sum("quantity_backordered"),
        orders=Count("order_id", distinct=True),
        unknown=Sum(revenue_expression(), filter=Q(eta__isnull=True)),
        **horizons,
    )
    products = list(
        waiting.values("product_id", "product__sku", "product__name")
        .annotate(
            revenue=Sum(revenue_expression()),
            units=Sum("quantity_backordered"),
            lines=Count("id"),
            orders=Count("order_id", distinct=True),
            latest_eta=Max("eta"),
        )
        .order_by("-revenue", "product__sku")
    )
    for product in products:
        product["revenue"] = money(product["revenue"])
    horizon_rows: list[tuple[str, int | float | Decimal]] = [
        (label, int(money(totals[f"h{i}"]))) for i, (label, _) in enumerate(ETA_HORIZONS)
    ]
    horizon_rows.append(("No date", int(money(totals["unknown"]))))
    return Report(
        slug="revenue-waiting",
        title="Revenue waiting on backorders",
        definition=(
            "Backordered units times their unit price, for every line waiting now, by "
            "product; and by when the ETA says it will ship. Not limited to the period."
        ),
        stats=[
            Stat("Revenue waiting", format_money(money(totals["revenue"]))),
            Stat("Units waiting", f"{totals['units'] or 0:,}"),
            Stat("Orders waiting", f"{totals['orders']:,}"),
            Stat(
                "With no ETA",
                format_money(money(totals["unknown"])),
                "warn" if totals["unknown"] else "",
            ),
        ],
        charts=[
            ChartSpec(
                "hbar",
                "Top 10 products by revenue waiting ($)",
                [
                    (chart_label(p["product__sku"], p["product__name"]), int(p["revenue"]))
                    for p in products[:10]
                ],
            ),
            ChartSpec("bar", "Revenue waiting by expected ship date ($)", horizon_rows),
        ],
        columns=[
            Column("SKU"),
            Column("Product"),
            Column("Revenue waiting", True),
            Column("Units", True),
            Column("Lines", True),
            Column("Orders", True),
            Column("Latest ETA"),
        ],
        rows=[
            [
                product_link(p["product_id"], p["product__sku"]),
                p["product__name"],
                p["revenue"],
                p["units"],
                p["lines"],
                p["orders"],
                p["latest_eta"],
            ]
            for p in products
        ],
        uses_period=False,
    )

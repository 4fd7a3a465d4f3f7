"""Report: the most backordered products."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from django.db.models import Q, Sum

from inventory.models import Product

from ...overview.selectors import (
    chart_label,
)
from .base import (
    ChartSpec,
    Column,
    Report,
    Stat,
    period_start,
    placed_lines,
    product_link,
)

# --- most backordered products -----------------------------------------------------------


def most_backordered(*, days: int, today: dt.date) -> Report:
    since = period_start(days, today)
    lines = [
        line
        for line in placed_lines(order_filter=Q(order__placed_at__gte=since))
        if line.backordered > 0
    ]
    orders: dict[str, set[int]] = defaultdict(set)
    units: Counter[str] = Counter()
    ordered: Counter[str] = Counter()
    for line in lines:
        orders[line.sku].add(line.order_id)
        units[line.sku] += line.backordered
        ordered[line.sku] += line.quantity
    products: dict[str, dict[str, Any]] = {
        p["sku"]: dict(p)
        for p in Product.objects.filter(sku__in=list(orders))
        .annotate(
            waiting_now=Sum(
                "order_lines__quantity_backordered",
                filter=Q(order_lines__quantity_backordered__gt=0),
            )
        )
        .values("id", "sku", "name", "waiting_now")
    }
    ranked = sorted(orders, key=lambda sku: (-len(orders[sku]), -units[sku], sku))
    rows = []
    for sku in ranked:
        product = products.get(sku, {"id": None, "name": "", "waiting_now": 0})
        rows.append(
            [
                product_link(product["id"], sku) if product["id"] else sku,
                product["name"],
                len(orders[sku]),
                units[sku],
                ordered[sku],
                product["waiting_now"] or 0,
            ]
        )
    names: dict[str, str] = {sku: product["name"] for sku, product in products.items()}
    by_units = sorted(ranked, key=lambda sku: (-units[sku], -len(orders[sku]), sku))
    return Report(
        slug="most-backordered",
        title="Most backordered products",
        definition=(
            "Orders placed in the period in which the product could not be served from stock, "
            "and the units backordered on them at the time of the order (from each order's "
            "placement record). “Waiting now” is what still waits today, whenever ordered."
        ),
        stats=[
            Stat("Products backordered", f"{len(orders):,}"),
            Stat("Orders with a backorder", f"{len({x.order_id for x in lines}):,}"),
            Stat("Units backordered", f"{sum(units.values()):,}"),
        ],
        charts=[
            ChartSpec(
                "hbar",
                "Top 10 by orders with a backorder",
                [(chart_label(sku, names.get(sku, "")), len(orders[sku])) for sku in ranked[:10]],
            ),
            ChartSpec(
                "hbar",
                "Top 10 by units backordered",
                [(chart_label(sku, names.get(sku, "")), units[sku]) for sku in by_units[:10]],
            ),
        ],
        columns=[
            Column("SKU"),
            Column("Product"),
            Column("Orders backordered", True),
            Column("Units backordered", True),
            Column("Units ordered", True),
            Column("Waiting now", True),
        ],
        rows=rows,
    )

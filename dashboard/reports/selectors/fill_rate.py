"""Report: the fill rate, units shipped from stock at once."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from django.db.models import Q

from config.calendar import store_date
from inventory.models import Product

from .base import (
    ChartSpec,
    Column,
    Report,
    Stat,
    percent,
    period_start,
    placed_lines,
    product_link,
    week_label,
    week_start,
    weeks_between,
)

# --- fill rate ---------------------------------------------------------------------------


def fill_rate(*, days: int, today: dt.date) -> Report:
    since = period_start(days, today)
    lines = placed_lines(order_filter=Q(order__placed_at__gte=since))
    weeks = weeks_between(store_date(since), today)
    ordered_by_week: Counter[dt.date] = Counter()
    filled_by_week: Counter[dt.date] = Counter()
    per_product: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    order_full: dict[int, bool] = {}
    for line in lines:
        week = week_start(store_date(line.placed_at))
        ordered_by_week[week] += line.quantity
        filled_by_week[week] += line.allocated
        stats = per_product[line.sku]
        stats[0] += 1
        stats[1] += line.allocated >= line.quantity
        stats[2] += line.quantity
        stats[3] += line.allocated
        order_full[line.order_id] = order_full.get(line.order_id, True) and (
            line.allocated >= line.quantity
        )
    products = {
        sku: (pk, name)
        for sku, pk, name in Product.objects.filter(sku__in=list(per_product)).values_list(
            "sku", "id", "name"
        )
    }
    units_ordered = sum(s[2] for s in per_product.values())
    units_filled = sum(s[3] for s in per_product.values())
    ranked = sorted(per_product, key=lambda sku: (per_product[sku][3] / per_product[sku][2], sku))
    return Report(
        slug="fill-rate",
        title="Fill rate",
        definition=(
            "Unit fill rate: of the units ordered in the period, the share allocated from stock "
            "the moment the order was placed. Line fill rate: the share of lines allocated in "
            "full at placement; order fill rate: orders with every line so. Read from each "
            "order's placement record."
        ),
        stats=[
            Stat("Unit fill rate", percent(units_filled, units_ordered)),
            Stat(
                "Line fill rate",
                percent(sum(s[1] for s in per_product.values()), len(lines)),
            ),
            Stat("Order fill rate", percent(sum(order_full.values()), len(order_full))),
            Stat("Units ordered", f"{units_ordered:,}"),
        ],
        charts=[
            ChartSpec(
                "line",
                "Unit fill rate by week of order (%)",
                [
                    (
                        week_label(week),
                        round(100 * filled_by_week[week] / ordered_by_week[week], 1)
                        if ordered_by_week[week]
                        else 0,
                    )
                    for week in weeks
                ],
                "%",
            )
        ],
        columns=[
            Column("SKU"),
            Column("Product"),
            Column("Lines", True),
            Column("Lines filled", True),
            Column("Units ordered", True),
            Column("Units from stock", True),
            Column("Unit fill rate", True),
        ],
        rows=[
            [
                product_link(products[sku][0], sku) if sku in products else sku,
                products[sku][1] if sku in products else "",
                per_product[sku][0],
                per_product[sku][1],
                per_product[sku][2],
                per_product[sku][3],
                percent(per_product[sku][3], per_product[sku][2]),
            ]
            for sku in ranked
        ],
    )

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Max, OuterRef, QuerySet, Subquery, Sum

from .models import Product, PurchaseOrder, PurchaseOrderLine, Stock, StockMovement


def product_ledger(*, product_id: int) -> QuerySet[StockMovement]:
    return StockMovement.objects.filter(product_id=product_id).select_related("created_by")


def stock_ledger_mismatches() -> list[tuple[int, str, int, int]]:
    """(product id, sku, on hand, ledger sum) for every product whose on hand ≠ its movements."""
    sums = dict(
        StockMovement.objects.values_list("product_id")
        .annotate(total=Sum("quantity"))
        .order_by()
        .values_list("product_id", "total")
    )
    return [
        (stock.pk, stock.product.sku, stock.on_hand, sums.get(stock.pk, 0))
        for stock in Stock.objects.select_related("product").order_by("pk")
        if stock.on_hand != sums.get(stock.pk, 0)
    ]


def earlier_receipt(*, product_id: int, reference: str) -> StockMovement | None:
    """The latest receipt of the product under `reference` (case and spaces ignored), if any:
    receiving under it again is most likely the same delivery entered twice."""
    reference = reference.strip()
    if not reference:
        return None
    return (
        StockMovement.objects.filter(
            product_id=product_id,
            kind=StockMovement.Kind.RECEIPT,
            reference__iexact=reference,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def largest_receipt(*, product_id: int) -> int:
    found = StockMovement.objects.filter(
        product_id=product_id, kind=StockMovement.Kind.RECEIPT
    ).aggregate(largest=Max("quantity"))["largest"]
    return int(found or 0)


def products_without_stock() -> QuerySet[Product]:
    return Product.objects.filter(stock__isnull=True)


@dataclass(frozen=True)
class Supply:
    """Units still to arrive on one open purchase-order line."""

    expected_date: dt.date
    quantity: int
    reference: str


def open_purchase_lines() -> QuerySet[PurchaseOrderLine]:
    """Lines of sent purchase orders with units still to arrive."""
    return PurchaseOrderLine.objects.filter(
        is_cancelled=False,
        quantity_received__lt=F("quantity_ordered"),
        purchase_order__status__in=PurchaseOrder.OPEN_STATUSES,
    )


def incoming_supply(*, product_ids: Iterable[int]) -> dict[int, list[Supply]]:
    """Each product's open supply, earliest expected first (one query)."""
    supply: dict[int, list[Supply]] = defaultdict(list)
    rows = (
        open_purchase_lines()
        .filter(product_id__in=list(product_ids))
        .order_by("expected_date", "id")
        .values_list(
            "product_id",
            "expected_date",
            "quantity_ordered",
            "quantity_received",
            "purchase_order__number",
        )
    )
    for product_id, expected, ordered, received, number in rows:
        supply[product_id].append(Supply(expected, ordered - received, number))
    return supply


def incoming_units_subquery() -> Subquery:
    """Units on open purchase orders for the product at OuterRef('pk'), for annotations."""
    return Subquery(
        open_purchase_lines()
        .filter(product_id=OuterRef("pk"))
        .values("product_id")
        .annotate(units=Sum(F("quantity_ordered") - F("quantity_received")))
        .values("units")[:1]
    )


def purchase_order_detail(*, purchase_order_id: int) -> PurchaseOrder:
    return (
        PurchaseOrder.objects.select_related("supplier", "created_by")
        .prefetch_related("lines__product", "events")
        .get(pk=purchase_order_id)
    )

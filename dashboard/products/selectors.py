"""Reads for the products board and a product's page."""

from __future__ import annotations

from django.db.models import (
    BooleanField,
    Case,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from inventory.models import Product, PurchaseOrderLine, StockMovement, Supplier
from inventory.selectors import open_purchase_lines, product_ledger
from orders.selectors import product_replenishment

# --- products ----------------------------------------------------------------------------


# Stock states the board filters by.
STOCK_STATES = {
    "available": "Units available",
    "none": "None available",
    "backordered": "Customers waiting",
    "low": "Low stock",
}


def availability_board(
    *,
    search: str = "",
    backordered_only: bool = False,
    low_stock_only: bool = False,
    supplier_id: int | None = None,
    policy: str = "",
    stock: str = "",
) -> QuerySet[Product]:
    """Every product with its stock figures, a reorder suggestion and a low-stock flag, and its
    supplier's name ("" for none) to sort on. `stock` is one of STOCK_STATES."""
    products = product_replenishment().annotate(
        is_low=Case(
            When(
                Q(available__lte=F("safety_stock")) | Q(suggested_quantity__gt=0),
                then=Value(True),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
        supplier_name=Coalesce("preferred_supplier__name", Value("")),
    )
    if search:
        products = products.filter(Q(sku__icontains=search) | Q(name__icontains=search))
    # Q() rather than keywords: these filter on annotations the type checker cannot see.
    if backordered_only or stock == "backordered":
        products = products.filter(Q(backordered__gt=0))
    if low_stock_only or stock == "low":
        products = products.filter(Q(is_low=True))
    if stock == "available":
        products = products.filter(Q(available__gt=0))
    elif stock == "none":
        products = products.filter(Q(available__lte=0))
    if supplier_id is not None:
        products = products.filter(preferred_supplier_id=supplier_id)
    if policy == "preorder":
        products = products.filter(is_preorder=True)
    elif policy == "discontinued":
        products = products.filter(is_discontinued=True)
    elif policy:
        products = products.filter(
            backorder_policy=policy, is_preorder=False, is_discontinued=False
        )
    return products.order_by("sku")


def suppliers() -> QuerySet[Supplier]:
    return Supplier.objects.order_by("name").only("pk", "name")


def product_availability(*, product_id: int) -> Product:
    return availability_board().get(pk=product_id)


def product_open_purchase_lines(*, product_id: int) -> QuerySet[PurchaseOrderLine]:
    """The product's purchase-order lines with units still to arrive, earliest first."""
    return (
        open_purchase_lines()
        .filter(product_id=product_id)
        .select_related("purchase_order__supplier")
        .order_by("expected_date", "id")
    )


def product_stock_ledger(*, product_id: int) -> QuerySet[StockMovement]:
    return product_ledger(product_id=product_id).order_by("-created_at", "-id")

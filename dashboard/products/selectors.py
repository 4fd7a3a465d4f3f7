"""Reads for the products board and a product's page."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.db.models.lookups import GreaterThan, LessThan, LessThanOrEqual

from inventory.models import Product, PurchaseOrderLine, StockMovement, Supplier
from inventory.selectors import open_purchase_lines, product_ledger
from orders.models import OrderLine

# --- products ----------------------------------------------------------------------------


# Stock states the board filters by.
STOCK_STATES = {
    "available": "Units available",
    "none": "None available",
    "backordered": "Customers waiting",
    "low": "Low stock",
}


_INTEGER = IntegerField()
# The figures summed from other tables: a sort or filter on one of them needs every
# product's sums (board_figures()), any other sort only the page's (board_rows()).
SUMMED = ("backordered", "incoming", "projected", "suggested_quantity", "is_low")


def _sums(rows: QuerySet[Any]) -> dict[int, int]:
    return {product_id: units or 0 for product_id, units in rows.values_list("product_id", "units")}


def units_by_product(
    *, product_ids: Collection[int] | None = None
) -> tuple[dict[int, int], dict[int, int]]:
    """(units waiting, units incoming) per product with any, for every product or those of
    `product_ids`: two narrow queries, the waiting units summed from orderline_waiting_idx
    alone."""
    waiting = OrderLine.objects.filter(quantity_backordered__gt=0)
    supply = open_purchase_lines()
    if product_ids is not None:
        waiting = waiting.filter(product_id__in=product_ids)
        supply = supply.filter(product_id__in=product_ids)
    return (
        _sums(waiting.order_by().values("product_id").annotate(units=Sum("quantity_backordered"))),
        _sums(
            supply.order_by()
            .values("product_id")
            .annotate(units=Sum(F("quantity_ordered") - F("quantity_received")))
        ),
    )


def board_figures() -> dict[str, Any]:
    """Every product's summed figures, as product_replenishment() defines them: backordered,
    incoming, projected, a suggested reorder quantity (0 when none is needed) and a low-stock
    flag, each an expression to annotate, for a sort or filter on them (board_rows() gives one
    page's figures).

    The units waiting and incoming are summed first (units_by_product) and enter the figures
    as values: a subquery per figure would sum each product's waiting lines again for every
    figure built on them (six times a row)."""
    waiting, supply = units_by_product()
    backordered, incoming = _by_product(waiting), _by_product(supply)
    target = ExpressionWrapper(F("reorder_point") + F("safety_stock"), output_field=_INTEGER)
    available = ExpressionWrapper(
        F("stock__on_hand") - F("stock__allocated"), output_field=_INTEGER
    )
    projected = ExpressionWrapper(
        F("stock__on_hand") + incoming - F("stock__allocated") - backordered,
        output_field=_INTEGER,
    )
    suggested = Case(
        When(
            Q(is_discontinued=False) & Q(LessThan(projected, target)),
            then=Greatest(
                ExpressionWrapper(target - projected, output_field=_INTEGER),
                F("reorder_quantity"),
                output_field=_INTEGER,
            ),
        ),
        default=Value(0),
        output_field=_INTEGER,
    )
    is_low = Case(
        When(
            Q(LessThanOrEqual(available, F("safety_stock"))) | Q(GreaterThan(suggested, 0)),
            then=Value(True),
        ),
        default=Value(False),
        output_field=BooleanField(),
    )
    return {
        "backordered": backordered,
        "incoming": incoming,
        "projected": projected,
        "suggested_quantity": suggested,
        "is_low": is_low,
    }


class _UnitsOf(Func):
    """The product's units from a {product id: units} map passed as one JSON value (0 for a
    product not in it): one parameter however many products, where a CASE would carry two a
    product into every figure built on it."""

    output_field = IntegerField()

    def __init__(self, units: dict[int, int]) -> None:
        mapping = json.dumps({str(product_id): n for product_id, n in units.items() if n})
        super().__init__(F("pk"), Value(mapping))

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        pk_sql, pk_params = compiler.compile(self.source_expressions[0])
        map_sql, map_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            sql = f"COALESCE(({map_sql}::jsonb ->> ({pk_sql})::text)::integer, 0)"
        else:
            sql = f"COALESCE(json_extract({map_sql}, '$.\"' || {pk_sql} || '\"'), 0)"
        return sql, [*map_params, *pk_params]


def _by_product(units: dict[int, int]) -> _UnitsOf:
    """A product's units from `units` (0 for one not in it), as an expression."""
    return _UnitsOf(units)


def _board_base() -> QuerySet[Product]:
    """Products with their stock and supplier and the figures that need no sum: on hand,
    allocated, available, the supplier's name ("" for none)."""
    return Product.objects.select_related("stock", "preferred_supplier").annotate(
        on_hand=F("stock__on_hand"),
        allocated=F("stock__allocated"),
        available=ExpressionWrapper(
            F("stock__on_hand") - F("stock__allocated"), output_field=_INTEGER
        ),
        supplier_name=Coalesce("preferred_supplier__name", Value("")),
    )


def board_rows(products: list[Product]) -> list[Product]:
    """The page's products (from availability_board) with every figure, as board_figures()
    defines them, from the sums of these products' lines only (two narrow queries)."""
    waiting, supply = units_by_product(product_ids=[product.pk for product in products])
    for product in products:
        row: Any = product
        row.backordered = waiting.get(product.pk, 0)
        row.incoming = supply.get(product.pk, 0)
        row.projected = None
        row.suggested_quantity = 0
        if row.on_hand is not None and row.allocated is not None:
            row.projected = row.on_hand + row.incoming - row.allocated - row.backordered
            target = product.reorder_point + product.safety_stock
            if not product.is_discontinued and row.projected < target:
                row.suggested_quantity = max(target - row.projected, product.reorder_quantity)
        row.is_low = (
            row.available is not None and row.available <= product.safety_stock
        ) or row.suggested_quantity > 0
    return products


def board_needs_sums(*, backordered_only: bool, low_stock_only: bool, stock: str) -> bool:
    """Whether these filters of availability_board need every product's summed figures."""
    return backordered_only or low_stock_only or stock in ("backordered", "low")


def availability_board(
    *,
    search: str = "",
    backordered_only: bool = False,
    low_stock_only: bool = False,
    supplier_id: int | None = None,
    policy: str = "",
    stock: str = "",
    figures: dict[str, Any] | None = None,
) -> QuerySet[Product]:
    """The products the filters keep, with their stock figures that need no sum (on hand,
    allocated, available) and their supplier's name ("" for none) to sort on: lean, so a page
    sorted on those reads no waiting line. The summed figures come from board_rows() for one
    page; `figures` (board_figures(), needed when board_needs_sums()) are annotated for the
    filters on them. `stock` is one of STOCK_STATES."""
    products = _board_base()
    if search:
        products = products.filter(Q(sku__icontains=search) | Q(name__icontains=search))
    # Q() rather than keywords: these filter on annotations the type checker cannot see.
    if board_needs_sums(
        backordered_only=backordered_only, low_stock_only=low_stock_only, stock=stock
    ):
        products = products.annotate(**(figures or board_figures()))
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
    """One product with the board's figures (DoesNotExist for an unknown id)."""
    return board_rows([_board_base().get(pk=product_id)])[0]


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

"""Purchase orders as they move ETAs: every change refreshes the dates of the lines it covers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from inventory import services as inventory_services
from inventory.locks import lock_stocks
from inventory.models import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StockMovement,
    Supplier,
)
from inventory.services import PurchaseLineRequest

from ._common import _allocation_enqueue
from .eta import _eta_refresh_products


def _po_product_ids(purchase_order: PurchaseOrder) -> list[int]:
    return list(purchase_order.lines.values_list("product_id", flat=True))


@transaction.atomic
def purchase_order_create(
    *,
    supplier: Supplier,
    lines: Sequence[PurchaseLineRequest],
    send: bool = False,
    note: str = "",
    actor: Any = None,
) -> PurchaseOrder:
    """Create a purchase order; a sent one moves the ETAs of the lines it will cover."""
    stocks = lock_stocks(product_ids=[req.product.pk for req in lines])
    po = inventory_services.purchase_order_create(
        supplier=supplier, lines=lines, send=send, note=note, actor=actor
    )
    if send:
        _eta_refresh_products(
            product_ids=stocks, reason=f"{po.number} sent", actor=actor, stocks=stocks
        )
    return po


@transaction.atomic
def purchase_order_send(*, purchase_order: PurchaseOrder, actor: Any = None) -> PurchaseOrder:
    stocks = lock_stocks(product_ids=_po_product_ids(purchase_order))
    po = inventory_services.purchase_order_send(purchase_order=purchase_order, actor=actor)
    _eta_refresh_products(
        product_ids=stocks, reason=f"{po.number} sent", actor=actor, stocks=stocks
    )
    return po


@transaction.atomic
def purchase_order_line_reschedule(
    *, line: PurchaseOrderLine, expected_date: dt.date, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    """Change a PO line's expected date; the ETAs of the lines it covers move with it."""
    stocks = lock_stocks(product_ids=[line.product_id])
    line = inventory_services.purchase_order_line_reschedule(
        line=line, expected_date=expected_date, reason=reason, actor=actor
    )
    _eta_refresh_products(
        product_ids=stocks,
        reason=reason.strip(),
        actor=actor,
        stocks=stocks,
        public_reason=reason.strip(),
    )
    return line


@transaction.atomic
def purchase_order_line_receive(
    *, line: PurchaseOrderLine, quantity: int, actor: Any = None
) -> StockMovement:
    """Receive against a PO line; the allocation task hands the units out after commit."""
    movement = inventory_services.purchase_order_line_receive(
        line=line, quantity=quantity, actor=actor
    )
    _allocation_enqueue(line.product_id)
    return movement


@transaction.atomic
def purchase_order_cancel(
    *, purchase_order: PurchaseOrder, reason: str, actor: Any = None
) -> PurchaseOrder:
    """Cancel a PO: the lines it would have covered fall back to later supply or lead time."""
    stocks = lock_stocks(product_ids=_po_product_ids(purchase_order))
    po = inventory_services.purchase_order_cancel(
        purchase_order=purchase_order, reason=reason, actor=actor
    )
    _eta_refresh_products(
        product_ids=stocks, reason=f"{po.number} cancelled", actor=actor, stocks=stocks
    )
    return po


@transaction.atomic
def purchase_order_line_cancel(
    *, line: PurchaseOrderLine, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    stocks = lock_stocks(product_ids=[line.product_id])
    line = inventory_services.purchase_order_line_cancel(line=line, reason=reason, actor=actor)
    _eta_refresh_products(
        product_ids=stocks,
        reason=f"{line.purchase_order.number} line cancelled",
        actor=actor,
        stocks=stocks,
    )
    return line


@transaction.atomic
def product_discontinue(*, product: Product, actor: Any = None) -> Product:
    """Discontinue a product: no new backorders, and waiting lines' ETAs become unknown."""
    stocks = lock_stocks(product_ids=[product.pk])
    product = inventory_services.product_discontinue(product=product, actor=actor)
    _eta_refresh_products(
        product_ids=stocks,
        reason="product discontinued",
        actor=actor,
        stocks=stocks,
        public_reason="product discontinued",
    )
    return product

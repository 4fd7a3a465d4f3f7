"""Products and suppliers. Stock quantities change in inventory/stock.py alone; purchase orders
change through orders.services, which also moves the ETAs they cover."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from .models import (
    Product,
    StockMovement,
    Supplier,
)
from .stock import stock_movement_record as stock_movement_record
from .stock import stock_open


@transaction.atomic
def product_create(*, on_hand: int = 0, actor: Any = None, **fields: Any) -> Product:
    """Create a product with its stock row; opening stock is recorded as a receipt."""
    product = Product(**fields)
    product.full_clean()
    product.save()
    stock = stock_open(product=product)
    if on_hand:
        stock_movement_record(
            stock=stock,
            kind=StockMovement.Kind.RECEIPT,
            quantity=on_hand,
            reason="Opening stock",
            actor=actor,
        )
    return product


# --- suppliers and purchase orders -------------------------------------------------------


@dataclass(frozen=True)
class PurchaseLineRequest:
    product: Product
    quantity: int
    expected_date: dt.date
    # What the supplier charges per unit; None when it was not given.
    unit_cost: Decimal | None = None


@transaction.atomic
def supplier_create(*, name: str, email: str = "", lead_time_days: int = 14) -> Supplier:
    supplier = Supplier(name=name.strip(), email=email.strip(), lead_time_days=lead_time_days)
    supplier.full_clean()
    supplier.save()
    return supplier

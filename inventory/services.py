from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Product, Stock, StockMovement


@transaction.atomic
def product_create(*, on_hand: int = 0, actor: Any = None, **fields: Any) -> Product:
    """Create a product with its stock row; opening stock is recorded as a receipt."""
    product = Product(**fields)
    product.full_clean()
    product.save()
    stock = Stock.objects.create(product=product)
    if on_hand:
        stock_movement_record(
            stock=stock,
            kind=StockMovement.Kind.RECEIPT,
            quantity=on_hand,
            reason="Opening stock",
            actor=actor,
        )
    return product


def stock_movement_record(
    *,
    stock: Stock,
    kind: str,
    quantity: int,
    reason: str,
    reference: str = "",
    actor: Any = None,
    allocated_delta: int = 0,
) -> StockMovement:
    """Change on hand by a signed quantity and write its ledger row.

    The caller holds the stock lock (see locks.py) and its transaction.
    """
    if quantity == 0:
        raise ValidationError("A stock movement needs a quantity other than zero.")
    if not reason.strip():
        raise ValidationError("A stock movement needs a reason.")
    if stock.on_hand + quantity < stock.allocated + allocated_delta:
        raise ValidationError(f"{stock.product_id}: on hand would fall below what is allocated.")
    Stock.objects.filter(pk=stock.pk).update(
        on_hand=F("on_hand") + quantity,
        allocated=F("allocated") + allocated_delta,
        updated_at=timezone.now(),
    )
    stock.on_hand += quantity
    stock.allocated += allocated_delta
    return StockMovement.objects.create(
        product_id=stock.pk,
        kind=kind,
        quantity=quantity,
        reason=reason.strip(),
        reference=reference,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )


@transaction.atomic
def product_discontinue(*, product: Product, actor: Any = None) -> Product:
    """Mark a product discontinued: it accepts no new backorders from now on."""
    if product.is_discontinued:
        return product
    product.is_discontinued = True
    product.discontinued_at = timezone.now()
    product.save(update_fields=["is_discontinued", "discontinued_at"])
    return product

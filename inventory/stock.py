"""The one writer of stock quantities: `Stock.on_hand`, `Stock.allocated` and the
`StockMovement` ledger change here and nowhere else (a test greps the code for other writers).

Every function expects its caller to hold the products' stock locks (inventory.locks) inside
its transaction, and keeps the locked `Stock` objects it is given in step with the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Product, Stock, StockMovement


def stock_open(*, product: Product) -> Stock:
    """A new product's stock row, empty (opening stock is a receipt: stock_movement_record)."""
    return Stock.objects.create(product=product)


def stocks_open(*, products: Sequence[Product]) -> list[Stock]:
    """stock_open for many new products, in one INSERT."""
    return Stock.objects.bulk_create([Stock(product=product) for product in products])


def stocks_touch(*, product_ids: Iterable[int], now: dt.datetime) -> None:
    """Mark the products' availability as changed without a change of quantities (their
    supply, ETA or backorder settings moved), so the storefronts' availability feed lists them
    again. The same stamp every quantity change sets."""
    ids = sorted(set(product_ids))
    if ids:
        Stock.objects.filter(pk__in=ids).update(updated_at=now)


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
    """Change on hand by a signed quantity (and allocated by `allocated_delta`, e.g. a
    shipment takes allocated units away) and write its ledger row."""
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
    _stock_changed([stock])
    if quantity > 0:
        for path in settings.STOCK_ARRIVAL_SUBSCRIBERS:
            import_string(path)(stock)
    return StockMovement.objects.create(
        product_id=stock.pk,
        kind=kind,
        quantity=quantity,
        reason=reason.strip(),
        reference=reference,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )


def stock_allocate(*, stock: Stock, units: int, now: dt.datetime) -> None:
    """Reserve `units` on hand for order lines (a negative count releases them back)."""
    if units:
        stocks_allocate(stocks={stock.pk: stock}, units={stock.pk: units}, now=now)


def stocks_allocate(
    *, stocks: Mapping[int, Stock], units: Mapping[int, int], now: dt.datetime
) -> None:
    """Reserve (or, negative, release) units of several locked products in one UPDATE."""
    changes = {product_id: count for product_id, count in units.items() if count}
    if not changes:
        return
    if len(changes) == 1:
        ((product_id, count),) = changes.items()
        delta: Any = Value(count)
    else:
        delta = Case(
            *(When(pk=product_id, then=Value(count)) for product_id, count in changes.items()),
            default=Value(0),
        )
    Stock.objects.filter(pk__in=list(changes)).update(
        allocated=F("allocated") + delta, updated_at=now
    )
    for product_id, count in changes.items():
        stocks[product_id].allocated += count
    _stock_changed([stocks[product_id] for product_id in changes])


def _stock_changed(stocks: Sequence[Stock]) -> None:
    """Hand the changed rows (as they now are) to settings.STOCK_CHANGE_SUBSCRIBERS, inside the
    transaction: storefronts hear of it through the same outbox as order events, and a
    rolled-back change tells nobody. A list in settings, so inventory knows none of them."""
    for path in settings.STOCK_CHANGE_SUBSCRIBERS:
        import_string(path)(stocks)

"""Money and shipping arithmetic, with no database of its own."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from .models import ShippingRate

CENT = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    """Round an amount to whole cents."""
    return value.quantize(CENT)


def shipping_rate_by_table(subtotal: Decimal, items: int, *, table: ShippingRate | None) -> Decimal:
    """The shipping charge for `items` units worth `subtotal` under a rate table (None: the
    settings' flat rate and free-shipping threshold)."""
    if subtotal <= 0:
        return Decimal("0.00")
    if table is None:
        free_over = settings.SHIPPING_FREE_OVER
        if free_over is not None and subtotal >= free_over:
            return Decimal("0.00")
        return to_cents(settings.SHIPPING_FLAT_RATE)
    if table.free_over is not None and subtotal >= table.free_over:
        return Decimal("0.00")
    if table.kind == ShippingRate.Kind.PER_ITEM:
        return to_cents(table.amount * items)
    if table.kind == ShippingRate.Kind.BANDS:
        bands = [band for band in table.bands.all() if band.subtotal_from <= subtotal]
        return to_cents(
            max(bands, key=lambda band: band.subtotal_from).amount if bands else Decimal("0")
        )
    return to_cents(table.amount)

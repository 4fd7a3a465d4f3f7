"""Money and shipping arithmetic, with no database of its own."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings

from .models import Order, OrderLine, ShippingRate

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


def shipped_value(
    *, order: Order, lines: Iterable[OrderLine], table: ShippingRate | None
) -> Decimal:
    """What the shipped items alone would have cost under the store's prices and shipping rules.

    When the order was charged shipping by those rules (including free shipping over a
    threshold), the shipped items pay the rate they alone would have paid. When the shop
    waived or changed the charge, never count more shipping than the customer actually paid.
    `table` is the store's rate table in use (selectors.active_shipping_rate).
    """
    lines = list(lines)
    subtotal = sum((line.unit_price * line.quantity_shipped for line in lines), Decimal("0"))
    ordered = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    shipped_items = sum(line.quantity_shipped for line in lines)
    shipping = shipping_rate_by_table(subtotal, shipped_items, table=table)
    ordered_items = sum(line.quantity for line in lines)
    if order.shipping_charge != shipping_rate_by_table(ordered, ordered_items, table=table):
        shipping = min(order.shipping_charge, shipping)
    return to_cents(subtotal + shipping)


def refund_owed_on_close(
    *, order: Order, lines: Iterable[OrderLine], table: ShippingRate | None
) -> Decimal:
    """When an order closes with cancelled items: everything paid, shipping included, minus
    what the shipped items alone would have cost."""
    return max(
        Decimal("0.00"), order.amount_paid - shipped_value(order=order, lines=lines, table=table)
    )

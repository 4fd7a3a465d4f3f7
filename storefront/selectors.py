"""Reads for storefronts: key look-up, quotes, their orders."""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.db.models.functions import Lower
from django.utils import timezone

from compliance.models import OrderCompliance
from compliance.selectors import Deadline, shipment_deadline
from inventory.models import Product
from orders.models import Order, OrderLine, OrderStatus, Refund, Shipment, ShipmentLine
from orders.selectors import QuoteStatus, product_quote
from orders.services import shipping_rate_for

from .keys import key_hash, key_prefix
from .models import ApiKey, HeldQuote, SalesChannel


def api_key_for(*, raw_key: str) -> ApiKey | None:
    """The active key `raw_key` is, with its channel; None for an unknown or revoked key."""
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None
    api_key = (
        ApiKey.objects.select_related("channel")
        .filter(prefix=prefix, revoked_at=None, channel__is_active=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.key_hash, key_hash(raw_key)):
        return None
    return api_key


@dataclass(frozen=True)
class QuoteLine:
    sku: str
    quantity: int
    name: str
    status: str
    orderable: bool
    in_stock: int
    backordered: int
    eta: dt.date | None
    eta_basis: str
    eta_reference: str
    release_date: dt.date | None
    reason: str
    unit_price: Decimal | None

    def held(self) -> dict[str, object]:
        """What an order citing the held quote must get for this line."""
        return {
            "sku": self.sku.lower(),
            "quantity": self.quantity,
            "in_stock": self.in_stock,
            "eta": self.eta.isoformat() if self.eta else None,
            "eta_basis": self.eta_basis,
        }


@dataclass(frozen=True)
class StorefrontQuote:
    lines: list[QuoteLine]
    orderable: bool
    subtotal: Decimal
    shipping_charge: Decimal
    deadline: Deadline


def storefront_quote(
    *,
    lines: list[tuple[str, int]],
    promised_ship_date: dt.date | None = None,
    promised_business_days: int | None = None,
    credit_application: bool = False,
    now: dt.datetime | None = None,
) -> StorefrontQuote:
    """Per line what an order placed now would get, the shipping charge and the deadline."""
    now = now or timezone.now()
    products = {
        p.sku_lower: p
        for p in Product.objects.select_related("preferred_supplier")
        .annotate(sku_lower=Lower("sku"))
        .filter(sku_lower__in=[sku.lower() for sku, _ in lines])
    }
    quoted: list[QuoteLine] = []
    subtotal, items = Decimal("0"), 0
    for sku, quantity in lines:
        product = products.get(sku.lower())
        if product is None:
            quoted.append(
                QuoteLine(sku, quantity, "", QuoteStatus.NOT_ORDERABLE, False, 0, 0, None, "", "",
                          None, f"Unknown SKU '{sku}'.", None)
            )  # fmt: skip
            continue
        quote = product_quote(product=product, quantity=quantity, now=now)
        orderable = quote.status != QuoteStatus.NOT_ORDERABLE
        if orderable:
            subtotal += product.unit_price * quantity
            items += quantity
        eta = quote.eta
        quoted.append(
            QuoteLine(
                sku=product.sku,
                quantity=quantity,
                name=product.name,
                status=quote.status,
                orderable=orderable,
                in_stock=quote.in_stock,
                backordered=quote.backordered,
                eta=eta.date if eta else None,
                eta_basis=eta.source if eta else "",
                eta_reference=eta.reference if eta else "",
                release_date=quote.release_date,
                reason=quote.reason,
                unit_price=product.unit_price,
            )
        )
    draft = Order(
        promised_ship_date=promised_ship_date,
        promised_business_days=promised_business_days,
        credit_application=credit_application,
    )
    return StorefrontQuote(
        lines=quoted,
        orderable=bool(quoted) and all(line.orderable for line in quoted),
        subtotal=subtotal,
        shipping_charge=shipping_rate_for(subtotal, items),
        deadline=shipment_deadline(order=draft, properly_completed_at=now),
    )


def held_quote_get(*, channel: SalesChannel, quote_id: uuid.UUID) -> HeldQuote | None:
    return HeldQuote.objects.filter(channel=channel, pk=quote_id).first()


def channel_orders(*, channel: SalesChannel) -> QuerySet[Order]:
    """The channel's orders with everything the API shows, in a fixed number of queries."""
    return (
        Order.objects.with_status()
        .filter(channel=channel)
        .select_related("customer", "channel", "compliance")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.prefetch_related(
                    Prefetch(
                        "lines", queryset=ShipmentLine.objects.select_related("order_line__product")
                    )
                ),
            ),
            "refunds",
        )
    )


def channel_order_placed(*, order: Order) -> Order:
    """The order order_place has just returned, ready to show as channel_orders would, with one
    query (its lines): it has no shipments, refunds or Mail Order Rule record yet."""
    prefetch_related_objects(
        [order],
        Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
        Prefetch("shipments", queryset=Shipment.objects.none()),
        Prefetch("refunds", queryset=Refund.objects.none()),
        Prefetch("compliance", queryset=OrderCompliance.objects.none()),
    )
    # Nothing shipped or cancelled yet: the status with_status() would read is one of two.
    waiting = any(line.quantity_backordered for line in order.lines.all())
    order.status = OrderStatus.BACKORDERED if waiting else OrderStatus.OPEN  # type: ignore[attr-defined]
    return order


def order_deadline(*, order: Order) -> Deadline | None:
    """The order's Mail Order Rule deadline: the engine's, else the one it is about to set."""
    compliance = getattr(order, "compliance", None)
    if compliance is not None and compliance.deadline is not None:
        return Deadline(compliance.deadline, compliance.basis)
    if order.paid_at is None:
        return None
    return shipment_deadline(order=order, properly_completed_at=order.paid_at)

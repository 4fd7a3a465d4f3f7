"""Reads for storefronts: key look-up, quotes, their orders."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import Lower
from django.utils import timezone

from compliance.models import OrderCompliance
from compliance.selectors import Deadline, shipment_deadline
from inventory.models import Product, Stock
from inventory.selectors import incoming_supply
from orders.models import Order, OrderLine, OrderStatus, Refund, Shipment, ShipmentLine
from orders.selectors import QuoteStatus, products_quote
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
    known = [(products[sku.lower()], qty) for sku, qty in lines if sku.lower() in products]
    quotes = iter(products_quote(items=known, now=now))
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
        quote = next(quotes)
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


class ShownStatus:
    """What a product page tells its visitor (the widget's words, not the quote's)."""

    IN_STOCK = "in_stock"
    BACKORDERED = "backordered"
    PREORDER = "preorder"
    UNAVAILABLE = "unavailable"


SHOWN_STATUS = {
    QuoteStatus.IN_STOCK: ShownStatus.IN_STOCK,
    QuoteStatus.BACKORDER: ShownStatus.BACKORDERED,
    QuoteStatus.PREORDER: ShownStatus.PREORDER,
    QuoteStatus.NOT_ORDERABLE: ShownStatus.UNAVAILABLE,
}


@dataclass(frozen=True)
class ProductAvailability:
    sku: str
    name: str
    quantity: int
    status: str
    ships_by: dt.date | None


def product_availability(
    *, sku: str, quantity: int = 1, now: dt.datetime | None = None
) -> ProductAvailability | None:
    """What a product page shows for `quantity` units: in stock, or backordered with the ship-by
    date an order placed now would get (the quote's); None for an unknown SKU."""
    product = (
        Product.objects.select_related("preferred_supplier")
        .annotate(sku_lower=Lower("sku"))
        .filter(sku_lower=sku.lower())
        .first()
    )
    if product is None:
        return None
    quote = products_quote(items=[(product, quantity)], now=now)[0]
    waits = quote.status in (QuoteStatus.BACKORDER, QuoteStatus.PREORDER)
    return ProductAvailability(
        sku=product.sku,
        name=product.name,
        quantity=quantity,
        status=SHOWN_STATUS[QuoteStatus(quote.status)],
        ships_by=quote.eta.date if waits and quote.eta else None,
    )


def origin_allowed(*, channel: SalesChannel, origin: str) -> bool:
    return bool(origin) and origin in channel.allowed_origins


def origin_of_any_channel(*, origin: str) -> bool:
    """Whether some active channel lists `origin` (a preflight carries no key to say which)."""
    if not origin:
        return False
    rows = SalesChannel.objects.filter(is_active=True).values_list("allowed_origins", flat=True)
    return any(origin in origins for origins in rows)


@dataclass(frozen=True)
class WidgetPreview:
    api_key: ApiKey | None
    product: Product | None


def widget_preview(*, sku: str = "") -> WidgetPreview:
    """The newest active publishable key and a product to show the widget with: `sku`, else
    one that customers are waiting for, else the first."""
    api_key = (
        ApiKey.objects.select_related("channel")
        .filter(kind=ApiKey.Kind.PUBLISHABLE, revoked_at=None, channel__is_active=True)
        .order_by("-created_at", "-pk")
        .first()
    )
    products = Product.objects.order_by("sku")
    product: Product | None
    if sku:
        product = products.annotate(sku_lower=Lower("sku")).filter(sku_lower=sku.lower()).first()
    else:
        waited_for = OrderLine.objects.filter(quantity_backordered__gt=0).values("product_id")
        product = products.filter(pk__in=waited_for).first() or products.first()
    return WidgetPreview(api_key=api_key, product=product)


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
    query (its lines; none when order_place kept them as saved): it has no shipments, refunds
    or Mail Order Rule record yet."""
    if order.lines_as_placed is not None:
        # What a prefetch of them would leave behind, without reading back rows just written.
        lines = order.lines.all()
        lines._result_cache = list(order.lines_as_placed)
        lines._prefetch_done = True  # type: ignore[attr-defined]
        order._prefetched_objects_cache = {"lines": lines}  # type: ignore[attr-defined]
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


@dataclass(frozen=True)
class Availability:
    sku: str
    name: str
    in_stock: int
    backorderable: bool
    backorder_cap: int | None
    is_preorder: bool
    release_date: dt.date | None
    next_eta: dt.date | None
    next_eta_units: int
    incoming: int
    changed_at: dt.datetime


@dataclass(frozen=True)
class AvailabilityPage:
    results: list[Availability]
    next_cursor: str
    has_more: bool


class BadCursor(ValueError):
    """The cursor is not one this API handed out."""


def _cursor(changed_at: dt.datetime, product_id: int) -> str:
    text = f"{changed_at.astimezone(dt.UTC).isoformat()}|{product_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[dt.datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, product_id = text.split("|")
        changed_at = dt.datetime.fromisoformat(stamp)
        if changed_at.tzinfo is None:
            raise ValueError(stamp)
        return changed_at, int(product_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadCursor(cursor) from None


def availability_changed_since(
    *, cursor: str = "", limit: int = 100, now: dt.datetime | None = None
) -> AvailabilityPage:
    """Products whose stock, supply or backorder settings changed after `cursor` (all of them
    without one), in the order they changed, `limit` at a time, in two queries.

    A change is listed once it is AVAILABILITY_SETTLE_SECONDS old: a stock change is stamped
    inside its transaction, so a page never runs ahead of one still committing. The cursor
    returned is where the next call carries on (the same one when nothing new came)."""
    now = now or timezone.now()
    horizon = now - dt.timedelta(seconds=settings.AVAILABILITY_SETTLE_SECONDS)
    rows = Stock.objects.select_related("product").filter(updated_at__lte=horizon)
    if cursor:
        after, product_id = _position(cursor)
        rows = rows.filter(Q(updated_at__gt=after) | Q(updated_at=after, product_id__gt=product_id))
    page = list(rows.order_by("updated_at", "product_id")[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    supply = incoming_supply(product_ids=[stock.pk for stock in page]) if page else {}
    results = []
    for stock in page:
        product = stock.product
        supplies = supply.get(stock.pk, [])
        results.append(
            Availability(
                sku=product.sku,
                name=product.name,
                in_stock=stock.available,
                backorderable=product.accepts_backorders,
                backorder_cap=product.backorder_cap,
                is_preorder=product.is_preorder,
                release_date=product.release_date if product.is_preorder else None,
                next_eta=supplies[0].expected_date if supplies else None,
                next_eta_units=supplies[0].quantity if supplies else 0,
                incoming=sum(s.quantity for s in supplies),
                changed_at=stock.updated_at,
            )
        )
    last = page[-1] if page else None
    return AvailabilityPage(
        results=results,
        next_cursor=_cursor(last.updated_at, last.pk) if last else cursor,
        has_more=has_more,
    )

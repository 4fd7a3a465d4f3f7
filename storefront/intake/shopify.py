"""Shopify's order webhooks (orders/create, orders/cancelled) read as intake actions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from orders.models import Order
from storefront.services import ShippingAddress

from .common import (
    IntakeAction,
    IntakeCancel,
    IntakeOrder,
    IntakeRefused,
    IntakeSkip,
    Outcome,
    checked_lines,
    currency_check,
    money,
    money_total,
    text,
    whole,
)

COD_GATEWAY = "cash on delivery (cod)"
# financial_status → paid? (authorized: the card is authorised, captured later)
FINANCIAL_STATUS = {
    "paid": True,
    "partially_paid": True,
    "authorized": True,
    "pending": False,
    "unpaid": False,
}


def _payment_method(gateways: list[str]) -> str:
    names = [name.lower() for name in gateways]
    if COD_GATEWAY in names:
        return Order.PaymentMethod.COD
    if "money order" in names:
        return Order.PaymentMethod.MONEY_ORDER
    if any("paypal" in name for name in names):
        return Order.PaymentMethod.PAYPAL
    return Order.PaymentMethod.CARD


def _is_tip(item: dict[str, Any]) -> bool:
    return not item.get("product_id") and text(item.get("title")).lower() == "tip"


def _lines(items: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Order lines at the price paid (after their discount allocations), and what is ignored."""
    if not isinstance(items, list) or not items:
        raise IntakeRefused("The order has no line items.")
    lines: list[tuple[str, int, Decimal]] = []
    ignored: list[str] = []
    missing: list[str] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise IntakeRefused(f"Line item {number} is not an object.")
        title = text(item.get("title")) or text(item.get("name")) or f"line item {number}"
        if item.get("gift_card"):
            ignored.append(f"gift card '{title}'")
            continue
        if _is_tip(item):
            ignored.append(f"tip '{title}'")
            continue
        sku = text(item.get("sku"), 64)
        if not sku:
            missing.append(f"'{title}'")
            continue
        what = f"Line item {number} ({sku})"
        quantity = whole(item.get("quantity"), what)
        label = f"{what}, discount"
        discount = money_total(
            item.get("discount_allocations"),
            lambda allocation: allocation.get("amount"),
            lambda allocation: label,  # noqa: B023 (read at once, inside the call)
        )
        lines.append(
            (sku, quantity, max(money(item.get("price"), what) * quantity - discount, Decimal("0")))
        )
    return checked_lines(lines, ignored, missing, "Shopify"), ignored


def _address(order: dict[str, Any]) -> ShippingAddress:
    ship = order.get("shipping_address")
    ship = ship if isinstance(ship, dict) else {}
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    name = text(ship.get("name")) or " ".join(
        part for part in (text(ship.get("first_name")), text(ship.get("last_name"))) if part
    )
    return ShippingAddress(
        name=name[:200],
        line1=text(ship.get("address1")),
        line2=text(ship.get("address2")),
        city=text(ship.get("city"), 100),
        region=text(ship.get("province_code"), 100) or text(ship.get("province"), 100),
        postal_code=text(ship.get("zip"), 20),
        country=text(ship.get("country_code"), 2).upper(),
        phone=(
            text(ship.get("phone"), 30)
            or text(order.get("phone"), 30)
            or text((customer or {}).get("phone"), 30)
        ),
    )


def _customer(order: dict[str, Any], address: ShippingAddress) -> tuple[str, str]:
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    customer = customer or {}
    email = (
        text(order.get("email"), 254)
        or text(order.get("contact_email"), 254)
        or text(customer.get("email"), 254)
    )
    name = " ".join(
        part for part in (text(customer.get("first_name")), text(customer.get("last_name"))) if part
    )
    return email, (name or address.name)[:200]


def read(topic: str, order: Any) -> IntakeAction:
    """What a Shopify order webhook asks; IntakeSkip(refused) when it cannot be taken."""
    external_id = text(order.get("id"), 100) if isinstance(order, dict) else ""
    if not external_id:
        return IntakeSkip(Outcome.REFUSED, "The body is not a Shopify order (no id).")
    if topic == "orders/cancelled":
        reason = text(order.get("cancel_reason")) or "other"
        return IntakeCancel(
            external_id=external_id,
            cause="customer" if reason == "customer" else "shop",
            reason=f"Cancelled in Shopify (reason: {reason})",
        )
    if topic != "orders/create":
        return IntakeSkip(Outcome.IGNORED, f"Topic '{topic}' is not taken here.", external_id)
    if order.get("test") is True:
        return IntakeSkip(
            Outcome.IGNORED, "Test order (test: true): not taken as a real order.", external_id
        )
    try:
        currency_check(order.get("currency"))
        lines, ignored = _lines(order.get("line_items"))
        status = text(order.get("financial_status")).lower()
        if status not in FINANCIAL_STATUS:
            raise IntakeRefused(
                f"Financial status '{status or '(none)'}': only paid, partially paid, authorized "
                "and pending orders are taken."
            )
        gateways = order.get("payment_gateway_names")
        method = _payment_method([text(g) for g in gateways] if isinstance(gateways, list) else [])
        shipping = money_total(
            order.get("shipping_lines"),
            lambda line: line.get("discounted_price", line.get("price")),
            lambda line: f"Shipping line '{text(line.get('title'))}'",
        )
    except IntakeRefused as refused:
        return IntakeSkip(Outcome.REFUSED, str(refused), external_id)
    address = _address(order)
    email, name = _customer(order, address)
    return IntakeOrder(
        external_id=external_id,
        customer_email=email,
        customer_name=name,
        address=address,
        lines=lines,
        shipping_charge=shipping,
        paid=FINANCIAL_STATUS[status] and method != Order.PaymentMethod.COD,
        payment_method=method,
        notes=tuple(f"Ignored {what}." for what in ignored),
    )

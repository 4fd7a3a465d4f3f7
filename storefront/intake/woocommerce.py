"""WooCommerce's order webhooks (order.created, order.updated) read as intake actions."""

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

TAKEN_STATUSES = ("processing", "on-hold", "completed")
CANCELLED_STATUSES = ("cancelled", "refunded")
PAYMENT_METHODS = {
    "cod": Order.PaymentMethod.COD,
    "cheque": Order.PaymentMethod.CHECK,
    "paypal": Order.PaymentMethod.PAYPAL,
    "ppcp-gateway": Order.PaymentMethod.PAYPAL,
}


def _is_gift_card(item: dict[str, Any]) -> bool:
    meta = item.get("meta_data")
    keys = [
        text(entry.get("key")).lower()
        for entry in (meta if isinstance(meta, list) else [])
        if isinstance(entry, dict)
    ]
    return any("gift_card" in key for key in keys) or "gift card" in text(item.get("name")).lower()


def _lines(items: Any) -> tuple[list[dict[str, Any]], list[str]]:
    if not isinstance(items, list) or not items:
        raise IntakeRefused("The order has no line items.")
    lines: list[tuple[str, int, Decimal]] = []
    ignored: list[str] = []
    missing: list[str] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise IntakeRefused(f"Line item {number} is not an object.")
        name = text(item.get("name")) or f"line item {number}"
        sku = text(item.get("sku"), 64)
        if not sku and _is_gift_card(item):
            ignored.append(f"gift card '{name}'")
            continue
        if not sku:
            missing.append(f"'{name}'")
            continue
        what = f"Line item {number} ({sku})"
        # "total" is the line after discounts, before tax ("price" is it divided by quantity).
        lines.append((sku, whole(item.get("quantity"), what), money(item.get("total"), what)))
    return checked_lines(lines, ignored, missing, "WooCommerce"), ignored


def _part(data: Any, key: str, limit: int = 200) -> str:
    return text(data.get(key), limit) if isinstance(data, dict) else ""


def read(topic: str, order: Any) -> IntakeAction:
    """What a WooCommerce order webhook asks; IntakeSkip(refused) when it cannot be taken."""
    external_id = text(order.get("id"), 100) if isinstance(order, dict) else ""
    if not external_id:
        return IntakeSkip(Outcome.REFUSED, "The body is not a WooCommerce order (no id).")
    if topic not in ("order.created", "order.updated"):
        return IntakeSkip(Outcome.IGNORED, f"Topic '{topic}' is not taken here.", external_id)
    status = text(order.get("status")).lower()
    if status in CANCELLED_STATUSES:
        if topic == "order.created":
            return IntakeSkip(
                Outcome.IGNORED, f"Order created as {status}: nothing to take.", external_id
            )
        return IntakeCancel(
            external_id=external_id, cause="shop", reason=f"Order {status} in WooCommerce"
        )
    if status not in TAKEN_STATUSES:
        return IntakeSkip(
            Outcome.IGNORED,
            f"Status '{status}': taken once it is processing, on hold or completed.",
            external_id,
        )
    billing = order.get("billing")
    shipping = order.get("shipping")
    try:
        currency_check(order.get("currency"))
        lines, ignored = _lines(order.get("line_items"))
        charge = money_total(
            order.get("shipping_lines"),
            lambda line: line.get("total"),
            lambda line: f"Shipping line '{text(line.get('method_title'))}'",
        )
    except IntakeRefused as refused:
        return IntakeSkip(Outcome.REFUSED, str(refused), external_id)
    fees = order.get("fee_lines")
    for fee in fees if isinstance(fees, list) else []:
        if isinstance(fee, dict):
            ignored.append(f"fee '{text(fee.get('name'))}' ({text(fee.get('total'), 20)})")
    method = PAYMENT_METHODS.get(
        text(order.get("payment_method")).lower(), Order.PaymentMethod.CARD
    )
    paid = bool(order.get("date_paid") or order.get("date_paid_gmt"))
    ship_name = " ".join(
        p for p in (_part(shipping, "first_name"), _part(shipping, "last_name")) if p
    )
    bill_name = " ".join(
        p for p in (_part(billing, "first_name"), _part(billing, "last_name")) if p
    )
    address = ShippingAddress(
        name=ship_name or bill_name,
        line1=_part(shipping, "address_1"),
        line2=_part(shipping, "address_2"),
        city=_part(shipping, "city", 100),
        region=_part(shipping, "state", 100),
        postal_code=_part(shipping, "postcode", 20),
        country=_part(shipping, "country", 2).upper(),
        phone=_part(shipping, "phone", 30) or _part(billing, "phone", 30),
    )
    return IntakeOrder(
        external_id=external_id,
        customer_email=_part(billing, "email", 254),
        customer_name=bill_name or ship_name,
        address=address,
        lines=lines,
        shipping_charge=charge,
        paid=paid and method != Order.PaymentMethod.COD,
        payment_method=method,
        notes=tuple(f"Ignored {what}." for what in ignored),
        is_update=topic == "order.updated",
    )

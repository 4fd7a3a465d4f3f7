"""What a store's order webhook asks of us, and the service that does it once per delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from inventory.bounds import MAX_AMOUNT, MAX_QUANTITY
from orders.models import Order
from orders.services import order_cancel
from storefront.models import IntakeRecord, SalesChannel
from storefront.services import (
    IdempotencyConflict,
    ShippingAddress,
    request_fingerprint,
    storefront_order_place,
)

Outcome = IntakeRecord.Outcome
CENT = Decimal("0.01")


class IntakeRefused(Exception):
    """The store's order cannot be taken as sent (the message says why, naming the lines)."""


@dataclass(frozen=True)
class IntakeOrder:
    """A new order, in the words of order_place."""

    external_id: str
    customer_email: str
    customer_name: str
    address: ShippingAddress
    lines: Sequence[dict[str, Any]]
    shipping_charge: Decimal
    paid: bool
    payment_method: str
    notes: Sequence[str] = field(default_factory=tuple)
    # An update of a store order (not its creation): if taken already, there is nothing to do.
    is_update: bool = False


@dataclass(frozen=True)
class IntakeCancel:
    external_id: str
    cause: str
    reason: str


@dataclass(frozen=True)
class IntakeSkip:
    """Nothing to do (ignored) or nothing we can do (refused); the detail says why."""

    outcome: str
    detail: str
    external_id: str = ""


IntakeAction = IntakeOrder | IntakeCancel | IntakeSkip


def store_currency() -> str:
    return str(getattr(settings, "STORE_CURRENCY", "USD")).upper()


def signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    """Base64 HMAC-SHA256 of the raw body with the channel's secret, compared in constant time."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("ascii", "replace"))


def text(value: Any, limit: int = 200) -> str:
    """A payload value as clean text (None → '', no NUL characters, cut to the field's size)."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).replace("\x00", "").strip()[:limit]


def money(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except InvalidOperation:
        raise IntakeRefused(f"{what}: '{text(value, 30)}' is not an amount.") from None
    if not amount.is_finite() or amount < 0:
        raise IntakeRefused(f"{what}: '{text(value, 30)}' is not an amount.")
    if amount > MAX_AMOUNT:
        raise IntakeRefused(f"{what}: {text(value, 30)} is more than {MAX_AMOUNT:,}.")
    return amount


def whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise IntakeRefused(f"{what}: the quantity is not a whole number.")
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise IntakeRefused(f"{what}: the quantity is not a whole number.")
    if isinstance(value, str) and len(value) > len(str(MAX_QUANTITY)):
        raise IntakeRefused(f"{what}: {value[:30]} units is more than {MAX_QUANTITY:,}.")
    quantity = int(value)
    if quantity > MAX_QUANTITY:
        raise IntakeRefused(f"{what}: {quantity:,} units is more than {MAX_QUANTITY:,}.")
    return quantity


def order_lines(items: Sequence[tuple[str, int, Decimal]]) -> list[dict[str, Any]]:
    """(SKU, quantity, line total after discounts) → order lines, one per SKU.

    A store may list one SKU on several line items (other options, a split discount); an order
    has one line per SKU, at the average unit price (rounded to the cent).
    """
    merged: dict[str, list[Any]] = {}
    for sku, quantity, total in items:
        if quantity < 1:
            raise IntakeRefused(f"Line item {sku}: the quantity must be at least 1.")
        entry = merged.setdefault(sku.lower(), [sku, 0, Decimal("0")])
        entry[1] += quantity
        entry[2] += total
    return [
        {"sku": sku, "quantity": quantity, "unit_price": (total / quantity).quantize(CENT)}
        for sku, quantity, total in merged.values()
    ]


def money_total(
    entries: Any,
    amount: Callable[[dict[str, Any]], Any],
    what: Callable[[dict[str, Any]], str],
) -> Decimal:
    """The sum of an amount over a list of objects (shipping lines, discount allocations);
    anything that is not a list, or not an object in it, counts as nothing."""
    return sum(
        (
            money(amount(entry), what(entry))
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, dict)
        ),
        Decimal("0"),
    )


def checked_lines(
    lines: Sequence[tuple[str, int, Decimal]], ignored: list[str], missing: list[str], store: str
) -> list[dict[str, Any]]:
    """Order lines from the line items read, refused when some lack a SKU or none is left."""
    if missing:
        raise IntakeRefused(
            f"Line items without a SKU: {', '.join(missing)}. Give each product a SKU in "
            f"{store} that matches one here."
        )
    if not lines:
        raise IntakeRefused(f"Nothing to ship: only {', '.join(ignored)}.")
    return order_lines(lines)


def currency_check(currency: Any) -> None:
    code = text(currency, 10).upper()
    if code and code != store_currency():
        raise IntakeRefused(
            f"The order is in {code}; this store takes orders in {store_currency()} only "
            "(set the store's currency to match, or convert in the shop)."
        )


def _place(channel: SalesChannel, action: IntakeOrder) -> tuple[str, str, Order | None]:
    existing = Order.objects.filter(channel=channel, external_id=action.external_id).first()
    if existing is not None and action.is_update:
        detail = (
            f"Already taken as order {existing.number}; "
            "changes made in the store since are not applied here."
        )
        return Outcome.IGNORED, detail, existing
    if existing is not None:
        return Outcome.DUPLICATE, f"Already taken as order {existing.number}.", existing
    try:
        result = storefront_order_place(
            channel=channel,
            idempotency_key=f"intake:{action.external_id}",
            request_hash=request_fingerprint(
                {"lines": action.lines, "email": action.customer_email}
            ),
            external_id=action.external_id,
            customer_email=action.customer_email,
            customer_name=action.customer_name,
            address=action.address,
            lines=action.lines,
            shipping_charge=action.shipping_charge,
            paid=action.paid,
            payment_method=action.payment_method,
            promised_ship_date=None,
            promised_business_days=None,
            ship_preference=Order.ShipPreference.SHIP_AVAILABLE,
            held_quote=None,
            respond=lambda order: {"number": order.number},
        )
    except ValidationError as exc:
        # Also a concurrent delivery of the same store order under another delivery id.
        existing = Order.objects.filter(channel=channel, external_id=action.external_id).first()
        if existing is not None:
            return Outcome.DUPLICATE, f"Already taken as order {existing.number}.", existing
        return Outcome.REFUSED, " ".join(exc.messages), None
    except IdempotencyConflict:
        existing = Order.objects.filter(channel=channel, external_id=action.external_id).first()
        return Outcome.DUPLICATE, "Already taken.", existing
    order = Order.objects.get(number=result.body["number"])
    if result.replayed:
        return Outcome.DUPLICATE, f"Already taken as order {order.number}.", order
    detail = " ".join([f"Order {order.number} created.", *action.notes])
    return Outcome.CREATED, detail, order


def _cancel(channel: SalesChannel, action: IntakeCancel) -> tuple[str, str, Order | None]:
    order = Order.objects.filter(channel=channel, external_id=action.external_id).first()
    if order is None:
        return (
            Outcome.IGNORED,
            f"No order from this store with id {action.external_id}: nothing to cancel.",
            None,
        )
    try:
        order_cancel(order=order, reason=action.reason, cause=action.cause)
    except ValidationError as exc:
        return Outcome.IGNORED, " ".join(exc.messages), order
    return Outcome.CANCELLED, f"Order {order.number} cancelled ({action.reason}).", order


@transaction.atomic
def intake_receive(
    *, channel: SalesChannel, topic: str, delivery_id: str, source: str, action: IntakeAction
) -> tuple[IntakeRecord, bool]:
    """Do what a webhook delivery asks, once per delivery id; returns (record, was_redelivery).

    The record is inserted first, in the same transaction as the order: a redelivery arriving
    meanwhile waits on it and then finds it. A refused delivery sent again is tried again (the
    missing product may have been added since).
    """
    external_id = action.external_id
    try:
        with transaction.atomic():
            record = IntakeRecord.objects.create(
                channel=channel,
                topic=topic[:100],
                delivery_id=delivery_id[:255],
                source=source[:255],
                external_id=external_id[:100],
                outcome=Outcome.IGNORED,
            )
    except IntegrityError:
        record = IntakeRecord.objects.select_for_update().get(
            channel=channel, delivery_id=delivery_id[:255]
        )
        if record.outcome != Outcome.REFUSED:
            return record, True
    order: Order | None
    if isinstance(action, IntakeOrder):
        outcome, detail, order = _place(channel, action)
    elif isinstance(action, IntakeCancel):
        outcome, detail, order = _cancel(channel, action)
    else:
        outcome, detail, order = action.outcome, action.detail, None
    record.outcome = outcome
    record.detail = detail
    record.order = order
    record.save(update_fields=["outcome", "detail", "order"])
    return record, False

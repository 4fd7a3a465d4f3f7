"""Shipping allocated units."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from config.calendar import store_today, store_zone
from config.formats import count_noun
from inventory.locks import lock_stocks
from inventory.models import StockMovement
from inventory.stock import stock_movement_record
from orders.money import to_cents

from ..locks import lock_order
from ..models import Order, OrderEvent, OrderLine, Shipment, ShipmentLine
from ._common import _events_record, _user

# How far a caller's "shipped now" may trail the moment the shipment is recorded.
SHIPPED_AT_LEEWAY = dt.timedelta(minutes=1)

# Paid for when it arrives or afterwards (C.O.D., an invoice, the customer's account): such an
# order ships unpaid. Every other method's payment is collected before the goods leave.
PAID_AFTER_SHIPPING = frozenset(
    {
        Order.PaymentMethod.COD,
        Order.PaymentMethod.BILL_ME,
        Order.PaymentMethod.STORE_CREDIT,
    }
)


def awaiting_payment_q(prefix: str = "") -> Q:
    """The same test as a query filter (`prefix` is the path to the order, e.g. "order__")."""
    return Q(**{f"{prefix}paid_at__isnull": True}) & ~Q(
        **{f"{prefix}payment_method__in": PAID_AFTER_SHIPPING}
    )


def awaiting_payment(order: Order) -> bool:
    """Whether the order must not ship yet for want of payment (a check or money order still
    in the post): no payment on record and a method paid before shipping."""
    return order.paid_at is None and order.payment_method not in PAID_AFTER_SHIPPING


def shipment_refusal(*, order: Order, line_ids: Sequence[int], now: dt.datetime) -> str:
    """Why these lines must not ship now ('' when they may): settings.SHIPMENT_CHECKS decide
    (the Mail Order Rule forbids shipping late without consent)."""
    for path in settings.SHIPMENT_CHECKS:
        refusal: str = import_string(path)(order=order, line_ids=line_ids, now=now)
        if refusal:
            return refusal
    return ""


@transaction.atomic
def shipment_create(
    *,
    order: Order,
    quantities: Mapping[int, int] | None = None,
    carrier: str = "",
    tracking_number: str = "",
    shipping_method: str = "",
    override_reason: str = "",
    unpaid_reason: str = "",
    shipped_at: dt.datetime | None = None,
    actor: Any = None,
) -> Shipment:
    """Ship allocated units (all of them, or `quantities` by line id).

    A ship-complete order ships only when nothing is backordered, unless staff give a reason;
    an order awaiting payment ships only with `unpaid_reason`, recorded with who gave it.
    """
    product_ids = list(order.lines.values_list("product_id", flat=True))
    stocks = lock_stocks(product_ids=product_ids)
    order = lock_order(order_id=order.pk)
    lines = {line.pk: line for line in order.lines.select_related("product")}
    if quantities is None:
        quantities = {
            pk: line.quantity_allocated for pk, line in lines.items() if line.quantity_allocated
        }
        if not quantities:
            raise ValidationError(f"Order {order.number} has no allocated units to ship.")
    errors = []
    for line_id, units in quantities.items():
        line = lines.get(line_id)
        if line is None:
            errors.append(f"Line {line_id} is not on order {order.number}.")
        elif isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            errors.append(f"{line.product.sku}: quantity to ship must be at least 1.")
        elif units > line.quantity_allocated:
            errors.append(
                f"{line.product.sku}: only {line.quantity_allocated} allocated, "
                f"cannot ship {units}."
            )
    if errors:
        raise ValidationError(errors)
    override_reason = (override_reason or "").strip()
    waiting = sum(line.backordered for line in lines.values())
    unshipped_allocated = sum(line.quantity_allocated for line in lines.values()) - sum(
        quantities.values()
    )
    if (
        order.ship_preference == Order.ShipPreference.SHIP_COMPLETE
        and not override_reason
        and (waiting or unshipped_allocated)
    ):
        raise ValidationError(
            f"Order {order.number} ships complete and "
            f"{count_noun(waiting + unshipped_allocated, 'unit')} would stay behind; give a reason "
            "to ship part of it now."
        )

    unpaid_reason = (unpaid_reason or "").strip()
    unpaid = awaiting_payment(order)
    if unpaid and not unpaid_reason:
        raise ValidationError(
            f"Order {order.number} is not paid yet ({order.get_payment_method_display()}): "
            "record the payment first, or give a reason to ship it unpaid."
        )
    now = timezone.now()
    if shipped_at is not None and (
        shipped_at < now - SHIPPED_AT_LEEWAY or store_today(shipped_at) < store_today(now)
    ):
        given = shipped_at.astimezone(store_zone())
        raise ValidationError(
            "A shipment is recorded when it is handed to the carrier: it cannot be dated "
            f"earlier than now ({given:%Y-%m-%d %H:%M} was given)."
        )
    refusal = shipment_refusal(order=order, line_ids=list(quantities), now=now)
    if refusal:
        raise ValidationError(refusal)
    shipment = Shipment.objects.create(
        order=order,
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
        shipping_method=shipping_method.strip(),
        shipped_at=shipped_at or now,
        override_reason="; ".join(
            filter(None, [override_reason, f"shipped unpaid: {unpaid_reason}" if unpaid else ""])
        )[:200],
        created_by=_user(actor),
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=units)
        for line_id, units in quantities.items()
    )
    for line_id, units in quantities.items():
        lines[line_id].quantity_allocated -= units
        lines[line_id].quantity_shipped += units
    OrderLine.objects.bulk_update(
        [lines[line_id] for line_id in quantities], ["quantity_allocated", "quantity_shipped"]
    )
    by_product: dict[int, int] = defaultdict(int)
    for line_id, units in quantities.items():
        by_product[lines[line_id].product_id] += units
    for product_id in sorted(by_product):
        units = by_product[product_id]
        stock_movement_record(
            stock=stocks[product_id],
            kind=StockMovement.Kind.SHIPMENT,
            quantity=-units,
            allocated_delta=-units,
            reason="Shipped",
            reference=order.number,
            actor=_user(actor),
        )
    value = to_cents(sum((lines[i].unit_price * u for i, u in quantities.items()), Decimal("0")))
    changes: dict[str, Any] = {}
    if settings.PAYMENT_CAPTURE == "shipment" and order.amount_paid > order.amount_captured:
        capture = min(value, order.amount_paid - order.amount_captured)
        changes["amount_captured"] = F("amount_captured") + capture
    # Every product's stock of the order is locked: no one else can give it units now.
    holds_stock = any(line.quantity_allocated for line in lines.values())
    if order.holds_stock != holds_stock:
        order.holds_stock = changes["holds_stock"] = holds_stock
    if changes:
        Order.objects.filter(pk=order.pk).update(**changes)
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.SHIPPED,
                message=f"Shipped {count_noun(sum(quantities.values()), 'unit')}"
                + (f" by {shipment.carrier}" if shipment.carrier else "")
                + (f", tracking {shipment.tracking_number}" if shipment.tracking_number else "")
                + (
                    f" (partial, ship-complete overridden: {override_reason})"
                    if override_reason
                    else ""
                )
                + (f" (shipped unpaid: {unpaid_reason})" if unpaid else ""),
                data={
                    "shipment": shipment.pk,
                    "carrier": shipment.carrier,
                    "tracking_number": shipment.tracking_number,
                    "shipping_method": shipment.shipping_method,
                    "lines": [
                        {"sku": lines[i].product.sku, "line": i, "shipped": u}
                        for i, u in quantities.items()
                    ],
                    "value": str(value),
                    **({"unpaid_override": unpaid_reason} if unpaid else {}),
                },
                actor=_user(actor),
            )
        ]
    )
    return shipment

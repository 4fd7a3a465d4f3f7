"""Changing where and how an order ships, until it has shipped."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ..locks import lock_order
from ..models import Order, OrderEvent, OrderLine
from ._common import _events_record, _user
from .requests import ShippingAddress, _address_errors

# A new destination needs at least these; the rest (line 2, region, postcode) may be empty.
_REQUIRED_ADDRESS_FIELDS = {"name": "name", "line1": "address line 1", "city": "city"}


class DeliveryChangeRefused(ValidationError):
    """The order has nothing left to ship (all shipped or cancelled): its delivery is settled."""


def _delivery_values(order: Order) -> dict[str, str]:
    return {
        "ship_preference": order.ship_preference,
        **{name: getattr(order, f"ship_to_{name}") for name in vars(ShippingAddress())},
    }


def _requested_values(
    *, ship_preference: str | None, address: ShippingAddress | None, phone: str | None
) -> dict[str, str]:
    """The fields the caller wants changed, cleaned; ValidationError naming each bad one."""
    errors: list[str] = []
    wanted: dict[str, str] = {}
    if ship_preference is not None:
        if ship_preference not in Order.ShipPreference.values:
            errors.append(f"Unknown ship preference '{ship_preference}'.")
        wanted["ship_preference"] = ship_preference
    if address is not None:
        address = address.cleaned()
        if phone is not None:
            address = dataclasses.replace(address, phone=" ".join(phone.split()))
        errors.extend(_address_errors(address))
        errors.extend(
            f"Shipping address: the {label} is required."
            for name, label in _REQUIRED_ADDRESS_FIELDS.items()
            if not getattr(address, name)
        )
        if not address.country:
            errors.append("Shipping address: the country is required.")
        wanted.update(vars(address))
    elif phone is not None:
        phone = " ".join(phone.split())
        errors.extend(_address_errors(ShippingAddress(phone=phone)))
        wanted["phone"] = phone
    if errors:
        raise ValidationError(errors)
    return wanted


def _settled_refusal(order: Order) -> str:
    """Why the order's delivery can no longer change ('' while some units are still to ship)."""
    lines = list(
        OrderLine.objects.filter(order=order).only(
            "quantity", "quantity_shipped", "quantity_cancelled"
        )
    )
    if any(line.quantity_open > 0 for line in lines):
        return ""
    if lines and any(line.quantity_shipped for line in lines):
        return f"Order {order.number} has shipped: its delivery can no longer be changed."
    return f"Order {order.number} is cancelled: there is nothing left to deliver."


@transaction.atomic
def order_delivery_change(
    *,
    order: Order,
    ship_preference: str | None = None,
    address: ShippingAddress | None = None,
    phone: str | None = None,
    reason: str = "",
    actor: Any = None,
) -> Order:
    """Change the ship preference, the shipping address or the phone of an order that still
    has units to ship; the change applies to every unit not yet shipped.

    `address` replaces the whole address (its phone too, unless `phone` is given). Values equal
    to the current ones change nothing and record nothing, so a repeated request is harmless.
    Raises ValidationError for bad values and DeliveryChangeRefused once nothing is left to ship.
    """
    wanted = _requested_values(ship_preference=ship_preference, address=address, phone=phone)
    if not wanted:
        raise ValidationError("Give a ship preference, an address or a phone number to change.")
    # Shipping and cancelling write the lines only while holding the order lock (taken after
    # the stock locks, which this needs none of): once it is ours, nothing ships underneath.
    order = lock_order(order_id=order.pk)
    before = _delivery_values(order)
    changed = {field: value for field, value in wanted.items() if before[field] != value}
    if not changed:
        return order
    refusal = _settled_refusal(order)
    if refusal:
        raise DeliveryChangeRefused(refusal)
    for field, value in changed.items():
        setattr(order, field if field == "ship_preference" else f"ship_to_{field}", value)
    order.save(
        update_fields=[f if f == "ship_preference" else f"ship_to_{f}" for f in sorted(changed)]
    )
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.DELIVERY_CHANGED,
                message=_message(order, changed, reason=reason.strip())[:300],
                data={
                    "changed": sorted(changed),
                    "before": {field: before[field] for field in sorted(changed)},
                    "after": {field: changed[field] for field in sorted(changed)},
                    "reason": reason.strip(),
                },
                actor=_user(actor),
            )
        ]
    )
    return order


def _message(order: Order, changed: dict[str, str], *, reason: str) -> str:
    parts = []
    if "ship_preference" in changed:
        label = Order.ShipPreference(changed["ship_preference"]).label
        parts.append(f"ship preference now '{label}'")
    if set(changed) - {"ship_preference", "phone"}:
        place = ", ".join(
            value
            for value in (order.ship_to_city, order.ship_to_postal_code, order.ship_to_country)
            if value
        )
        parts.append(f"ships to a new address ({place})")
    if "phone" in changed:
        parts.append("phone changed")
    message = "Delivery changed: " + "; ".join(parts)
    return f"{message} ({reason})" if reason else message

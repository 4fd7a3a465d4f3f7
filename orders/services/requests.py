"""What an order asks for: its lines and where it ships, as every channel hands them in."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..models import Order


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    unit_price: Decimal | None = None
    # A later issue of a subscription (the storefront knows): exempt from the Mail Order Rule.
    later_subscription_issue: bool = False


LINE_FIELDS = {"sku", "quantity", "unit_price", "later_subscription_issue"}


@dataclass(frozen=True)
class ShippingAddress:
    """Where an order ships, and a phone number for the carrier (all optional here)."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    phone: str = ""

    def cleaned(self) -> ShippingAddress:
        fields = {name: " ".join(str(value).split()) for name, value in vars(self).items()}
        fields["country"] = fields["country"].upper()
        return ShippingAddress(**fields)

    def order_fields(self) -> dict[str, str]:
        """The Order fields (`ship_to_*`) this address fills."""
        return {f"ship_to_{name}": value for name, value in vars(self).items()}


def _address_errors(address: ShippingAddress) -> list[str]:
    """What is wrong with a shipping address (lengths, country code), one message each."""
    errors = []
    for field, value in address.order_fields().items():
        model_field = Order._meta.get_field(field)
        limit = getattr(model_field, "max_length", None)
        if limit and len(value) > limit:
            label = str(getattr(model_field, "verbose_name", field))
            errors.append(f"Shipping address: the {label} is at most {limit} characters.")
    country = address.country
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        errors.append(
            f"Shipping address: '{country}' is not a two-letter country code (e.g. US, GB)."
        )
    return errors

"""Forms for the orders screens: a phone or email order, its lines, and marking a refund issued."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.forms import formset_factory

from inventory.bounds import validate_plausible_date
from inventory.models import Product
from orders.models import Order
from orders.services import LineRequest, ShippingAddress
from storefront.countries import COUNTRY_CODES

from ..forms import StaffForm
from .selectors import products_by_sku

LINE_ROWS = 5
MAX_LINE_ROWS = 50
COUNTRY_CHOICES = [("", "Choose a country")] + [(code, code) for code in sorted(COUNTRY_CODES)]
PHONE_CHARACTERS = set("0123456789 +()-./")
ADDRESS_PARTS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


class ShipToForm(forms.Form):
    """Where an order ships: a new order's address, or a changed one."""

    ship_to_name = forms.CharField(
        label="Ship to (name)",
        max_length=200,
        error_messages={"required": "Enter the name the parcel is addressed to."},
    )
    ship_to_line1 = forms.CharField(
        label="Address line 1",
        max_length=200,
        error_messages={"required": "Enter the street address."},
    )
    ship_to_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    ship_to_city = forms.CharField(
        label="City", max_length=100, error_messages={"required": "Enter the city."}
    )
    ship_to_region = forms.CharField(label="State or region", max_length=100, required=False)
    ship_to_postal_code = forms.CharField(
        label="Postal code",
        max_length=20,
        error_messages={"required": "Enter the postal code."},
    )
    ship_to_country = forms.ChoiceField(
        label="Country",
        choices=COUNTRY_CHOICES,
        initial="US",
        error_messages={
            "required": "Choose the country.",
            "invalid_choice": "Choose a country from the list (a two-letter code such as US).",
        },
    )
    ship_to_phone = forms.CharField(
        label="Phone",
        max_length=30,
        required=False,
        help_text="For the carrier, if the customer gave one.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )

    def clean_ship_to_phone(self) -> str:
        phone: str = self.cleaned_data.get("ship_to_phone", "")
        if phone and not set(phone) <= PHONE_CHARACTERS:
            raise forms.ValidationError("A phone number has digits, spaces, + ( ) . / -.")
        return phone

    def shipping_address(self) -> ShippingAddress:
        return ShippingAddress(
            **{name: self.cleaned_data[f"ship_to_{name}"] for name in ADDRESS_PARTS}
        )


class OrderNewForm(ShipToForm):
    customer_email = forms.EmailField(
        label="Customer email",
        help_text="An existing customer is found by email; otherwise a new one is created.",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "list": "customer-emails"}),
    )
    customer_name = forms.CharField(label="Customer name", max_length=200, required=False)
    promised_ship_date = forms.DateField(
        label="Promised ship date",
        required=False,
        help_text="The ship-by date told to the customer, if any.",
        validators=[validate_plausible_date],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    promised_business_days = forms.IntegerField(
        label="Or: ships within (business days)",
        required=False,
        min_value=1,
        max_value=365,
        help_text='A stated time such as "ships in 3 business days". Leave both empty for the '
        "30-day rule.",
    )
    ship_preference = forms.ChoiceField(
        label="Ship preference",
        choices=Order.ShipPreference.choices,
        initial=Order.ShipPreference.SHIP_AVAILABLE,
    )
    payment_method = forms.ChoiceField(
        label="Payment method",
        choices=Order.PaymentMethod.choices,
        initial=Order.PaymentMethod.CARD,
    )
    paid = forms.BooleanField(
        label="Payment received or authorised",
        required=False,
        initial=True,
        help_text="Untick when the order waits for a check or money order.",
    )
    shipping_charge = forms.DecimalField(
        label="Shipping charge",
        required=False,
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=2,
        help_text="Leave empty to charge the store's shipping rate; type 0 to ship free.",
        widget=forms.NumberInput(
            attrs={"step": "0.01", "inputmode": "decimal", "placeholder": "store rate"}
        ),
    )
    # Shown only when a line's quantity is far above its product's usual.
    quantities_confirmed = forms.BooleanField(label="Yes, the quantities are right", required=False)

    def __init__(self, *args: Any, today: dt.date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.asking_quantities = bool(self.data.get("quantities_confirmed"))

    def clean_promised_ship_date(self) -> dt.date | None:
        date: dt.date | None = self.cleaned_data.get("promised_ship_date")
        if date is not None and self.today is not None and date < self.today:
            raise forms.ValidationError("The promised ship date cannot be in the past.")
        return date

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("promised_ship_date") and cleaned.get("promised_business_days"):
            raise forms.ValidationError(
                "Give either a promised ship date or a number of business days, not both."
            )
        return cleaned


class OrderLineForm(forms.Form):
    sku = forms.CharField(
        label="SKU",
        max_length=64,
        error_messages={"required": "Enter a SKU, or clear this row's quantity."},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "list": "product-skus", "class": "quote-sku"}
        ),
    )
    quantity = forms.IntegerField(
        label="Quantity",
        min_value=1,
        max_value=100000,
        error_messages={"required": "Enter a quantity of at least 1."},
        widget=forms.NumberInput(attrs={"class": "quote-quantity", "inputmode": "numeric"}),
    )


class BaseOrderLineFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        filled = self.filled_forms()
        if not filled:
            raise forms.ValidationError("Add at least one line: a SKU and a quantity.")
        known = products_by_sku(skus=[form.cleaned_data["sku"] for form in filled])
        first_row: dict[str, int] = {}
        for row, form in self.filled_rows():
            sku = form.cleaned_data["sku"].strip()
            key = sku.lower()
            if key not in known:
                form.add_error("sku", f"Line {row}: no product has the SKU '{sku}'.")
            elif key in first_row:
                form.add_error("sku", f"Line {row}: {sku} is already on line {first_row[key]}.")
            else:
                first_row[key] = row

    def filled_rows(self) -> list[tuple[int, forms.Form]]:
        """(row number from 1, form) of the rows with something in them; blank rows are ignored."""
        return [(row, form) for row, form in enumerate(self.forms, start=1) if form.has_changed()]

    def filled_forms(self) -> list[forms.Form]:
        return [form for _, form in self.filled_rows()]

    def line_requests(self) -> list[tuple[int, LineRequest]]:
        return [
            (
                row,
                LineRequest(
                    sku=form.cleaned_data["sku"].strip(), quantity=form.cleaned_data["quantity"]
                ),
            )
            for row, form in self.filled_rows()
        ]


LINE_PREFIX = "lines"

OrderLineFormSet = formset_factory(
    OrderLineForm,
    formset=BaseOrderLineFormSet,
    extra=LINE_ROWS,
    max_num=MAX_LINE_ROWS,
    absolute_max=MAX_LINE_ROWS,
    validate_max=True,
)


class RefundIssueForm(forms.Form):
    reference = forms.CharField(
        label="Refund reference",
        max_length=100,
        help_text="The payment provider's refund id, check number or similar.",
        error_messages={"required": "Give the refund's reference (e.g. the provider's refund id)."},
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class RefundFailedForm(forms.Form):
    reason = forms.CharField(
        label="Why it failed",
        max_length=200,
        error_messages={"required": "Say why the refund failed (e.g. the card is closed)."},
    )
    method = forms.ChoiceField(
        label="Owed instead by",
        choices=[("check", "Check"), ("money_order", "Money order"), ("cash", "Cash")],
        error_messages={"invalid_choice": "Choose cash, check or money order."},
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class FollowUpDoneForm(forms.Form):
    how = forms.CharField(
        label="How the customer was told",
        max_length=200,
        error_messages={"required": "Say how the customer was told (e.g. phoned)."},
    )


def order_line_formset(data: Any = None) -> BaseOrderLineFormSet:
    """The line rows of the new-order form (bound when `data` is given)."""
    return cast(BaseOrderLineFormSet, OrderLineFormSet(data, prefix=LINE_PREFIX))


# --- acting on an order from its page ------------------------------------------------------


class ReasonForm(StaffForm):
    reason = forms.CharField(
        max_length=200,
        help_text="Shown on the order's timeline.",
        error_messages={"required": "Give a reason: it goes on the order's timeline."},
    )


class SubstituteForm(StaffForm):
    substitute = forms.ChoiceField(
        label="Send instead",
        error_messages={
            "required": "Choose the product to send instead.",
            "invalid_choice": "Choose one of the substitutes listed.",
        },
    )
    reason = forms.CharField(
        max_length=200,
        label="How the customer accepted",
        help_text="E.g. “agreed by phone”. A substitute is sent only with the customer's consent.",
        error_messages={"required": "Say how the customer accepted the substitute."},
    )

    def __init__(self, *args: Any, candidates: list[Product], units: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = {product.sku: product for product in candidates}
        cast(forms.ChoiceField, self.fields["substitute"]).choices = [
            (
                product.sku,
                f"{product.sku} — {product.name} ({product.stock.available} available"
                + ("" if product.stock.available >= units else f", {units} needed")
                + ")",
            )
            for product in candidates
        ]

    def chosen(self) -> Product:
        return self.candidates[self.cleaned_data["substitute"]]


class DeliveryChangeForm(ShipToForm):
    """A new ship preference or address for what has not shipped yet."""

    # As on the new-order page: name beside phone, then the address two parts to a row.
    field_order = [
        "ship_preference",
        "ship_to_name",
        "ship_to_phone",
        "ship_to_line1",
        "ship_to_line2",
        "ship_to_city",
        "ship_to_region",
        "ship_to_postal_code",
        "ship_to_country",
        "reason",
    ]

    ship_preference = forms.ChoiceField(
        label="Ship preference", choices=Order.ShipPreference.choices
    )
    reason = forms.CharField(
        label="Why (optional)",
        max_length=200,
        required=False,
        help_text="Shown on the order's timeline, e.g. “customer moved”.",
    )

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault(
            "initial",
            {"ship_preference": order.ship_preference}
            | {f"ship_to_{name}": getattr(order, f"ship_to_{name}") for name in ADDRESS_PARTS},
        )
        super().__init__(*args, **kwargs)

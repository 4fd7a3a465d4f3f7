"""Forms for the shipping screens: they parse, services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from orders.models import Order, OrderLine
from orders.services import awaiting_payment

from ..forms import StaffForm


class ShipForm(StaffForm):
    carrier = forms.CharField(max_length=60, required=False)
    tracking_number = forms.CharField(label="Tracking number", max_length=100, required=False)
    shipping_method = forms.CharField(label="Shipping method", max_length=60, required=False)
    override_reason = forms.CharField(
        label="Reason to ship part of a ship-complete order",
        max_length=200,
        required=False,
        help_text="Only needed when the customer asked to receive everything together.",
    )
    unpaid_reason = forms.CharField(
        label="Reason to ship before payment arrives",
        max_length=160,
        required=False,
        help_text="The order is not paid yet. Record the payment on the order page instead, "
        "unless there is a reason to ship now (recorded with your name).",
    )

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.line_fields: list[tuple[OrderLine, str]] = []
        for line in order.lines.all():
            if not line.quantity_allocated:
                continue
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"Units of {line.product.sku} to ship",
                min_value=0,
                max_value=line.quantity_allocated,
                initial=line.quantity_allocated,
                error_messages={
                    "max_value": f"Only {line.quantity_allocated} allocated.",
                    "min_value": "Cannot be negative.",
                },
            )
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "class": "qty"})
            self.line_fields.append((line, name))
        if order.ship_preference != Order.ShipPreference.SHIP_COMPLETE:
            del self.fields["override_reason"]
        self.awaiting_payment = awaiting_payment(order)
        if not self.awaiting_payment:
            del self.fields["unpaid_reason"]

    def shipment_fields(self) -> list[forms.BoundField]:
        """Carrier, tracking, method and (ship-complete orders) the override reason."""
        return [self[name] for name in self.fields if not name.startswith("line_")]

    def rows(self) -> list[tuple[OrderLine, forms.BoundField | None]]:
        """Every line of the order, with its quantity field when it has units to ship."""
        names = {line.pk: name for line, name in self.line_fields}
        return [
            (line, self[names[line.pk]] if line.pk in names else None)
            for line in self.order.lines.all()
        ]

    def quantities(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data[name]
            for line, name in self.line_fields
            if self.cleaned_data.get(name)
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not self.errors and self.line_fields and not self.quantities():
            raise forms.ValidationError("Choose at least one unit to ship.")
        if not self.line_fields:
            raise forms.ValidationError(f"Order {self.order.number} has nothing allocated to ship.")
        return cleaned

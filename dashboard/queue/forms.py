"""Forms for the queue, products, receiving and shipping screens: they parse, services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from config.formats import count_noun
from orders.models import OrderLine

from ..forms import StaffForm

CAUSE_CHOICES = [
    ("customer", "The customer asked"),
    ("shop", "The shop cannot supply it"),
    ("discontinued", "The product is discontinued"),
]


class PrioritiseForm(StaffForm):
    reason = forms.CharField(
        max_length=200,
        help_text="Shown on the order's timeline, e.g. “VIP customer” or “replacement order”.",
    )


class QueueCancelForm(StaffForm):
    reason = forms.CharField(max_length=200, help_text="Shown on the order's timeline.")
    cause = forms.ChoiceField(choices=CAUSE_CHOICES, initial="customer")
    quantity = forms.IntegerField(
        min_value=1,
        help_text="Backordered units are cancelled first, then allocated ones.",
        error_messages={"min_value": "Cancel at least 1 unit."},
    )

    def __init__(self, *args: Any, line: OrderLine, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        quantity = self.fields["quantity"]
        quantity.widget.attrs["max"] = line.quantity_open
        quantity.initial = line.backordered or line.quantity_open

    def clean_quantity(self) -> int:
        quantity: int = self.cleaned_data["quantity"]
        if quantity > self.line.quantity_open:
            raise forms.ValidationError(
                f"Only {count_noun(self.line.quantity_open, 'unit')} of this line can still be "
                "cancelled."
            )
        return quantity

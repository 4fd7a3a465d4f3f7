"""Forms for the products board."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from inventory.models import Product

from ..forms import StaffForm
from .selectors import suppliers

POLICY_CHOICES = [
    ("", "Any policy"),
    (Product.BackorderPolicy.ALLOW, "Backorders allowed"),
    (Product.BackorderPolicy.DENY, "Backorders denied"),
    ("preorder", "Preorder"),
    ("discontinued", "Discontinued"),
]


class ProductFilterForm(StaffForm):
    q = forms.CharField(label="Search SKU or name", required=False)
    backordered = forms.BooleanField(label="Backordered only", required=False)
    low = forms.BooleanField(label="Low stock only", required=False)
    supplier = forms.TypedChoiceField(
        label="Supplier", required=False, coerce=int, empty_value=None
    )
    policy = forms.ChoiceField(label="Policy", required=False, choices=POLICY_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        supplier = cast(forms.TypedChoiceField, self.fields["supplier"])
        supplier.choices = [("", "Any supplier")] + [(s.pk, s.name) for s in suppliers()]
        self.fields["q"].widget.attrs.update({"type": "search", "placeholder": "SKU or name"})

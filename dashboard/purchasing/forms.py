"""Forms for the purchasing screens: they parse and check input; the services do the work."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator

from config.calendar import store_today
from inventory.bounds import (
    MAX_QUANTITY,
    IdChoiceField,
    IdMultipleChoiceField,
    validate_plausible_date,
)
from inventory.models import Product, PurchaseOrder, PurchaseOrderLine, Supplier
from inventory.services import PurchaseLineRequest

from ..lists.filters import DUE_WINDOWS
from .selectors import products_by_sku


class DateInput(forms.DateInput):
    input_type = "date"


class PurchaseOrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *PurchaseOrder.Status.choices], required=False
    )
    supplier = forms.ModelChoiceField(
        queryset=Supplier.objects.order_by("name"), required=False, empty_label="Any supplier"
    )
    due = forms.ChoiceField(
        label="Next expected",
        choices=[("", "Any date"), *DUE_WINDOWS.items()],
        required=False,
    )


class PurchaseOrderForm(forms.Form):
    supplier = IdChoiceField(queryset=Supplier.objects.order_by("name"))
    note = forms.CharField(max_length=300, required=False)
    send = forms.BooleanField(
        label="Send to the supplier now",
        required=False,
        help_text="A sent order counts as incoming supply and moves customers' ETAs.",
    )


class PurchaseLineForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    expected_date = forms.DateField(
        label="Expected date", widget=DateInput, validators=[validate_plausible_date]
    )
    unit_cost = forms.DecimalField(
        label="Unit cost",
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text="What the supplier charges per unit (optional).",
    )

    def clean_expected_date(self) -> dt.date:
        expected: dt.date = self.cleaned_data["expected_date"]
        if expected < store_today():
            raise forms.ValidationError("The expected date cannot be in the past.")
        return expected


class BasePurchaseLineFormSet(forms.BaseFormSet):
    """Line rows; blank rows are ignored, SKUs are looked up together (one query)."""

    def clean(self) -> None:
        self.requests: list[PurchaseLineRequest] = []
        if any(self.errors):
            return
        rows = [form for form in self.forms if form.has_changed() and form.cleaned_data]
        if not rows:
            raise forms.ValidationError("Add at least one line.")
        products = products_by_sku(form.cleaned_data["sku"] for form in rows)
        valid = True
        for form in rows:
            sku = form.cleaned_data["sku"].strip()
            product = products.get(sku.lower())
            if product is None:
                form.add_error("sku", f"No product with SKU {sku}.")
                valid = False
                continue
            self.requests.append(
                PurchaseLineRequest(
                    product=product,
                    quantity=form.cleaned_data["quantity"],
                    expected_date=form.cleaned_data["expected_date"],
                    unit_cost=form.cleaned_data.get("unit_cost"),
                )
            )
        if not valid:
            raise forms.ValidationError("Some lines need fixing.")


PurchaseLineFormSet = forms.formset_factory(
    PurchaseLineForm, formset=BasePurchaseLineFormSet, extra=5, max_num=50, validate_max=True
)


class SuggestionsForm(forms.Form):
    products = IdMultipleChoiceField(
        queryset=Product.objects.all(),
        error_messages={"required": "Tick at least one product to reorder."},
    )
    send = forms.BooleanField(label="Send to the suppliers now", required=False)


class ReceiveLineForm(forms.Form):
    quantity = forms.IntegerField(min_value=1)

    def __init__(self, *args: Any, line: PurchaseOrderLine, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.fields["quantity"].validators.append(MaxValueValidator(line.quantity_outstanding))
        self.fields["quantity"].widget.attrs["max"] = line.quantity_outstanding


class LineCostForm(forms.Form):
    unit_cost = forms.DecimalField(
        label="Unit cost",
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text="Empty: the cost is not known.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200)


class RescheduleForm(forms.Form):
    expected_date = forms.DateField(
        label="New expected date", widget=DateInput, validators=[validate_plausible_date]
    )
    reason = forms.CharField(
        max_length=200,
        required=False,
        help_text="The supplier's reason. Customers see it in their ETA email.",
    )

    def __init__(
        self, *args: Any, line: PurchaseOrderLine, reason_required: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.reason_required = reason_required

    def clean_expected_date(self) -> dt.date:
        expected: dt.date = self.cleaned_data["expected_date"]
        if expected == self.line.expected_date:
            raise forms.ValidationError(f"The line is already expected on {expected:%Y-%m-%d}.")
        if expected < store_today():
            raise forms.ValidationError("The expected date cannot be in the past.")
        return expected

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data.get("reason", "").strip()
        if self.reason_required and not reason:
            raise forms.ValidationError("Say why the date changed before saving it.")
        return reason

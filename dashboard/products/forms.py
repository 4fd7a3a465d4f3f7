"""Forms for the products board."""

from __future__ import annotations

import base64
import binascii
from typing import Any, cast

from django import forms

from inventory.models import Product
from orders.services import ImportKind
from orders.services.imports import MAX_IMPORT_BYTES

from ..forms import StaffForm
from .selectors import STOCK_STATES, suppliers

POLICY_CHOICES = [
    ("", "Any policy"),
    (Product.BackorderPolicy.ALLOW, "Backorders allowed"),
    (Product.BackorderPolicy.DENY, "Backorders denied"),
    ("preorder", "Preorder"),
    ("discontinued", "Discontinued"),
]


class ProductFilterForm(StaffForm):
    q = forms.CharField(label="Search SKU or name", required=False, max_length=100)
    stock = forms.ChoiceField(
        label="Stock", required=False, choices=[("", "Any stock"), *STOCK_STATES.items()]
    )
    # Older links' checkboxes, the same as stock=backordered / stock=low.
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
        self.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": "SKU or name", "data-list-search": ""}
        )


class ImportUploadForm(StaffForm):
    kind = forms.ChoiceField(
        label="The file holds",
        choices=ImportKind.choices,
        initial=ImportKind.PRODUCTS,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what the file holds: products or stock counts."},
    )
    file = forms.FileField(
        label="CSV file",
        error_messages={
            "required": "Choose a CSV file to upload.",
            "empty": "The file is empty.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB; split it up."
            )
        return cast(bytes, upload.read())


class ImportApplyForm(StaffForm):
    """The previewed file, carried back unchanged, and the fingerprint of the preview shown."""

    kind = forms.ChoiceField(choices=ImportKind.choices, widget=forms.HiddenInput)
    content = forms.CharField(
        max_length=(MAX_IMPORT_BYTES * 4) // 3 + 4, widget=forms.HiddenInput, strip=False
    )
    fingerprint = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)

    def clean_content(self) -> bytes:
        try:
            return base64.b64decode(self.cleaned_data["content"], validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError(
                "The previewed file was damaged; upload it again."
            ) from None

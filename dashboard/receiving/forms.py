"""Forms for the receiving screen: they parse, services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone

from inventory.bounds import IdChoiceField
from inventory.models import Product, PurchaseOrderLine
from inventory.selectors import earlier_receipt
from orders.selectors import usual_quantity

from ..forms import StaffForm
from .selectors import product_by_sku, receivable_purchase_lines


class PurchaseLineChoiceField(IdChoiceField):
    def label_from_instance(self, obj: PurchaseOrderLine) -> str:
        outstanding = obj.quantity_ordered - obj.quantity_received
        return (
            f"{obj.purchase_order.number} · {obj.product.sku} — {outstanding} outstanding, "
            f"expected {obj.expected_date:%Y-%m-%d} ({obj.purchase_order.supplier.name})"
        )


class ReceiveForm(StaffForm):
    sku = forms.CharField(
        label="SKU",
        required=False,
        max_length=64,
        help_text="Type or scan; a scanner's Enter receives the quantity below.",
    )
    purchase_line = PurchaseLineChoiceField(
        label="Purchase order line",
        queryset=PurchaseOrderLine.objects.none(),
        required=False,
        empty_label="None — receive without a purchase order",
    )
    quantity = forms.IntegerField(
        min_value=1,
        max_value=100_000,
        initial=1,
        error_messages={
            "min_value": "Quantity must be at least 1.",
            "invalid": "Quantity must be a whole number.",
            "required": "Enter how many units arrived.",
        },
    )
    reference = forms.CharField(
        label="Reference",
        required=False,
        max_length=100,
        help_text="Delivery note number (optional; a PO line uses the PO number).",
    )
    # Shown only when the receipt needs them: see clean().
    receive_again = forms.BooleanField(
        label="Yes, this is another delivery under the same reference", required=False
    )
    quantity_confirmed = forms.BooleanField(label="Yes, the quantity is right", required=False)
    CONFIRMATIONS = ("receive_again", "quantity_confirmed")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        purchase_line = cast(PurchaseLineChoiceField, self.fields["purchase_line"])
        purchase_line.queryset = receivable_purchase_lines()
        self.fields["sku"].widget.attrs.update(
            {"autofocus": True, "autocomplete": "off", "autocapitalize": "characters"}
        )
        self.fields["quantity"].widget.attrs.update({"inputmode": "numeric"})
        self.product: Product | None = None
        self.asking: set[str] = set()

    def shown_fields(self) -> list[forms.BoundField]:
        """Every field, but the confirmations only once there is something to confirm."""
        return [
            self[name]
            for name in self.fields
            if name not in self.CONFIRMATIONS or name in self.asking or self.data.get(name)
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        sku = (cleaned.get("sku") or "").strip()
        line: PurchaseOrderLine | None = cleaned.get("purchase_line")
        if sku:
            self.product = product_by_sku(sku=sku)
            if self.product is None:
                self.add_error("sku", f"No product has the SKU “{sku}”.")
                return cleaned
        if line is not None:
            if self.product is not None and self.product.pk != line.product_id:
                self.add_error(
                    "purchase_line",
                    f"{line.purchase_order.number} is for {line.product.sku}, not {sku}.",
                )
            self.product = line.product
        elif not sku and "sku" not in self.errors:
            self.add_error("sku", "Enter or scan a SKU, or pick a purchase order line.")
        if self.product is not None and line is None and not self.errors:
            self._confirm_unusual(self.product, cleaned)
        return cleaned

    def _confirm_unusual(self, product: Product, cleaned: dict[str, Any]) -> None:
        """A reference already used, or a quantity far above the usual, is asked about first."""
        reference = (cleaned.get("reference") or "").strip()
        earlier = earlier_receipt(product_id=product.pk, reference=reference)
        if earlier is not None and not cleaned.get("receive_again"):
            self.asking.add("receive_again")
            self.add_error(
                "reference",
                f"“{reference}” was already used: {earlier.quantity} × {product.sku} received "
                f"{timezone.localtime(earlier.created_at):%Y-%m-%d %H:%M}. If this is another "
                "delivery, tick the box below and receive again.",
            )
        quantity: int = cleaned["quantity"]
        usual = usual_quantity(product_id=product.pk)
        if usual.far_above(quantity) and not cleaned.get("quantity_confirmed"):
            self.asking.add("quantity_confirmed")
            self.add_error(
                "quantity",
                usual.warning(sku=product.sku, quantity=quantity)
                + " If it is right, tick the box below and receive again.",
            )

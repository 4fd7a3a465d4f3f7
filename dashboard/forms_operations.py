"""Forms for the queue, products, receiving and shipping screens: they parse, services decide."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils import timezone

from inventory.bounds import IdChoiceField
from inventory.models import Product, PurchaseOrderLine
from inventory.selectors import earlier_receipt
from orders.models import Order, OrderLine
from orders.selectors import usual_quantity

from .selectors_operations import product_by_sku, receivable_purchase_lines, suppliers

CAUSE_CHOICES = [
    ("customer", "The customer asked"),
    ("shop", "The shop cannot supply it"),
    ("discontinued", "The product is discontinued"),
]

POLICY_CHOICES = [
    ("", "Any policy"),
    (Product.BackorderPolicy.ALLOW, "Backorders allowed"),
    (Product.BackorderPolicy.DENY, "Backorders denied"),
    ("preorder", "Preorder"),
    ("discontinued", "Discontinued"),
]


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class PrioritiseForm(_Form):
    reason = forms.CharField(
        max_length=200,
        help_text="Shown on the order's timeline, e.g. “VIP customer” or “replacement order”.",
    )


class QueueCancelForm(_Form):
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
                f"Only {self.line.quantity_open} units of this line can still be cancelled."
            )
        return quantity


class ProductFilterForm(_Form):
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


class PurchaseLineChoiceField(IdChoiceField):
    def label_from_instance(self, obj: PurchaseOrderLine) -> str:
        outstanding = obj.quantity_ordered - obj.quantity_received
        return (
            f"{obj.purchase_order.number} · {obj.product.sku} — {outstanding} outstanding, "
            f"expected {obj.expected_date:%Y-%m-%d} ({obj.purchase_order.supplier.name})"
        )


class ReceiveForm(_Form):
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


class ShipForm(_Form):
    carrier = forms.CharField(max_length=60, required=False)
    tracking_number = forms.CharField(label="Tracking number", max_length=100, required=False)
    shipping_method = forms.CharField(label="Shipping method", max_length=60, required=False)
    override_reason = forms.CharField(
        label="Reason to ship part of a ship-complete order",
        max_length=200,
        required=False,
        help_text="Only needed when the customer asked to receive everything together.",
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

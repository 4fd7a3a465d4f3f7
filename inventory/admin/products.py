"""Admin for products and their stock: master data, the stock ledger, and the count adjustment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from orders.selectors import product_queue, product_replenishment, usual_quantity
from orders.services import product_discontinue, product_eta_refresh, stock_adjust

from ..bounds import MAX_QUANTITY
from ..models import Product, Stock, StockMovement
from ..selectors import open_purchase_lines
from ..services import product_create
from .base import (
    AboveZeroFilter,
    ConfirmForm,
    ReadOnlyAdminMixin,
    _actor,
    annotation_column,
    form_action,
)


class ProductAddForm(forms.ModelForm):
    opening_stock = forms.IntegerField(
        min_value=0,
        max_value=MAX_QUANTITY,
        initial=0,
        help_text="Units on hand now; recorded as an opening receipt in the stock ledger.",
    )

    class Meta:
        model = Product
        fields = (
            "sku",
            "name",
            "unit_price",
            "backorder_policy",
            "backorder_cap",
            "is_preorder",
            "release_date",
            "backorder_limit_from_incoming",
            "backorder_margin",
            "preferred_supplier",
            "lead_time_days",
            "safety_stock",
            "reorder_point",
            "reorder_quantity",
            "substitutes",
            "exempt_from_mail_order_rule",
        )


class AdjustStockForm(forms.Form):
    quantity = forms.IntegerField(
        label="Change in on hand",
        min_value=-MAX_QUANTITY,
        max_value=MAX_QUANTITY,
        help_text="Signed: -3 for three units lost, 2 for two found.",
    )
    reason = forms.CharField(max_length=200, help_text="A count, damage, loss, a find…")
    reference = forms.CharField(max_length=100, required=False)
    quantity_confirmed = forms.BooleanField(
        label="Yes, the change is right even where it is far above the usual", required=False
    )

    def check_selection(self, products: Sequence[Product]) -> None:
        _check_usual_quantity(self, products)


def _check_usual_quantity(form: forms.Form, products: Sequence[Product]) -> None:
    """Question a quantity far above a selected product's usual (orders.selectors)."""
    quantity = form.cleaned_data.get("quantity")
    if quantity is None or form.cleaned_data.get("quantity_confirmed"):
        return
    for product in products:
        usual = usual_quantity(product_id=product.pk)
        if usual.far_above(quantity):
            form.add_error("quantity_confirmed", usual.warning(sku=product.sku, quantity=quantity))


# --- product -----------------------------------------------------------------------------


class StockInline(admin.StackedInline):
    model = Stock
    can_delete = False
    fields = ("on_hand", "allocated", "available", "updated_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReorderFilter(AboveZeroFilter):
    """Filters on the `suggested_quantity` annotation of product_replenishment()."""

    title = "reorder"
    parameter_name = "reorder"
    field = "suggested_quantity"
    yes_label, no_label = "Reorder suggested", "No reorder needed"


QUEUE_ROWS_SHOWN = 50

# Changing these moves the ETAs of the product's waiting lines.
ETA_INPUT_FIELDS = frozenset(
    {"preferred_supplier", "lead_time_days", "is_preorder", "release_date"}
)

# On the add and the change page alike.
BACKORDER_FIELDSET = (
    "Backorders and preorders",
    {
        "fields": (
            "backorder_policy",
            "backorder_cap",
            "backorder_limit_from_incoming",
            "backorder_margin",
            "is_preorder",
            "release_date",
        )
    },
)
REPLENISHMENT_FIELDSET = (
    "Replenishment",
    {
        "fields": (
            "preferred_supplier",
            "lead_time_days",
            "safety_stock",
            "reorder_point",
            "reorder_quantity",
        )
    },
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "name",
        "unit_price",
        "stock_on_hand",
        "stock_allocated",
        "stock_available",
        "units_backordered",
        "units_incoming",
        "units_suggested",
        "preferred_supplier",
        "backorder_policy",
        "backorder_cap",
        "is_preorder",
        "release_date",
        "is_discontinued",
    )
    list_display_links = ("sku", "name")
    list_filter = (
        ReorderFilter,
        "backorder_policy",
        "is_preorder",
        "is_discontinued",
        "preferred_supplier",
        "exempt_from_mail_order_rule",
    )
    list_select_related = ("stock", "preferred_supplier")
    search_fields = ("sku", "name")
    ordering = ("sku",)
    autocomplete_fields = ("substitutes", "preferred_supplier")
    # Receiving and purchase orders from reorder suggestions are dashboard screens.
    actions = ("adjust_stock", "discontinue")

    add_fieldsets = (
        (None, {"fields": ("sku", "name", "unit_price", "opening_stock")}),
        BACKORDER_FIELDSET,
        REPLENISHMENT_FIELDSET,
        (None, {"fields": ("substitutes", "exempt_from_mail_order_rule")}),
    )
    change_fieldsets = (
        (None, {"fields": ("sku", "name", "unit_price")}),
        (
            "Stock (receive in the dashboard; correct a count with the Adjust action)",
            {
                "fields": (
                    "dashboard_links",
                    "stock_on_hand",
                    "stock_allocated",
                    "stock_available",
                    "units_backordered",
                    "units_incoming",
                    "units_suggested",
                    "ledger",
                )
            },
        ),
        (
            "Waiting orders and incoming supply",
            {"fields": ("queue", "open_supply")},
        ),
        BACKORDER_FIELDSET,
        REPLENISHMENT_FIELDSET,
        (
            None,
            {
                "fields": (
                    "substitutes",
                    "exempt_from_mail_order_rule",
                    "is_discontinued",
                    "discontinued_at",
                    "created_at",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return product_replenishment()

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None) -> Any:
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> Any:
        if obj is None:
            return ()
        # Discontinuing goes through its action (it stamps discontinued_at).
        return (
            "dashboard_links",
            "stock_on_hand",
            "stock_allocated",
            "stock_available",
            "units_backordered",
            "units_incoming",
            "units_suggested",
            "ledger",
            "queue",
            "open_supply",
            "is_discontinued",
            "discontinued_at",
            "created_at",
        )

    def get_form(
        self, request: HttpRequest, obj: Product | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ProductAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Products have a stock ledger and order lines; discontinue them instead.
        return False

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            if ETA_INPUT_FIELDS.intersection(form.changed_data):
                product_eta_refresh(
                    product_id=obj.pk, reason="product settings changed", actor=_actor(request)
                )
            return
        fields = {
            field.name: getattr(obj, field.name)
            for field in Product._meta.concrete_fields
            if field.editable and not field.primary_key and field.name in form.cleaned_data
        }
        product = product_create(
            on_hand=form.cleaned_data["opening_stock"], actor=_actor(request), **fields
        )
        # The admin carries on with `obj` (many-to-many fields, log entry, redirect).
        obj.pk = product.pk
        obj.created_at = product.created_at
        obj._state.adding = False
        obj._state.db = product._state.db

    # The annotations of product_replenishment().
    stock_on_hand = annotation_column("on_hand", "on hand")
    stock_allocated = annotation_column("allocated", "allocated")
    stock_available = annotation_column("available", "available")
    units_backordered = annotation_column("backordered", "backordered")
    units_incoming = annotation_column("incoming", "incoming")
    units_suggested = annotation_column("suggested_quantity", "suggested reorder")

    @admin.display(description="waiting orders")
    def queue(self, obj: Product) -> SafeString:
        queue = product_queue(product_id=obj.pk)
        lines = list(queue[: QUEUE_ROWS_SHOWN + 1])
        return render_to_string(
            "admin/inventory/product/queue.html",
            {
                "lines": lines[:QUEUE_ROWS_SHOWN],
                # Counted only when the list is cut short.
                "total": queue.count() if len(lines) > QUEUE_ROWS_SHOWN else len(lines),
                "shown": QUEUE_ROWS_SHOWN,
                "units": getattr(obj, "backordered", None),
            },
        )

    @admin.display(description="open purchase order lines")
    def open_supply(self, obj: Product) -> SafeString:
        lines = (
            open_purchase_lines()
            .filter(product_id=obj.pk)
            .select_related("purchase_order__supplier")
            .order_by("expected_date", "id")
        )
        return render_to_string(
            "admin/inventory/product/open_supply.html",
            {
                "lines": lines,
                "changelist": reverse("admin:inventory_purchaseorderline_changelist"),
                "product_id": obj.pk,
            },
        )

    @admin.display(description="in the dashboard")
    def dashboard_links(self, obj: Product) -> str:
        receive = f"{reverse('dashboard:receive')}?{urlencode({'sku': obj.sku})}"
        return format_html(
            '<a href="{}">{} in the dashboard</a> · '
            '<a href="{}">Receive in the dashboard</a> · '
            '<a href="{}">Purchase orders in the dashboard</a>',
            reverse("dashboard:product", args=[obj.pk]),
            obj.sku,
            receive,
            reverse("dashboard:purchase_orders"),
        )

    @admin.display(description="stock ledger")
    def ledger(self, obj: Product) -> str:
        url = reverse("admin:inventory_stockmovement_changelist")
        return format_html('<a href="{}?product__id__exact={}">Stock movements</a>', url, obj.pk)

    @form_action(
        description="Adjust stock of the selected products",
        form_class=AdjustStockForm,
        title="Adjust stock",
    )
    def adjust_stock(self, request: HttpRequest, product: Product, data: dict[str, Any]) -> str:
        result = stock_adjust(
            product=product,
            quantity=data["quantity"],
            reason=data["reason"],
            reference=data["reference"],
            actor=_actor(request),
        )
        message = f"{product.sku}: on hand changed by {data['quantity']:+d}."
        if result.taken_back:
            message += f" Units taken back from {_taken_back_summary(result.taken_back)}."
        return message

    @form_action(
        description="Discontinue the selected products",
        form_class=ConfirmForm,
        title="Discontinue products",
    )
    def discontinue(self, request: HttpRequest, product: Product, data: dict[str, Any]) -> str:
        product_discontinue(product=product, actor=_actor(request))
        return f"{product.sku}: discontinued; it accepts no new backorders."


def _taken_back_summary(taken_back: Sequence[tuple[str, int, int]]) -> str:
    """'BD-000002 (2 units), BD-000001 (1 unit)' from (order number, line id, units)."""
    by_order: dict[str, int] = defaultdict(int)
    for number, _line_id, units in taken_back:
        by_order[number] += units
    return ", ".join(
        f"{number} ({units} unit{'s' if units != 1 else ''})" for number, units in by_order.items()
    )


@admin.register(Stock)
class StockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("product", "on_hand", "allocated", "available_units", "updated_at")
    list_select_related = ("product",)
    search_fields = ("product__sku", "product__name")
    ordering = ("product__sku",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stock]:
        return super().get_queryset(request).annotate(available_units=F("on_hand") - F("allocated"))

    @admin.display(description="available", ordering="available_units")
    def available_units(self, obj: Stock) -> int:
        return getattr(obj, "available_units", obj.available)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "product",
        "kind",
        "quantity",
        "reason",
        "reference",
        "created_by",
    )
    list_filter = ("kind", "created_at")
    list_select_related = ("product", "created_by")
    search_fields = ("product__sku", "reason", "reference")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")

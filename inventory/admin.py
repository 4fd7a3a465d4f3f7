"""Admin for inventory: a thin caller of inventory and orders services."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from orders.services import stock_adjust, stock_receive

from .models import Product, Stock, StockMovement
from .selectors import product_list
from .services import product_create, product_discontinue

# --- admin actions with an intermediate form page ----------------------------------------


def run_form_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    form_class: type[forms.Form],
    title: str,
    apply: Callable[[Any, dict[str, Any]], str],
    template: str = "admin/inventory/action_form.html",
) -> HttpResponse | None:
    """Show `form_class` for the selected objects; on a valid POST call `apply` for each.

    `apply(obj, cleaned_data)` calls one service and returns the success message. A
    ValidationError from the service becomes an error message; the other objects still run.
    Returning None sends the admin back to the changelist.
    """
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid():
            for obj in queryset:
                try:
                    message = apply(obj, form.cleaned_data)
                except ValidationError as exc:
                    modeladmin.message_user(
                        request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR
                    )
                else:
                    modeladmin.message_user(request, message, messages.SUCCESS)
            return None
    else:
        form = form_class()
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "objects": list(queryset),
        "opts": opts,
        "app_label": opts.app_label,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, template, context)


def _actor(request: HttpRequest) -> Any:
    return request.user


# --- forms -------------------------------------------------------------------------------


class ProductAddForm(forms.ModelForm):
    opening_stock = forms.IntegerField(
        min_value=0,
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
            "lead_time_days",
            "safety_stock",
            "reorder_point",
            "reorder_quantity",
            "substitutes",
            "exempt_from_mail_order_rule",
        )


class ReceiveStockForm(forms.Form):
    quantity = forms.IntegerField(
        label="Units received", help_text="Received into each selected product."
    )
    reference = forms.CharField(
        max_length=100, required=False, help_text="Purchase order, delivery note or invoice."
    )


class AdjustStockForm(forms.Form):
    quantity = forms.IntegerField(
        label="Change in on hand", help_text="Signed: -3 for three units lost, 2 for two found."
    )
    reason = forms.CharField(max_length=200, help_text="A count, damage, loss, a find…")
    reference = forms.CharField(max_length=100, required=False)


class ConfirmForm(forms.Form):
    """No fields: the page only asks for confirmation."""


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


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "name",
        "unit_price",
        "stock_on_hand",
        "stock_allocated",
        "stock_available",
        "backorder_policy",
        "backorder_cap",
        "is_preorder",
        "release_date",
        "is_discontinued",
    )
    list_display_links = ("sku", "name")
    list_filter = (
        "backorder_policy",
        "is_preorder",
        "is_discontinued",
        "exempt_from_mail_order_rule",
    )
    list_select_related = ("stock",)
    search_fields = ("sku", "name")
    ordering = ("sku",)
    autocomplete_fields = ("substitutes",)
    actions = ("receive_stock", "adjust_stock", "discontinue")

    add_fieldsets = (
        (None, {"fields": ("sku", "name", "unit_price", "opening_stock")}),
        (
            "Backorders and preorders",
            {"fields": ("backorder_policy", "backorder_cap", "is_preorder", "release_date")},
        ),
        (
            "Replenishment",
            {"fields": ("lead_time_days", "safety_stock", "reorder_point", "reorder_quantity")},
        ),
        (None, {"fields": ("substitutes", "exempt_from_mail_order_rule")}),
    )
    change_fieldsets = (
        (None, {"fields": ("sku", "name", "unit_price")}),
        (
            "Stock (change it with the Receive and Adjust actions)",
            {"fields": ("stock_on_hand", "stock_allocated", "stock_available", "ledger")},
        ),
        (
            "Backorders and preorders",
            {"fields": ("backorder_policy", "backorder_cap", "is_preorder", "release_date")},
        ),
        (
            "Replenishment",
            {"fields": ("lead_time_days", "safety_stock", "reorder_point", "reorder_quantity")},
        ),
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
        return product_list()

    def get_fieldsets(self, request: HttpRequest, obj: Product | None = None) -> Any:
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Product | None = None) -> Any:
        if obj is None:
            return ()
        # Discontinuing goes through its action (it stamps discontinued_at).
        return (
            "stock_on_hand",
            "stock_allocated",
            "stock_available",
            "ledger",
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

    @admin.display(description="on hand", ordering="on_hand")
    def stock_on_hand(self, obj: Product) -> int | None:
        return getattr(obj, "on_hand", None)

    @admin.display(description="allocated", ordering="allocated")
    def stock_allocated(self, obj: Product) -> int | None:
        return getattr(obj, "allocated", None)

    @admin.display(description="available", ordering="available")
    def stock_available(self, obj: Product) -> int | None:
        return getattr(obj, "available", None)

    @admin.display(description="stock ledger")
    def ledger(self, obj: Product) -> str:
        url = reverse("admin:inventory_stockmovement_changelist")
        return format_html('<a href="{}?product__id__exact={}">Stock movements</a>', url, obj.pk)

    @admin.action(description="Receive stock into the selected products", permissions=["change"])
    def receive_stock(
        self, request: HttpRequest, queryset: QuerySet[Product]
    ) -> HttpResponse | None:
        def apply(product: Product, data: dict[str, Any]) -> str:
            result = stock_receive(
                product=product,
                quantity=data["quantity"],
                reference=data["reference"],
                actor=_actor(request),
            )
            allocation = result.allocation
            given = allocation.units if allocation else 0
            waiting = len(allocation.order_ids) if allocation else 0
            return (
                f"{product.sku}: received {data['quantity']} units; "
                f"{given} allocated to {waiting} waiting order(s)."
            )

        return run_form_action(
            self, request, queryset, form_class=ReceiveStockForm, title="Receive stock", apply=apply
        )

    @admin.action(description="Adjust stock of the selected products", permissions=["change"])
    def adjust_stock(
        self, request: HttpRequest, queryset: QuerySet[Product]
    ) -> HttpResponse | None:
        def apply(product: Product, data: dict[str, Any]) -> str:
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

        return run_form_action(
            self, request, queryset, form_class=AdjustStockForm, title="Adjust stock", apply=apply
        )

    @admin.action(description="Discontinue the selected products", permissions=["change"])
    def discontinue(self, request: HttpRequest, queryset: QuerySet[Product]) -> HttpResponse | None:
        def apply(product: Product, data: dict[str, Any]) -> str:
            product_discontinue(product=product, actor=_actor(request))
            return f"{product.sku}: discontinued; it accepts no new backorders."

        return run_form_action(
            self,
            request,
            queryset,
            form_class=ConfirmForm,
            title="Discontinue products",
            apply=apply,
        )


def _taken_back_summary(taken_back: Sequence[tuple[str, int, int]]) -> str:
    """'BD-000002 (2 units), BD-000001 (1 unit)' from (order number, line id, units)."""
    by_order: dict[str, int] = defaultdict(int)
    for number, _line_id, units in taken_back:
        by_order[number] += units
    return ", ".join(
        f"{number} ({units} unit{'s' if units != 1 else ''})" for number, units in by_order.items()
    )


# --- read-only ledgers -------------------------------------------------------------------


class ReadOnlyAdminMixin:
    """Rows written only by services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


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

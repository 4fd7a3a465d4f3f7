"""Admin for inventory: a thin caller of inventory and orders services."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, Model, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from orders.selectors import product_queue, product_replenishment, usual_quantity
from orders.services import (
    product_discontinue,
    product_eta_refresh,
    purchase_order_line_cancel,
    stock_adjust,
)

from .bounds import MAX_QUANTITY
from .models import (
    LowStockAlert,
    Product,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Stock,
    StockMovement,
    Supplier,
)
from .selectors import open_purchase_lines
from .services import product_create, supplier_create

# --- admin actions with an intermediate form page ----------------------------------------
# Only the corrections that have no dashboard screen are actions here; the daily work
# (receiving, purchase orders, shipping, cancelling...) is done in the dashboard.

ACTION_TEMPLATE = "admin/action_form.html"


def run_form_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    form_class: type[forms.Form],
    title: str,
    apply: Callable[[Any, dict[str, Any]], str],
    template: str = ACTION_TEMPLATE,
    describe: Callable[[Any], str] = str,
) -> HttpResponse | None:
    """Show `form_class` for the selected objects; on a valid POST call `apply` for each.

    `apply(obj, cleaned_data)` calls one service and returns the success message. A
    ValidationError from the service becomes an error message; the other objects still run.
    `describe(obj)` names an object on the page and in error messages.
    Returning None sends the admin back to the changelist.
    """
    if "apply" in request.POST:
        form = form_class(request.POST)
        if form.is_valid() and _selection_confirmed(form, queryset):
            for obj in queryset:
                try:
                    message = apply(obj, form.cleaned_data)
                except ValidationError as exc:
                    modeladmin.message_user(
                        request, f"{describe(obj)}: {' '.join(exc.messages)}", messages.ERROR
                    )
                else:
                    modeladmin.message_user(request, message, messages.SUCCESS)
            return None
    else:
        form = form_class()
    return _action_form_page(
        modeladmin, request, queryset, form=form, title=title, template=template, describe=describe
    )


def _selection_confirmed(form: forms.Form, queryset: QuerySet[Any]) -> bool:
    """A form may question its input against the selected objects (`check_selection`, adding
    errors); the page then shows again, asking for confirmation."""
    check = getattr(form, "check_selection", None)
    if check is not None:
        check(list(queryset))
    return not form.errors


# apply(modeladmin, request, obj, cleaned_data) -> the success message
ObjectApply = Callable[[Any, HttpRequest, Any, dict[str, Any]], str]
AdminAction = Callable[[Any, HttpRequest, QuerySet[Any]], HttpResponse | None]


def form_action(
    *,
    description: str,
    form_class: type[forms.Form],
    title: str,
    describe: Callable[[Any], str] = str,
) -> Callable[[ObjectApply], AdminAction]:
    """Turn a method `apply(self, request, obj, cleaned_data) -> message` into an admin action
    (for staff who may change the model) that asks for `form_class`, then runs it for each
    selected object through run_form_action."""

    def decorate(apply: ObjectApply) -> AdminAction:
        @admin.action(description=description, permissions=["change"])
        @wraps(apply)
        def action(
            modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]
        ) -> HttpResponse | None:
            return run_form_action(
                modeladmin,
                request,
                queryset,
                form_class=form_class,
                title=title,
                apply=lambda obj, data: apply(modeladmin, request, obj, data),
                describe=describe,
            )

        return action

    return decorate


@dataclass(frozen=True)
class _Selected:
    """One selected object on an action page: its pk for the form, its name for people."""

    pk: Any
    label: str

    def __str__(self) -> str:
        return self.label


def _action_form_page(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    form: forms.Form,
    title: str,
    template: str,
    describe: Callable[[Any], str] = str,
) -> TemplateResponse:
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "objects": [_Selected(obj.pk, describe(obj)) for obj in queryset],
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


def annotation_column(
    name: str, description: str, default: Any = None
) -> Callable[[Any, Any], Any]:
    """A list column or read-only field showing the queryset's annotation `name` (`default`
    on an object without it), sortable by that annotation."""

    @admin.display(description=description, ordering=name)
    def column(modeladmin: Any, obj: Any) -> Any:
        return getattr(obj, name, default)

    return column


# --- forms -------------------------------------------------------------------------------


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


class ConfirmForm(forms.Form):
    """No fields: the page only asks for confirmation."""


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 60}))


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


class AboveZeroFilter(admin.SimpleListFilter):
    """A yes/no filter: "yes" keeps the rows whose `field` is above zero, "no" those at zero."""

    field: str
    yes_label: str
    no_label: str

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("yes", self.yes_label), ("no", self.no_label))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(**{f"{self.field}__gt": 0})
        if self.value() == "no":
            return queryset.filter(**{self.field: 0})
        return queryset


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


# --- read-only ledgers -------------------------------------------------------------------


class NoAddOrDeleteMixin:
    """Rows that services create and that stay for good: never added or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyAdminMixin(NoAddOrDeleteMixin):
    """Rows written only by services: viewable, never added, changed or deleted here."""

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
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


# --- suppliers and purchase orders -------------------------------------------------------


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "lead_time_days", "product_count", "created_at")
    search_fields = ("name", "email")
    ordering = ("name",)
    fields = ("name", "email", "lead_time_days", "created_at")
    readonly_fields = ("created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Supplier]:
        return super().get_queryset(request).annotate(product_count=Count("products"))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Purchase orders keep their supplier for good.
        return False

    def save_model(self, request: HttpRequest, obj: Supplier, form: Any, change: bool) -> None:
        if not change:
            supplier = supplier_create(
                name=obj.name, email=obj.email, lead_time_days=obj.lead_time_days
            )
            obj.pk = supplier.pk
            obj.name, obj.email = supplier.name, supplier.email
            obj.created_at = supplier.created_at
            obj._state.adding = False
            obj._state.db = supplier._state.db
            return
        super().save_model(request, obj, form, change)
        if "lead_time_days" in form.changed_data:
            # Products without a lead time of their own estimate ETAs from this one.
            product_ids = obj.products.filter(lead_time_days__isnull=True).values_list(
                "pk", flat=True
            )
            for product_id in product_ids:
                product_eta_refresh(
                    product_id=product_id,
                    reason=f"{obj.name} lead time changed",
                    actor=_actor(request),
                )

    product_count = annotation_column("product_count", "products", default=0)


class ReadOnlyInlineMixin(ReadOnlyAdminMixin):
    can_delete = False
    extra = 0


class PurchaseOrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PurchaseOrderLine
    verbose_name = "line"
    verbose_name_plural = (
        "lines (receive or reschedule them on the purchase order's dashboard page)"
    )
    fields = (
        "product",
        "quantity_ordered",
        "quantity_received",
        "quantity_outstanding",
        "expected_date",
        "is_cancelled",
    )
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderLine]:
        return super().get_queryset(request).select_related("product")


class PurchaseOrderEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PurchaseOrderEvent
    verbose_name = "history entry"
    verbose_name_plural = "history"
    fields = ("created_at", "message", "actor")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderEvent]:
        return super().get_queryset(request).select_related("actor")


def _outstanding_units() -> Case:
    """Units still to arrive on a purchase-order line (none once it is cancelled)."""
    return Case(
        When(is_cancelled=True, then=Value(0)),
        default=F("quantity_ordered") - F("quantity_received"),
    )


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "supplier",
        "status",
        "created_at",
        "sent_at",
        "line_count",
        "units_outstanding",
    )
    list_filter = ("status", "supplier", "created_at")
    list_select_related = ("supplier",)
    search_fields = ("number", "supplier__name")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    inlines = (PurchaseOrderLineInline, PurchaseOrderEventInline)
    # Creating, sending and cancelling purchase orders are dashboard screens.
    actions = None
    fields = (
        "number",
        "supplier",
        "status",
        "note",
        "dashboard_link",
        "line_actions",
        "created_by",
        "created_at",
        "sent_at",
        "cancelled_at",
    )
    # A purchase order changes only through its services (and each writes a history entry).
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrder]:
        return (
            super()
            .get_queryset(request)
            # The changelist adds list_select_related only to a queryset without any.
            .select_related("supplier", "created_by")
            .annotate(
                line_count=Count("lines"),
                units_outstanding=Coalesce(
                    Sum(
                        F("lines__quantity_ordered") - F("lines__quantity_received"),
                        filter=Q(lines__is_cancelled=False),
                    ),
                    0,
                ),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    line_count = annotation_column("line_count", "lines", default=0)
    units_outstanding = annotation_column("units_outstanding", "units outstanding", default=0)

    @admin.display(description="in the dashboard")
    def dashboard_link(self, obj: PurchaseOrder) -> str:
        return format_html(
            '<a href="{}">{} in the dashboard</a> (send, cancel, receive, reschedule)',
            reverse("dashboard:purchase_order", args=[obj.pk]),
            obj.number,
        )

    @admin.display(description="lines")
    def line_actions(self, obj: PurchaseOrder) -> str:
        url = reverse("admin:inventory_purchaseorderline_changelist")
        return format_html(
            '<a href="{}?purchase_order__id__exact={}">Lines of {}</a>', url, obj.pk, obj.number
        )


class OutstandingFilter(AboveZeroFilter):
    title = "outstanding"
    parameter_name = "outstanding"
    field = "outstanding"
    yes_label, no_label = "Units still to arrive", "Nothing outstanding"


def _line_label(line: PurchaseOrderLine) -> str:
    return f"{line.purchase_order.number} / {line.product.sku}"


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(NoAddOrDeleteMixin, admin.ModelAdmin):
    """Lines are created with their purchase order; they change only through its services."""

    list_display = (
        "purchase_order",
        "product",
        "quantity_ordered",
        "quantity_received",
        "units_outstanding",
        "expected_date",
        "is_cancelled",
        "status",
    )
    list_filter = (
        OutstandingFilter,
        "is_cancelled",
        "purchase_order__status",
        "purchase_order__supplier",
        "expected_date",
    )
    list_select_related = ("purchase_order__supplier", "product")
    search_fields = ("purchase_order__number", "product__sku", "product__name")
    date_hierarchy = "expected_date"
    ordering = ("expected_date", "id")
    # Receiving and rescheduling are on the purchase order's dashboard page; cancelling one line
    # has no screen there, so it stays here as a correction.
    actions = ("cancel_line",)
    fields = (
        "purchase_order",
        "product",
        "quantity_ordered",
        "quantity_received",
        "units_outstanding",
        "expected_date",
        "is_cancelled",
        "history",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderLine]:
        return super().get_queryset(request).annotate(outstanding=_outstanding_units())

    @admin.display(description="outstanding", ordering="outstanding")
    def units_outstanding(self, obj: PurchaseOrderLine) -> int:
        return getattr(obj, "outstanding", obj.quantity_outstanding)

    @admin.display(description="PO status", ordering="purchase_order__status")
    def status(self, obj: PurchaseOrderLine) -> str:
        return obj.purchase_order.get_status_display()

    @admin.display(description="history")
    def history(self, obj: PurchaseOrderLine) -> str:
        events = obj.events.order_by("created_at", "id")
        return (
            format_html_join(
                "",
                "<div>{} — {}</div>",
                ((f"{localtime(e.created_at):%Y-%m-%d %H:%M}", e.message) for e in events),
            )
            or "—"
        )

    @form_action(
        description="Cancel the selected lines",
        form_class=ReasonForm,
        title="Cancel purchase order lines",
        describe=_line_label,
    )
    def cancel_line(
        self, request: HttpRequest, line: PurchaseOrderLine, data: dict[str, Any]
    ) -> str:
        purchase_order_line_cancel(line=line, reason=data["reason"], actor=_actor(request))
        return (
            f"{_line_label(line)}: outstanding units cancelled; the orders they would have "
            "covered get new ETAs."
        )


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "date",
        "product",
        "on_hand",
        "available",
        "backordered",
        "incoming",
        "projected",
        "suggested_quantity",
        "notified_at",
    )
    list_filter = ("date", ("notified_at", admin.EmptyFieldListFilter))
    list_select_related = ("product",)
    search_fields = ("product__sku", "product__name")
    date_hierarchy = "date"
    ordering = ("-date", "product__sku")

"""Admin for orders: a thin caller of orders services. Quantities are never edited here."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from inventory.admin import (
    AboveZeroFilter,
    NoAddOrDeleteMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    ReasonForm,
    annotation_column,
    form_action,
)

from .models import (
    Customer,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Refund,
    Shipment,
    ShipmentLine,
    ShippingRate,
    ShippingRateBand,
)
from .selectors import order_list
from .services import order_payment_dishonoured, order_payment_received

# --- forms -------------------------------------------------------------------------------


class PaymentReceivedForm(forms.Form):
    received_at = forms.DateTimeField(
        label="Received at",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Store time. Leave empty for now. The order is properly completed from then on.",
    )

    def clean_received_at(self) -> dt.datetime | None:
        value = self.cleaned_data["received_at"]
        if value is None:
            return None
        # The browser sends the store's wall-clock time; the deadline counts in store days.
        value = value.replace(tzinfo=None).replace(tzinfo=ZoneInfo(settings.STORE_TIME_ZONE))
        if value > timezone.now():
            raise forms.ValidationError("A payment cannot be received in the future.")
        return value


# --- filters -----------------------------------------------------------------------------


class OrderStatusFilter(admin.SimpleListFilter):
    """Filters on the `status` annotation of Order.objects.with_status()."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return OrderStatus.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in OrderStatus.values:
            return queryset.filter(status=self.value())
        return queryset


class WaitingFilter(AboveZeroFilter):
    title = "backordered"
    parameter_name = "waiting"
    field = "quantity_backordered"
    yes_label, no_label = "Waiting for stock", "Nothing backordered"


class RefundStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return (("open", "Owed"), ("overdue", "Owed and overdue"), ("issued", "Issued"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "open":
            return queryset.filter(issued_at__isnull=True)
        if self.value() == "overdue":
            return queryset.filter(issued_at__isnull=True, due_date__lt=timezone.localdate())
        if self.value() == "issued":
            return queryset.filter(issued_at__isnull=False)
        return queryset


# --- inlines (all read-only: they change only through services) --------------------------


# An order line on its order's page, and (with the order) on its own.
ORDER_LINE_FIELDS = (
    "product",
    "quantity",
    "unit_price",
    "quantity_allocated",
    "quantity_shipped",
    "quantity_cancelled",
    "quantity_backordered",
    "eta",
    "eta_source",
    "eta_reference",
    "later_subscription_issue",
    "priority",
    "queued_at",
    "last_allocated_at",
)


class OrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderLine
    fields = ORDER_LINE_FIELDS
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderLine]:
        return super().get_queryset(request).select_related("product")


class OrderEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderEvent
    verbose_name = "timeline entry"
    verbose_name_plural = "timeline"
    fields = ("created_at", "kind", "message", "actor")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor")


class ShipmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Shipment
    fields = (
        "shipped_at",
        "carrier",
        "tracking_number",
        "shipping_method",
        "override_reason",
        "created_by",
    )
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Shipment]:
        return super().get_queryset(request).select_related("created_by")


class RefundInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Refund
    fields = (
        "amount",
        "reason",
        "vested_at",
        "due_date",
        "issued_at",
        "issue_reference",
        "issued_by",
    )
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).select_related("issued_by")


class ShipmentLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ShipmentLine
    fields = ("order_line", "product", "quantity")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShipmentLine]:
        return super().get_queryset(request).select_related("order_line__product")

    @admin.display(description="product")
    def product(self, obj: ShipmentLine) -> str:
        return str(obj.order_line.product)


# --- customers ---------------------------------------------------------------------------


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "order_count", "created_at")
    search_fields = ("email", "name")
    date_hierarchy = "created_at"
    ordering = ("email",)
    readonly_fields = ("created_at",)

    order_count = annotation_column("order_count", "orders", default=0)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return super().get_queryset(request).annotate(order_count=Count("orders"))


# --- orders ------------------------------------------------------------------------------


@admin.register(Order)
class OrderAdmin(NoAddOrDeleteMixin, admin.ModelAdmin):
    """Orders are placed through order_place (dashboard, API), never typed in here."""

    list_display = (
        "number",
        "customer",
        "placed_at",
        "status_display",
        "units_backordered",
        "amount_paid",
        "amount_captured",
        "amount_refunded",
        "payment_method",
        "ship_preference",
        "is_priority",
    )
    list_filter = (
        OrderStatusFilter,
        "is_priority",
        "ship_preference",
        "payment_method",
        "placed_at",
    )
    list_select_related = ("customer",)
    search_fields = ("number", "external_id", "customer__email", "customer__name")
    date_hierarchy = "placed_at"
    ordering = ("-placed_at", "-id")
    inlines = (OrderLineInline, OrderEventInline, ShipmentInline, RefundInline)
    # Prioritising, cancelling and shipping are dashboard screens; recording a payment received
    # or dishonoured has none, so it stays here as a correction.
    actions = ("record_payment_dishonoured", "record_payment_received")
    fields = (
        "number",
        "dashboard_link",
        "status_display",
        "customer",
        "external_id",
        "placed_at",
        "paid_at",
        "promised_ship_date",
        "ship_preference",
        "payment_method",
        "amount_paid",
        "amount_captured",
        "amount_refunded",
        "is_priority",
        "created_by",
    )
    # Every change to an order goes through a service that writes its timeline entry.
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        backordered = (
            OrderLine.objects.filter(order=OuterRef("pk"))
            .order_by()
            .values("order")
            .annotate(total=Sum("quantity_backordered"))
            .values("total")
        )
        return (
            order_list()
            .select_related("created_by")
            .annotate(
                units_backordered=Coalesce(Subquery(backordered, output_field=IntegerField()), 0)
            )
        )

    units_backordered = annotation_column("units_backordered", "backordered", default=0)

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Order) -> str:
        status = getattr(obj, "status", None)
        return OrderStatus(status).label if status else "—"

    @admin.display(description="in the dashboard")
    def dashboard_link(self, obj: Order) -> str:
        return format_html(
            '<a href="{}">{} in the dashboard</a>',
            reverse("dashboard:order", args=[obj.pk]),
            obj.number,
        )

    @form_action(
        description="Record a dishonoured payment",
        form_class=ReasonForm,
        title="Record a dishonoured payment",
    )
    def record_payment_dishonoured(
        self, request: HttpRequest, order: Order, data: dict[str, Any]
    ) -> str:
        order = order_payment_dishonoured(order=order, reason=data["reason"], actor=request.user)
        return f"{order.number}: Payment dishonoured: {data['reason']}"

    @form_action(
        description="Record payment received",
        form_class=PaymentReceivedForm,
        title="Record payment received",
    )
    def record_payment_received(
        self, request: HttpRequest, order: Order, data: dict[str, Any]
    ) -> str:
        order = order_payment_received(order=order, at=data["received_at"], actor=request.user)
        return f"{order.number}: Payment received: {order.amount_paid}"


@admin.register(OrderLine)
class OrderLineAdmin(NoAddOrDeleteMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "order",
        "product",
        "quantity",
        "quantity_allocated",
        "quantity_shipped",
        "quantity_cancelled",
        "quantity_backordered",
        "eta",
        "eta_source",
        "priority",
        "queued_at",
    )
    list_filter = (WaitingFilter, "eta_source", "priority", "queued_at")
    list_select_related = ("order", "product")
    search_fields = ("order__number", "product__sku", "product__name")
    date_hierarchy = "queued_at"
    ordering = ("-queued_at", "-id")
    fields = ("order", *ORDER_LINE_FIELDS)
    readonly_fields = fields


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "order", "kind", "message", "actor")
    list_filter = ("kind", "created_at")
    list_select_related = ("order", "actor")
    search_fields = ("order__number", "message")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "order",
        "shipped_at",
        "carrier",
        "tracking_number",
        "shipping_method",
        "override_reason",
        "created_by",
    )
    list_filter = ("carrier", "shipping_method", "shipped_at")
    list_select_related = ("order", "created_by")
    search_fields = ("order__number", "tracking_number")
    date_hierarchy = "shipped_at"
    ordering = ("-shipped_at", "-id")
    inlines = (ShipmentLineInline,)


@admin.register(Refund)
class RefundAdmin(NoAddOrDeleteMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "order",
        "amount",
        "reason",
        "vested_at",
        "due_date",
        "issued_at",
        "issue_reference",
        "issued_by",
    )
    list_filter = (RefundStateFilter, "due_date", "issued_at")
    list_select_related = ("order", "issued_by")
    search_fields = ("order__number", "reason", "issue_reference")
    date_hierarchy = "due_date"
    ordering = ("due_date", "id")
    fields = (
        "order",
        "order_line",
        "amount",
        "reason",
        "vested_at",
        "due_date",
        "issued_at",
        "issued_by",
        "issue_reference",
        "failed_at",
        "failure_reason",
        "other_method",
    )
    # Refunds are created by cancellations and marked issued on the dashboard's compliance page.
    readonly_fields = fields


class ShippingRateBandInline(admin.TabularInline):
    model = ShippingRateBand
    extra = 1
    fields = ("subtotal_from", "amount")


@admin.register(ShippingRate)
class ShippingRateAdmin(admin.ModelAdmin):
    """The store's shipping rate table: flat, by subtotal band, or per item. Master data: the
    table in use prices shipping and the refund of a partly shipped order."""

    list_display = ("name", "kind", "amount", "free_over", "is_active")
    list_filter = ("kind", "is_active")
    fields = ("name", "kind", "amount", "free_over", "is_active")
    inlines = (ShippingRateBandInline,)


from .goodwill import admin as goodwill_admin  # noqa: E402, F401 (registers its models)

"""Admin for suppliers and purchase orders: master data and read-only histories.

Purchase orders are created, sent, received and rescheduled in the dashboard; cancelling one
line, which has no dashboard screen, stays here as a correction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime

from orders.services import product_eta_refresh, purchase_order_line_cancel

from ..models import (
    LowStockAlert,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Supplier,
)
from ..services import supplier_create
from .base import (
    AboveZeroFilter,
    NoAddOrDeleteMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    ReasonForm,
    _actor,
    annotation_column,
    form_action,
)


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
        "unit_cost",
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
        "unit_cost",
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

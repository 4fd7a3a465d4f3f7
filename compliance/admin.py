"""Admin for the Mail Order Rule: read-only records, the record page, and the Order admin's panel.

compliance is the top app (it reads orders and notifications), so the Order admin's extras that
need both live here: Order is re-registered with a subclass of orders.admin.OrderAdmin.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin
from notifications.admin import NotificationInline, link_to_notification
from notifications.models import Notification
from orders.admin import OrderAdmin as BaseOrderAdmin
from orders.models import Order

from . import staff_views
from .models import ConsentAnswer, DelayNotice, OrderCompliance
from .selectors import store_zone


def _record_link(order_id: int, text: str = "Mail Order Rule record") -> SafeString:
    url = reverse("admin:compliance_record", args=[order_id])
    return format_html('<a href="{}">{}</a>', url, text)


def _order_link(order: Order) -> SafeString:
    url = reverse("admin:orders_order_change", args=[order.pk])
    return format_html('<a href="{}">{}</a>', url, order.number)


@admin.register(OrderCompliance)
class OrderComplianceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_list_template = "compliance/ordercompliance_change_list.html"
    list_display = (
        "order",
        "record",
        "state",
        "properly_completed_at",
        "deadline",
        "basis",
        "branch_code",
        "revised_date",
        "consented_until",
        "cancel_at_end_of",
    )
    list_filter = ("state", "basis", "branch")
    list_select_related = ("order",)
    search_fields = ("order__number", "order__customer__email")
    ordering = ("-order__placed_at", "-id")
    fields = (
        "order_link",
        "record",
        "state",
        "exempt_reason",
        "properly_completed_at",
        "deadline",
        "basis",
        "branch",
        "revised_date",
        "consented_until",
        "consent_kind",
        "cancel_at_end_of",
        "updated_at",
    )
    readonly_fields = fields

    def get_urls(self) -> list[URLPattern]:
        # Inside the admin: its login, staff check and never-cache, and no URLconf change.
        view = self.admin_site.admin_view
        return [
            path(
                "record/<int:order_id>/",
                view(staff_views.compliance_record_page),
                name="compliance_record",
            ),
            path(
                "record/<int:order_id>/csv/",
                view(staff_views.compliance_record_csv),
                name="compliance_record_csv",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj: OrderCompliance) -> SafeString:
        return _order_link(obj.order)

    @admin.display(description="record")
    def record(self, obj: OrderCompliance) -> SafeString:
        return _record_link(obj.order_id, "record")

    @admin.display(description="branch", ordering="branch")
    def branch_code(self, obj: OrderCompliance) -> str:
        # S or L: the filter on the right spells them out.
        return obj.branch or "—"


class ConsentAnswerInline(ReadOnlyInlineMixin, admin.StackedInline):
    model = ConsentAnswer
    fields = ("choice", "line", "substitute", "received_at", "via")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConsentAnswer]:
        return super().get_queryset(request).select_related("line", "substitute")


@admin.register(DelayNotice)
class DelayNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "sent_at",
        "order",
        "kind",
        "branch",
        "deadline",
        "revised_date",
        "answer_by",
        "email_state",
    )
    list_filter = ("kind", "branch", "notification__state")
    list_select_related = ("order", "notification")
    search_fields = ("order__number", "order__customer__email")
    date_hierarchy = "sent_at"
    ordering = ("-sent_at", "-id")
    fields = (
        "order_link",
        "record",
        "kind",
        "branch",
        "deadline",
        "revised_date",
        "answer_by",
        "delay_reason",
        "decision_key",
        "sent_at",
        "closed_at",
        "closed_reason",
        "email_link",
        "email_state",
        "email_sent_at",
        "email_subject",
        "email_text",
    )
    readonly_fields = fields
    inlines = (ConsentAnswerInline,)

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj: DelayNotice) -> SafeString:
        return _order_link(obj.order)

    @admin.display(description="record")
    def record(self, obj: DelayNotice) -> SafeString:
        return _record_link(obj.order_id)

    @admin.display(description="email", ordering="notification__state")
    def email_state(self, obj: DelayNotice) -> str:
        return obj.notification.get_state_display() if obj.notification else "—"

    @admin.display(description="email row")
    def email_link(self, obj: DelayNotice) -> SafeString | str:
        return link_to_notification(obj.notification_id, f"#{obj.notification_id}")

    @admin.display(description="email sent at")
    def email_sent_at(self, obj: DelayNotice) -> Any:
        return obj.notification.sent_at if obj.notification and obj.notification.sent_at else "—"

    @admin.display(description="subject")
    def email_subject(self, obj: DelayNotice) -> str:
        return obj.notification.subject if obj.notification and obj.notification.subject else "—"

    @admin.display(description="text the customer received")
    def email_text(self, obj: DelayNotice) -> SafeString | str:
        if obj.notification is None or not obj.notification.body_text:
            return "— (not sent yet; the email row shows a preview)"
        return format_html(
            '<pre style="white-space: pre-wrap; margin: 0">{}</pre>', obj.notification.body_text
        )


@admin.register(ConsentAnswer)
class ConsentAnswerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "order", "notice", "choice", "line", "substitute", "via")
    list_filter = ("choice", "via")
    list_select_related = ("notice__order", "line", "substitute")
    search_fields = ("notice__order__number", "notice__order__customer__email")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    fields = ("order", "notice", "choice", "line", "substitute", "received_at", "via")
    readonly_fields = fields

    @admin.display(description="order", ordering="notice__order__number")
    def order(self, obj: ConsentAnswer) -> SafeString:
        return _order_link(obj.notice.order)


# --- the Order admin, with its emails and the Mail Order Rule -------------------------------


class OrderEmailInline(NotificationInline):
    """Each email as the customer saw it: subject and full text (open the row for the HTML)."""

    fields = ("created_at", "kind", "state", "sent_at", "subject", "text", "last_error")
    readonly_fields = fields

    @admin.display(description="text")
    def text(self, obj: Notification) -> SafeString | str:
        if not obj.body_text:
            return "— (not sent yet)"
        return format_html(
            "<details><summary>Show</summary>"
            '<pre style="white-space: pre-wrap; max-width: 60em; margin: 0">{}</pre></details>',
            obj.body_text,
        )


admin.site.unregister(Order)


@admin.register(Order)
class OrderAdmin(BaseOrderAdmin):
    def get_inlines(self, request: HttpRequest, obj: Any) -> list[type[InlineModelAdmin[Any, Any]]]:
        return [*super().get_inlines(request, obj), OrderEmailInline]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            (None, {"fields": self.fields}),
            ("Mail Order Rule", {"fields": ("mail_order_rule",)}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), "mail_order_rule")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).select_related("compliance")

    @admin.display(description="under the rule")
    def mail_order_rule(self, obj: Order) -> str:
        return render_to_string(
            "compliance/order_rule_panel.html",
            {
                "compliance": getattr(obj, "compliance", None),
                "record_url": reverse("admin:compliance_record", args=[obj.pk]),
                "store_zone": store_zone(),
            },
        )

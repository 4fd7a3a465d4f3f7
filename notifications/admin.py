"""Admin for the outbox: read-only rows written by services; Resend makes a new notification."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from inventory.admin import ReadOnlyAdminMixin, ReadOnlyInlineMixin

from .models import DeliveryEvent, Notification
from .services import notification_render, notification_resend

NOTIFICATION_FIELDS = (
    "kind",
    "state",
    "order_link",
    "recipient",
    "dedupe_key",
    "send_after",
    "attempts",
    "last_error",
    "sent_at",
    "provider_message_id",
    "resend_of_link",
    "created_at",
    "updated_at",
    "subject_shown",
    "text_shown",
    "html_shown",
    "facts",
)


def _order_link(notification: Notification) -> str:
    order = notification.order
    if order is None:
        return "—"
    url = reverse("admin:orders_order_change", args=[order.pk])
    return format_html('<a href="{}">{}</a>', url, order.number)


def link_to_notification(notification_id: int | None, text: object) -> SafeString | str:
    """A link to the notification's admin page; a dash where there is none."""
    if notification_id is None:
        return "—"
    url = reverse("admin:notifications_notification_change", args=[notification_id])
    return format_html('<a href="{}">{}</a>', url, text)


class DeliveryEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = DeliveryEvent
    verbose_name = "delivery event"
    verbose_name_plural = "delivery events from the provider"
    fields = ("occurred_at", "event_type", "recipient", "description", "event_id", "received_at")
    readonly_fields = fields


class NotificationInline(ReadOnlyInlineMixin, admin.TabularInline):
    """The order's emails, for the Order admin's timeline."""

    model = Notification
    verbose_name = "email"
    verbose_name_plural = "emails to the customer"
    fields = ("created_at", "kind", "recipient", "state", "attempts", "sent_at", "last_error")
    readonly_fields = fields
    show_change_link = True
    ordering = ("-created_at", "-id")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "recipient",
        "order_link",
        "state",
        "attempts",
        "sent_at",
        "provider_message_id",
    )
    list_filter = ("state", "kind")
    list_select_related = ("order",)
    search_fields = ("recipient", "order__number", "dedupe_key")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    actions = ("resend",)
    fields = NOTIFICATION_FIELDS
    readonly_fields = NOTIFICATION_FIELDS
    inlines = (DeliveryEventInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return super().get_queryset(request).select_related("order")

    def has_resend_permission(self, request: HttpRequest) -> bool:
        # Rows are view-only here (has_change_permission is False), yet staff who may change
        # notifications may ask for a new one.
        return request.user.has_perm("notifications.change_notification")

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj: Notification) -> str:
        return _order_link(obj)

    @admin.display(description="resend of")
    def resend_of_link(self, obj: Notification) -> str:
        return link_to_notification(obj.resend_of_id, f"#{obj.resend_of_id}")

    def _shown(self, obj: Notification) -> tuple[str, str, str] | None:
        """What was sent; for a row not sent yet, what would be sent now (rendered once)."""
        if obj.subject or obj.body_text or obj.body_html:
            return obj.subject, obj.body_text, obj.body_html
        cache = getattr(obj, "_preview", None)
        if cache is None:
            rendered = notification_render(notification=obj)
            cache = (
                ("", "", "")
                if rendered is None
                else (rendered.subject, rendered.text, rendered.html)
            )
            obj._preview = cache  # type: ignore[attr-defined]
        return cache if any(cache) else None

    def _preview_note(self, obj: Notification) -> str:
        return "" if obj.subject or obj.body_text else " (preview: not sent yet)"

    @admin.display(description="subject")
    def subject_shown(self, obj: Notification) -> str:
        shown = self._shown(obj)
        if shown is None:
            return "— (nothing to tell: this email is not sent)"
        return f"{shown[0]}{self._preview_note(obj)}"

    @admin.display(description="text")
    def text_shown(self, obj: Notification) -> str:
        shown = self._shown(obj)
        if shown is None:
            return "—"
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', shown[1])

    @admin.display(description="HTML")
    def html_shown(self, obj: Notification) -> str:
        shown = self._shown(obj)
        if shown is None or not shown[2]:
            return "—"
        # srcdoc takes the HTML escaped as an attribute; the empty sandbox runs no scripts.
        return format_html(
            '<iframe sandbox="" srcdoc="{}" title="Email HTML" '
            'style="width: 100%; max-width: 700px; height: 480px; border: 1px solid #ccc">'
            "</iframe>",
            shown[2],
        )

    @admin.action(
        description="Resend the selected emails (as new notifications)", permissions=["resend"]
    )
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        for notification in queryset.order_by("pk"):
            try:
                copy = notification_resend(notification=notification)
            except ValidationError as exc:
                self.message_user(
                    request, f"#{notification.pk}: {' '.join(exc.messages)}", messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    f"#{notification.pk} resent as new notification #{copy.pk} "
                    f"to {copy.recipient}.",
                    messages.SUCCESS,
                )


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "received_at",
        "event_type",
        "recipient",
        "notification_link",
        "message_id",
        "occurred_at",
    )
    list_filter = ("event_type",)
    list_select_related = ("notification",)
    search_fields = ("event_id", "message_id", "recipient", "notification__order__number")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    fields = (
        "event_id",
        "event_type",
        "notification_link",
        "message_id",
        "recipient",
        "occurred_at",
        "description",
        "received_at",
    )
    readonly_fields = fields

    @admin.display(description="notification")
    def notification_link(self, obj: DeliveryEvent) -> str:
        return link_to_notification(obj.notification_id, obj.notification)

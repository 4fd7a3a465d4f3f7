from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import (
    ApiKey,
    IntakeRecord,
    SalesChannel,
    WaitlistEntry,
    WebhookEvent,
    WebhookSubscription,
)
from .origins import origin_normalise
from .services import api_key_create, api_key_revoke
from .waitlist.services import waitlist_leave


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = (
        "prefix",
        "kind",
        "name",
        "publishable_key",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OriginsField(forms.Field):
    """The allowed origins, one per line."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:
        lines = [line.strip() for line in str(value or "").splitlines() if line.strip()]
        found, errors = [], []
        for line in lines:
            try:
                found.append(origin_normalise(line))
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ValidationError(errors)
        return list(dict.fromkeys(found))


class SalesChannelForm(forms.ModelForm):
    allowed_origins = OriginsField(
        required=False,
        help_text="One per line, e.g. https://shop.example: the store's pages that may show the "
        "availability widget (with a publishable key).",
    )

    class Meta:
        model = SalesChannel
        fields = ("name", "kind", "webhook_secret", "allowed_origins", "is_active")


@admin.register(SalesChannel)
class SalesChannelAdmin(admin.ModelAdmin):
    form = SalesChannelForm
    list_display = ("name", "kind", "is_active", "created_at")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    inlines = [ApiKeyInline]
    actions = ["create_api_key", "create_publishable_key"]

    @admin.action(description="Create an API key (shown once)")
    def create_api_key(self, request: HttpRequest, queryset: QuerySet[SalesChannel]) -> None:
        for channel in queryset:
            _, raw_key = api_key_create(channel=channel, name=f"created by {request.user}")
            self.message_user(
                request,
                f"New API key for {channel}: {raw_key} — copy it now, it is not shown again.",
                messages.WARNING,
            )

    @admin.action(description="Create a publishable key (for the availability widget)")
    def create_publishable_key(
        self, request: HttpRequest, queryset: QuerySet[SalesChannel]
    ) -> None:
        for channel in queryset:
            _, raw_key = api_key_create(
                channel=channel, name=f"created by {request.user}", kind=ApiKey.Kind.PUBLISHABLE
            )
            self.message_user(
                request,
                f"New publishable key for {channel}: {raw_key} — it can only read availability; "
                "put it in the widget's data-key on the store's pages.",
                messages.SUCCESS,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "kind", "channel", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("kind", "channel")
    search_fields = ("prefix", "name", "channel__name")
    fields = (
        "channel",
        "kind",
        "name",
        "prefix",
        "publishable_key",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = (
        "channel",
        "kind",
        "prefix",
        "publishable_key",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Keys are made by the channel's action (or storefront_key_create), which shows them once.
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(IntakeRecord)
class IntakeRecordAdmin(admin.ModelAdmin):
    """Each webhook delivery from Shopify or WooCommerce, read-only: what it asked, what we did."""

    list_display = (
        "received_at",
        "channel",
        "source",
        "topic",
        "external_id",
        "outcome",
        "order",
        "detail",
    )
    list_filter = ("outcome", "channel", "topic")
    search_fields = ("delivery_id", "external_id", "source", "detail", "order__number")
    list_select_related = ("channel", "order")
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ("channel", "url", "event_types", "is_active")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("channel", "url", "is_active", "created_at")
    list_filter = ("channel", "is_active")
    search_fields = ("url", "channel__name")


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    """Shoppers on products' waitlists, read-only; an entry leaves by the shopper's link or by
    the action here (a shopper who wrote in asking to be taken off)."""

    list_display = ("product", "email", "channel", "joined_at", "invited_at", "left_at")
    list_filter = ("channel",)
    search_fields = ("email", "product__sku", "product__name")
    list_select_related = ("product", "channel")
    date_hierarchy = "joined_at"
    actions = ["take_off"]

    @admin.action(description="Take off the waitlist")
    def take_off(self, request: HttpRequest, queryset: QuerySet[WaitlistEntry]) -> None:
        for entry in queryset.filter(left_at=None):
            waitlist_leave(entry=entry)
        self.message_user(request, "Taken off the waitlist.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

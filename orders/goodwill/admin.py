"""Admin: goodwill rules and grants, read-only (rules are kept on the dashboard's Goodwill
screen, through the services; grants are a ledger)."""

from __future__ import annotations

from django.contrib import admin

from inventory.admin import ReadOnlyAdminMixin

from .models import GoodwillGrant, GoodwillRule


@admin.register(GoodwillRule)
class GoodwillRuleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "trigger", "wait_days", "gesture", "monthly_budget", "is_active")
    list_filter = ("is_active", "trigger", "gesture")
    list_select_related = ("channel",)


@admin.register(GoodwillGrant)
class GoodwillGrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("granted_at", "order", "rule", "gesture", "value", "code", "told_at")
    list_filter = ("gesture", "granted_at")
    list_select_related = ("order", "rule")
    search_fields = ("order__number", "code")
    date_hierarchy = "granted_at"
    ordering = ("-granted_at", "-id")

"""The admin's shared parts: actions with an intermediate form page, read-only mixins, filters.

Only the corrections that have no dashboard screen are actions; the daily work (receiving,
purchase orders, shipping, cancelling...) is done in the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

# --- admin actions with an intermediate form page ----------------------------------------

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


class ConfirmForm(forms.Form):
    """No fields: the page only asks for confirmation."""


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 60}))


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


# --- read-only rows -------------------------------------------------------------------------


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


class ReadOnlyInlineMixin(ReadOnlyAdminMixin):
    can_delete = False
    extra = 0

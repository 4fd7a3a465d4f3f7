"""Dashboard: goodwill on long waits — the rules with this month's budget used, a form to
create or change a rule, and the latest grants."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from orders.models import GoodwillRule
from orders.services import goodwill_rule_create, goodwill_rule_update

from ..access import managers_required
from ..submissions import single_submission
from .forms import GoodwillRuleForm
from .selectors import goodwill_page


@managers_required
def goodwill(request: HttpRequest) -> HttpResponse:
    return render(
        request, "dashboard/goodwill/goodwill.html", {"page": goodwill_page(now=timezone.now())}
    )


def _rule_form(request: HttpRequest, rule: GoodwillRule | None) -> HttpResponse:
    if request.method != "POST":
        form = GoodwillRuleForm.for_rule(rule) if rule else GoodwillRuleForm()
        return render(request, "dashboard/goodwill/rule_form.html", {"form": form, "rule": rule})
    form = GoodwillRuleForm(request.POST)
    if form.is_valid():
        try:
            if rule is None:
                rule = goodwill_rule_create(**form.service_fields())
                messages.success(request, f"Goodwill rule “{rule.name}” created.")
            else:
                rule = goodwill_rule_update(rule=rule, **form.service_fields())
                messages.success(request, f"Goodwill rule “{rule.name}” saved.")
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            return redirect("dashboard:goodwill")
    context = {"form": form, "rule": rule}
    return render(request, "dashboard/goodwill/rule_form.html", context, status=400)


@managers_required
@single_submission
def goodwill_rule_new(request: HttpRequest) -> HttpResponse:
    return _rule_form(request, None)


@managers_required
@single_submission
def goodwill_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = GoodwillRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404("No such goodwill rule.")
    return _rule_form(request, rule)


urlpatterns = [
    path("goodwill/", goodwill, name="goodwill"),
    path("goodwill/rules/new/", goodwill_rule_new, name="goodwill_rule_new"),
    path("goodwill/rules/<int:pk>/", goodwill_rule_edit, name="goodwill_rule_edit"),
]

"""Dashboard: compliance — Mail Order Rule deadlines, notices, cancellations, refunds, export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from compliance.export import export_period_problem, records_csv_lines
from compliance.models import NoticeFollowUp
from compliance.selectors import records_queryset
from compliance.services import notice_follow_up_done
from config.calendar import store_today, store_zone
from config.formats import format_date, format_money
from orders.models import Order, Refund
from orders.services import refund_mark_failed, refund_mark_issued

from ..access import managers_required
from ..lists import Sort, keyset_page, parse_date
from ..orders.forms import FollowUpDoneForm, RefundFailedForm, RefundIssueForm
from ..submissions import single_submission
from .selectors import (
    COMPLIANCE_WINDOWS,
    DEADLINE_WINDOW_DAYS,
    DEADLINES_DEFAULT,
    compliance_deadlines,
    compliance_screen,
    deadline_consent_choices,
    deadlines_due_count,
)

# Orders per round of queries in the export: memory stays flat however long the period.
EXPORT_CHUNK = 500


def _default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    return today.replace(day=1), today


DEADLINE_PAGE_SIZE = 50
DEADLINE_SORTS = [
    Sort("ship_by", "Ship by", "ship_by", parse_date),
    # Joined only while sorted by them: the list's count never reads orders or customers.
    Sort("order", "Order", "order_number", expression=F("order__number")),
    Sort("customer", "Customer", "customer_email", expression=F("order__customer__email")),
    Sort("state", "State", "state"),
    Sort("units_open", "Units to ship", "units_open", int, descending_first=True),
    Sort("backordered", "Backordered", "units_backordered", int, descending_first=True),
    Sort("deadline", "Shipment deadline", "deadline_key", parse_date),
]


@require_GET
@managers_required
def compliance(request: HttpRequest) -> HttpResponse:
    today = store_today()
    start, end = _default_period(today)
    window = request.GET.get("deadline", "")[:10]
    window = window if window in COMPLIANCE_WINDOWS else DEADLINES_DEFAULT
    consent = request.GET.get("consent", "")[:30]
    deadlines = keyset_page(
        request,
        compliance_deadlines(today=today, window=window, consent=consent),
        sorts=DEADLINE_SORTS,
        page_size=DEADLINE_PAGE_SIZE,
    )
    filtered = window != DEADLINES_DEFAULT or bool(consent)
    return render(
        request,
        "dashboard/compliance/compliance.html",
        {
            "screen": compliance_screen(today=today),
            "deadlines": deadlines,
            # The card counts the list as it opens, whatever this one is filtered to.
            "deadlines_due": (
                f"{deadlines_due_count(today=today):,}" if filtered else deadlines.count_label
            ),
            "deadline_window": window,
            "deadline_windows": COMPLIANCE_WINDOWS.items(),
            "deadline_consent": consent,
            "consents": deadline_consent_choices(),
            "deadlines_filtered": filtered,
            "today": today,
            "window_days": DEADLINE_WINDOW_DAYS,
            "export_start": start,
            "export_end": end,
            "store_zone": settings.STORE_TIME_ZONE,
        },
    )


def _period(request: HttpRequest) -> tuple[dt.date, dt.date] | str:
    """The `start` and `end` store days (both included), or what is wrong with them."""
    days = []
    for name in ("start", "end"):
        raw = request.GET.get(name, "").strip()
        if not raw:
            return f"Give both dates: '{name}' is missing (write it as YYYY-MM-DD)."
        try:
            days.append(dt.date.fromisoformat(raw))
        except ValueError:
            return f"'{name}' must be a date written YYYY-MM-DD, not '{raw[:40]}'."
    start, end = days
    if start > end:
        return f"The start ({start:%Y-%m-%d}) is after the end ({end:%Y-%m-%d})."
    return export_period_problem(start, end) or (start, end)


@require_GET
@managers_required
def compliance_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The Mail Order Rule records of the orders placed from `start` to `end` (store days)."""
    period = _period(request)
    if isinstance(period, str):
        today = store_today()
        start, end = _default_period(today)
        return render(
            request,
            "dashboard/compliance/compliance_export_error.html",
            {"problem": period, "export_start": start, "export_end": end},
            status=400,
        )
    start, end = period
    zone = store_zone()
    orders = Order.objects.filter(
        placed_at__gte=dt.datetime.combine(start, dt.time(), tzinfo=zone),
        placed_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=zone),
    ).order_by("placed_at", "id")
    response = StreamingHttpResponse(
        records_csv_lines(records_queryset(orders).iterator(chunk_size=EXPORT_CHUNK)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="mail-order-rule-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.csv"'
    )
    return response


def _next_url(request: HttpRequest, *, path_only: bool = True) -> str:
    """Where to go back after an action: the posted `next` when it is on this site (a bare path
    when `path_only`), else the compliance screen."""
    next_url = request.POST.get("next", "")
    if (path_only and not next_url.startswith("/")) or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return reverse("dashboard:compliance")
    return next_url


def _form_action(
    request: HttpRequest,
    form: forms.Form,
    *,
    what: str,
    not_done: str,
    act: Callable[[dict[str, Any]], str],
    next_url: str,
) -> HttpResponse:
    """Validate the form, run the service, say what happened, go back to `next_url`.

    `act` runs the service with the cleaned data and returns the success message; form errors
    and the service's refusals are shown as "The <what> <not_done>: <why>".
    """
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"The {what} {not_done}: {error}")
        return redirect(next_url)
    try:
        done = act(form.cleaned_data)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"The {what} {not_done}: {message}")
        return redirect(next_url)
    messages.success(request, done)
    return redirect(next_url)


@require_POST
@managers_required
@single_submission
def refund_issue(request: HttpRequest, pk: int) -> HttpResponse:
    refund = get_object_or_404(Refund.objects.select_related("order"), pk=pk)
    what = f"refund of {format_money(refund.amount)} on {refund.order.number}"

    def act(data: dict[str, Any]) -> str:
        refund_mark_issued(refund=refund, reference=data["reference"], actor=request.user)
        return f"The {what} is marked issued (reference {data['reference'].strip()})."

    return _form_action(
        request,
        RefundIssueForm(request.POST),
        what=what,
        not_done="was not marked issued",
        act=act,
        next_url=_next_url(request),
    )


@require_POST
@managers_required
@single_submission
def refund_failed(request: HttpRequest, pk: int) -> HttpResponse:
    """The refund could not go back the original way: record why, owe it another way."""
    refund = get_object_or_404(Refund.objects.select_related("order"), pk=pk)
    what = f"refund of {format_money(refund.amount)} on {refund.order.number}"

    def act(data: dict[str, Any]) -> str:
        failed = refund_mark_failed(
            refund=refund, reason=data["reason"], method=data["method"], actor=request.user
        )
        return (
            f"The {what} failed: it is now owed by {failed.get_other_method_display().lower()} "
            f"by {format_date(failed.due_date)}."
        )

    return _form_action(
        request,
        RefundFailedForm(request.POST),
        what=what,
        not_done="was not marked failed",
        act=act,
        next_url=_next_url(request, path_only=False),
    )


@require_POST
@managers_required
@single_submission
def follow_up_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff told the customer of a delay notice another way (its email failed)."""
    follow_up = get_object_or_404(NoticeFollowUp.objects.select_related("order"), pk=pk)
    what = f"delay notice of {follow_up.order.number}"

    def act(data: dict[str, Any]) -> str:
        notice_follow_up_done(follow_up=follow_up, how=data["how"], actor=request.user)
        return f"The {what} is recorded as given: {data['how']}."

    return _form_action(
        request,
        FollowUpDoneForm(request.POST),
        what=what,
        not_done="was not recorded as given",
        act=act,
        next_url=reverse("dashboard:compliance"),
    )


urlpatterns = [
    path("compliance/", compliance, name="compliance"),
    path("compliance/export.csv", compliance_export, name="compliance_export"),
    path("refunds/<int:pk>/issue/", refund_issue, name="refund_issue"),
    path("refunds/<int:pk>/failed/", refund_failed, name="refund_failed"),
    path("notice-follow-ups/<int:pk>/done/", follow_up_done, name="follow_up_done"),
]

"""Dashboard: cancellation risk — the waiting lines whose customers are most likely to cancel
(long waits, moving ETAs, a status page opened again and again, much money waiting), each with
its reasons and the substitute or goodwill action one click away. Paged by keyset."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from config.calendar import store_today

from ..access import operations_required
from ..lists import Sort, keyset_page, parse_datetime
from .selectors import HIGH_RISK, cancellation_risk_lines, risk_rows

PAGE_SIZE = 50

RISK_SORTS = [
    # The highest score first; at the same score the longest wait.
    Sort(
        "risk",
        "Risk",
        "risk_score",
        int,
        descending_first=True,
        then=(("-queued_at", parse_datetime),),
    ),
    Sort("waited", "Waited", "-queued_at", parse_datetime, descending_first=True),
]


@require_GET
@operations_required
def cancellation_risk(request: HttpRequest) -> HttpResponse:
    """The ranked list. Each row's "Goodwill" action opens the order's page at its goodwill
    section (#goodwill): the gesture already given, or for Managers the active rules with their
    budget left and a "Give goodwill" button (dashboard:order_goodwill)."""
    today = store_today()
    page = keyset_page(
        request, cancellation_risk_lines(today=today), sorts=RISK_SORTS, page_size=PAGE_SIZE
    )
    return render(
        request,
        "dashboard/cancellation_risk/list.html",
        {"page": page, "rows": risk_rows(page.rows, today=today), "high_risk": HIGH_RISK},
    )


urlpatterns = [
    path("queue/cancellation-risk/", cancellation_risk, name="queue_cancellation_risk"),
]

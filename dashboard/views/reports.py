"""Dashboard: reports."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..access import managers_required
from ._stub import coming_soon


@managers_required
def reports(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Reports")


@managers_required
def report_export(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Report export")


urlpatterns = [
    path("reports/", reports, name="reports"),
    path("reports/<slug:report>.csv", report_export, name="report_export"),
]

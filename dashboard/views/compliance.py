"""Dashboard: compliance."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..access import managers_required
from ._stub import coming_soon


@managers_required
def compliance(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Compliance")


@managers_required
def compliance_export(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Compliance export")


@managers_required
def refund_issue(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Mark refund issued")


urlpatterns = [
    path("compliance/", compliance, name="compliance"),
    path("compliance/export.csv", compliance_export, name="compliance_export"),
    path("refunds/<int:pk>/issue/", refund_issue, name="refund_issue"),
]

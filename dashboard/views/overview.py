"""Dashboard: overview."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..access import operations_required
from ._stub import coming_soon


@operations_required
def overview(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Overview")


urlpatterns = [
    path("", overview, name="overview"),
]

"""Dashboard: receiving."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..access import operations_required
from ._stub import coming_soon


@operations_required
def receive(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Receive")


urlpatterns = [
    path("receive/", receive, name="receive"),
]

"""Dashboard: shipping."""

from typing import Any

from django.http import HttpRequest, HttpResponse

from ..access import operations_required
from ._stub import coming_soon


@operations_required
def ship(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Ship")


@operations_required
def ship_order(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Ship order")


@operations_required
def packing_slip(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Packing slip")

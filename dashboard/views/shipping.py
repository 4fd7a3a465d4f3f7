"""Dashboard: shipping."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

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


urlpatterns = [
    path("ship/", ship, name="ship"),
    path("ship/<int:order_id>/", ship_order, name="ship_order"),
    path("ship/<int:order_id>/packing-slip/", packing_slip, name="packing_slip"),
]

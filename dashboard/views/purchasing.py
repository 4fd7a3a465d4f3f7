"""Dashboard: purchasing."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..access import managers_required
from ._stub import coming_soon


@managers_required
def purchase_orders(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Purchase orders")


@managers_required
def purchase_order_new(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "New purchase order")


@managers_required
def purchase_order(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Purchase order")


@managers_required
def po_line_reschedule(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Change expected date")


urlpatterns = [
    path("purchase-orders/", purchase_orders, name="purchase_orders"),
    path("purchase-orders/new/", purchase_order_new, name="purchase_order_new"),
    path("purchase-orders/<int:pk>/", purchase_order, name="purchase_order"),
    path(
        "purchase-orders/lines/<int:pk>/reschedule/", po_line_reschedule, name="po_line_reschedule"
    ),
]

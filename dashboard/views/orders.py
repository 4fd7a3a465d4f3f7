"""Dashboard: orders."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..access import operations_required
from ._stub import coming_soon


@operations_required
def orders(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Orders")


@operations_required
def order(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Order")


@operations_required
def order_new(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "New order")


@operations_required
def quote(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Quote")


urlpatterns = [
    path("orders/", orders, name="orders"),
    path("orders/new/", order_new, name="order_new"),
    path("orders/<int:pk>/", order, name="order"),
    path("quote/", quote, name="quote"),
]

"""Dashboard: products."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ..access import operations_required
from ._stub import coming_soon


@operations_required
def products(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Products")


@operations_required
def product(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return coming_soon(request, "Product")


urlpatterns = [
    path("products/", products, name="products"),
    path("products/<int:pk>/", product, name="product"),
]

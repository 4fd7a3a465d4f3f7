"""Dashboard: the availability board and one product's queue, supply and ledger."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from config.calendar import store_today
from inventory.models import Product

from ..access import operations_required
from ..queue.selectors import backorder_queue, queue_rows
from .forms import ProductFilterForm
from .selectors import (
    availability_board,
    product_availability,
    product_open_purchase_lines,
    product_stock_ledger,
)

PAGE_SIZE = 50
LEDGER_PAGE_SIZE = 25
QUEUE_PREVIEW = 50


@operations_required
def products(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    board = availability_board(
        search=(filters.get("q") or "").strip(),
        backordered_only=bool(filters.get("backordered")),
        low_stock_only=bool(filters.get("low")),
        supplier_id=filters.get("supplier"),
        policy=filters.get("policy") or "",
    )
    page = Paginator(board, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "dashboard/products/products.html",
        {"form": form, "page": page, "filtered": any(filters.values())},
    )


@operations_required
def product(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        item = product_availability(product_id=pk)
    except Product.DoesNotExist as exc:
        raise Http404("No such product.") from exc
    today = store_today()
    # The head of the queue; the queue screen pages through the rest.
    queue = list(backorder_queue(product_id=pk)[: QUEUE_PREVIEW + 1])
    more_waiting = len(queue) > QUEUE_PREVIEW
    queue = queue[:QUEUE_PREVIEW]
    ledger = Paginator(product_stock_ledger(product_id=pk), LEDGER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "dashboard/products/product.html",
        {
            "product": item,
            "queue": queue_rows(queue, today=today),
            "more_waiting": more_waiting,
            "purchase_lines": list(product_open_purchase_lines(product_id=pk)),
            "ledger": ledger,
            "page": ledger,
        },
    )


urlpatterns = [
    path("products/", products, name="products"),
    path("products/<int:pk>/", product, name="product"),
]

"""Dashboard: the availability board and one product's queue, supply and ledger."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from config.calendar import store_today
from inventory.models import Product
from orders.services import (
    ImportKind,
    ImportRefused,
    ImportStale,
    catalogue_import_apply,
    catalogue_import_plan,
)
from orders.services.imports import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, ImportPlan
from storefront.waitlist.selectors import product_waitlist

from ..access import can_manage, managers_required, operations_required
from ..lists import Sort, keyset_page
from ..lists.views import saved_views_context
from ..queue.selectors import backorder_queue, queue_rows
from ..submissions import single_submission
from .forms import ImportApplyForm, ImportUploadForm, ProductFilterForm
from .selectors import (
    availability_board,
    board_figures,
    board_needs_sums,
    board_rows,
    product_availability,
    product_open_purchase_lines,
    product_stock_ledger,
)

PAGE_SIZE = 50
LEDGER_PAGE_SIZE = 25
QUEUE_PREVIEW = 50


# The summed figures' sorts, each annotated (from board_figures()) only while the board is
# sorted by it: (key, label, field).
SUMMED_SORTS = [
    ("backordered", "Backordered", "backordered"),
    ("incoming", "Incoming", "incoming"),
    ("projected", "Projected", "projected"),
    ("reorder", "Reorder", "suggested_quantity"),
]
PRODUCT_SORTS = [
    Sort("product", "Product", "sku"),
    Sort("supplier", "Supplier", "supplier_name"),
    Sort("on_hand", "On hand", "on_hand", int, descending_first=True),
    Sort("allocated", "Allocated", "allocated", int, descending_first=True),
    Sort("available", "Available", "available", int, descending_first=True),
    *(Sort(key, label, field, int, descending_first=True) for key, label, field in SUMMED_SORTS),
]


def product_sorts(figures: dict[str, Any] | None) -> list[Sort]:
    """PRODUCT_SORTS, the summed ones ordering on `figures` (board_figures()) when given."""
    if figures is None:
        return PRODUCT_SORTS
    summed = {key: field for key, _, field in SUMMED_SORTS}
    return [
        replace(sort, expression=figures[summed[sort.key]]) if sort.key in summed else sort
        for sort in PRODUCT_SORTS
    ]


@require_GET
@operations_required
def products(request: HttpRequest) -> HttpResponse:
    form = ProductFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    stock = filters.get("stock") or ""
    sort = request.GET.get("sort", "").removeprefix("-")
    # Every product's sums only for a sort or filter on them; otherwise the page's alone.
    summed = sort in {key for key, _, _ in SUMMED_SORTS} or board_needs_sums(
        backordered_only=bool(filters.get("backordered")),
        low_stock_only=bool(filters.get("low")),
        stock=stock,
    )
    figures = board_figures() if summed else None
    board = availability_board(
        search=(filters.get("q") or "").strip(),
        backordered_only=bool(filters.get("backordered")),
        low_stock_only=bool(filters.get("low")),
        supplier_id=filters.get("supplier"),
        policy=filters.get("policy") or "",
        stock=stock,
        figures=figures,
    )
    page = keyset_page(
        request, board, sorts=product_sorts(figures), page_size=PAGE_SIZE, detail=board_rows
    )
    return render(
        request,
        "dashboard/products/products.html",
        {
            "form": form,
            "page": page,
            "filtered": any(filters.values()),
            "can_manage": can_manage(request.user),
            **saved_views_context(request, list_name="products"),
        },
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
            "waitlist": product_waitlist(product_id=pk),
            "ledger": ledger,
            "page": ledger,
        },
    )


def _import_page(
    request: HttpRequest,
    *,
    upload: ImportUploadForm,
    plan: ImportPlan | None = None,
    content: bytes = b"",
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    apply_form = None
    if plan is not None and not plan.errors:
        apply_form = ImportApplyForm(
            initial={
                "kind": plan.kind,
                "content": base64.b64encode(content).decode(),
                "fingerprint": plan.fingerprint,
            }
        )
    return render(
        request,
        "dashboard/products/import.html",
        {
            "upload": upload,
            "plan": plan,
            "kind_label": ImportKind(plan.kind).label.lower() if plan else "",
            "apply_form": apply_form,
            "problems": problems or [],
            "max_megabytes": MAX_IMPORT_BYTES // 1024 // 1024,
            "max_rows": MAX_IMPORT_ROWS,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@managers_required
@single_submission
def product_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV of products or stock counts, preview what it would do, then apply it."""
    if request.method != "POST":
        return _import_page(request, upload=ImportUploadForm())
    if "apply" not in request.POST:
        upload = ImportUploadForm(request.POST, request.FILES)
        if not upload.is_valid():
            return _import_page(request, upload=upload, status=400)
        content = upload.cleaned_data["file"]
        try:
            plan = catalogue_import_plan(kind=upload.cleaned_data["kind"], content=content)
        except ImportRefused as exc:
            return _import_page(request, upload=upload, problems=exc.messages, status=400)
        return _import_page(request, upload=upload, plan=plan, content=content)
    form = ImportApplyForm(request.POST)
    if not form.is_valid():
        problems = [str(message) for errors in form.errors.values() for message in errors]
        return _import_page(request, upload=ImportUploadForm(), problems=problems, status=400)
    kind, content = form.cleaned_data["kind"], form.cleaned_data["content"]
    upload = ImportUploadForm(initial={"kind": kind})
    try:
        result = catalogue_import_apply(
            kind=kind,
            content=content,
            fingerprint=form.cleaned_data["fingerprint"],
            actor=request.user,
        )
    except ImportRefused as exc:
        return _import_page(request, upload=upload, problems=exc.messages, status=400)
    except ValidationError as exc:
        return _import_page(request, upload=upload, problems=exc.messages, status=400)
    except ImportStale as exc:
        plan = catalogue_import_plan(kind=kind, content=content)
        return _import_page(
            request, upload=upload, plan=plan, content=content, problems=[str(exc)], status=409
        )
    if kind == ImportKind.PRODUCTS:
        done = f"{result.created} created, {result.changed} changed"
    else:
        done = f"{result.changed} stock count{'s' if result.changed != 1 else ''} adjusted"
    messages.success(request, f"Import applied: {done}, {result.unchanged} left alone.")
    return redirect(reverse("dashboard:product_import"))


urlpatterns = [
    path("products/", products, name="products"),
    path("products/<int:pk>/", product, name="product"),
    path("products/import/", product_import, name="product_import"),
]

"""Dashboard: the backorder queue — who waits for what, in the order stock will reach them;
sorted by any column, filtered, paged by keyset (the deepest page costs what the first does)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import urlencode
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from config.calendar import store_today
from orders.models import OrderLine
from orders.services import line_cancel, line_prioritise

from ..access import can_manage, managers_required, may_cancel, operations_required
from ..lists import Sort, keyset_page, parse_date, parse_datetime
from ..lists.filters import (
    DEADLINE_WINDOWS,
    NO_CHANNEL,
    channel_choices,
    consent_choices,
    supplier_choices,
)
from ..lists.views import saved_views_context
from ..params import flag_param, id_param, next_path
from ..submissions import single_submission
from .forms import PrioritiseForm, QueueCancelForm
from .selectors import (
    QUEUE_SORT_KEYS,
    QueueFilters,
    QueueRow,
    cancelling_owes_refund,
    queue_line,
    queue_lines,
    queue_lines_shown,
    queue_products,
    queue_rows,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class RowLinks:
    """A row's id (as text) and the addresses its links and forms point at."""

    pk: str
    order: str
    product: str
    substitute: str
    prioritise: str
    cancel: str


_SOME_PK = 987654321


def _by_pk(name: str) -> Callable[[int], str]:
    """reverse(name, args=[pk]) for every row at the price of one reverse: only the pk
    changes from row to row (a page has fifty rows of five links each)."""
    head, tail = reverse(name, args=[_SOME_PK]).rsplit(str(_SOME_PK), 1)
    return lambda pk: f"{head}{pk}{tail}"


def row_links(rows: list[QueueRow]) -> list[RowLinks]:
    order, product, substitute, prioritise, cancel = (
        _by_pk(name)
        for name in (
            "dashboard:order",
            "dashboard:product",
            "dashboard:order_line_substitute",
            "dashboard:queue_prioritise",
            "dashboard:queue_cancel",
        )
    )
    return [
        RowLinks(
            pk=str(row.line.pk),
            order=order(row.line.order_id),
            product=product(row.line.product_id),
            substitute=substitute(row.line.pk),
            prioritise=prioritise(row.line.pk),
            cancel=cancel(row.line.pk),
        )
        for row in rows
    ]


def _back(request: HttpRequest) -> str:
    """Where to return after an action: the queue page it was taken from, if it is ours."""
    return next_path(request, reverse("dashboard:queue"))


QUEUE_SORTS = [
    # The allocation order: prioritised lines first, then the oldest (the "#" column).
    Sort("queue", "#", "-priority", int, then=(("queued_at", parse_datetime),)),
    Sort("order", "Order", "order_number", expression=QUEUE_SORT_KEYS["order_number"]),
    Sort("customer", "Customer", "customer_email", expression=QUEUE_SORT_KEYS["customer_email"]),
    Sort("product", "Product", "product_sku", expression=QUEUE_SORT_KEYS["product_sku"]),
    Sort("waiting", "Waiting", "quantity_backordered", int, descending_first=True),
    # Waited longest first: the days waited grow as queued_at goes back.
    Sort("waited", "Waited", "-queued_at", parse_datetime, descending_first=True),
    Sort("eta", "ETA", "eta_key", parse_date, expression=QUEUE_SORT_KEYS["eta_key"]),
    Sort(
        "ship_by", "Ship by", "ship_by_key", parse_date, expression=QUEUE_SORT_KEYS["ship_by_key"]
    ),
    Sort("consent", "Consent", "consent_key", expression=QUEUE_SORT_KEYS["consent_key"]),
]


def queue_filters(request: HttpRequest) -> QueueFilters:
    """The queue's filters from the query string; unknown values are ignored."""
    return QueueFilters(
        search=request.GET.get("q", "").strip()[:100],
        product_id=id_param(request, "product"),
        at_risk=flag_param(request, "at_risk"),
        deadline=request.GET.get("deadline", "")[:10],
        consent=request.GET.get("consent", "")[:30],
        channel=request.GET.get("channel", "")[:20],
        supplier=id_param(request, "supplier"),
    )


@require_GET
@operations_required
def queue(request: HttpRequest) -> HttpResponse:
    filters = queue_filters(request)
    products = list(queue_products())
    product = next((p for p in products if p.pk == filters.product_id), None)
    today = store_today()
    page = keyset_page(
        request,
        queue_lines(filters=filters, today=today),
        sorts=QUEUE_SORTS,
        page_size=PAGE_SIZE,
        detail=queue_lines_shown,
    )
    rows = queue_rows(page.rows, today=today)
    back = request.get_full_path()
    return render(
        request,
        "dashboard/queue/queue.html",
        {
            "page": page,
            "rows": rows,
            "shown": list(zip(rows, row_links(rows), strict=True)),
            # Where each row's actions return to, as a form field and in a query string.
            "back": back,
            "back_query": urlencode(back),
            "filters": filters,
            "filtered": filters.any,
            "products": products,
            # The product menu's options (hundreds): value, selected, label, worked out once.
            "product_options": [
                (str(p.pk), p.pk == filters.product_id, f"{p.sku} — {p.name}") for p in products
            ],
            "product": product,
            "deadline_windows": DEADLINE_WINDOWS.items(),
            "consents": consent_choices(),
            "channels": channel_choices(),
            "no_channel": NO_CHANNEL,
            "suppliers": supplier_choices(),
            "can_prioritise": can_manage(request.user),
            "today": today,
            **saved_views_context(request, list_name="queue"),
        },
    )


def _line_or_404(line_id: int) -> OrderLine:
    try:
        return queue_line(line_id=line_id)
    except OrderLine.DoesNotExist as exc:
        raise Http404("This line is not waiting in the queue.") from exc


def _action(
    request: HttpRequest, *, line: OrderLine, form: PrioritiseForm | QueueCancelForm, kind: str
) -> HttpResponse:
    return render(
        request,
        "dashboard/queue/queue_action.html",
        {"line": line, "form": form, "kind": kind, "next": _back(request)},
    )


@managers_required
@single_submission
def queue_prioritise(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _line_or_404(line_id)
    form = PrioritiseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            line_prioritise(line=line, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"{line.order.number}: {line.product.sku} moved to the front of its queue.",
            )
            return redirect(_back(request))
    return _action(request, line=line, form=form, kind="prioritise")


@operations_required
@single_submission
def queue_cancel(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _line_or_404(line_id)
    if not may_cancel(request.user, owes_refund=cancelling_owes_refund(line=line)):
        raise PermissionDenied(
            f"{line.order.number} is paid: cancelling it owes the customer a refund, "
            "and refunds are for Managers."
        )
    form = QueueCancelForm(request.POST if request.method == "POST" else None, line=line)
    if request.method == "POST" and form.is_valid():
        try:
            line = line_cancel(
                line=line,
                reason=form.cleaned_data["reason"],
                quantity=form.cleaned_data["quantity"],
                cause=form.cleaned_data["cause"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"{line.order.number}: cancelled {form.cleaned_data['quantity']} × "
                f"{line.product.sku}. Any refund owed is on the order page.",
            )
            return redirect(_back(request))
    return _action(request, line=line, form=form, kind="cancel")


urlpatterns = [
    path("queue/", queue, name="queue"),
    path("queue/<int:line_id>/prioritise/", queue_prioritise, name="queue_prioritise"),
    path("queue/<int:line_id>/cancel/", queue_cancel, name="queue_cancel"),
]

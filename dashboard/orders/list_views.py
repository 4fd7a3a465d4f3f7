"""Dashboard: the orders list — sorted, filtered and searched, paged by keyset, with bulk actions
on the orders ticked (ship, cancel with one reason; printing their packing slips is a GET of the
shipping area)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from config.calendar import store_today
from orders.models import Order, OrderStatus
from orders.services import order_cancel, shipment_create

from ..access import can_manage, operations_required
from ..lists import Sort, keyset_page, parse_date, parse_datetime
from ..lists.filters import (
    AWAITING_ANSWER,
    DEADLINE_WINDOWS,
    NO_CHANNEL,
    channel_choices,
    consent_choices,
    supplier_choices,
)
from ..lists.views import saved_views_context
from ..params import flag_param, id_param
from ..submissions import single_submission
from .selectors import OrderFilters, order_rows, orders_by_id

PAGE_SIZE = 50
# At most this many orders per bulk action: each is its own transaction.
BULK_LIMIT = 200

ORDER_SORTS = [
    Sort("placed", "Placed", "placed_at", parse_datetime, descending_first=True),
    Sort("number", "Order", "number"),
    Sort("customer", "Customer", "customer__email"),
    Sort("status", "Status", "status"),
    Sort("units", "Units", "units_ordered", int, descending_first=True),
    Sort("backordered", "Backordered", "units_backordered", int, descending_first=True),
    Sort("goods", "Goods", "goods_value", Decimal, descending_first=True),
    Sort("ship_by", "Ship by", "ship_by_key", parse_date),
]


def order_filters(request: HttpRequest) -> OrderFilters:
    """The list's filters from the query string; unknown values are ignored."""
    return OrderFilters(
        search=request.GET.get("q", "")[:100],
        status=request.GET.get("status", ""),
        backordered=flag_param(request, "backordered"),
        at_risk=flag_param(request, "at_risk"),
        unreachable=flag_param(request, "unreachable"),
        deadline=request.GET.get("deadline", "")[:10],
        consent=request.GET.get("consent", "")[:30],
        channel=request.GET.get("channel", "")[:20],
        supplier=id_param(request, "supplier"),
    )


@require_GET
@operations_required
def orders(request: HttpRequest) -> HttpResponse:
    filters = order_filters(request)
    today = store_today()
    page = keyset_page(
        request, order_rows(filters=filters, today=today), sorts=ORDER_SORTS, page_size=PAGE_SIZE
    )
    return render(
        request,
        "dashboard/orders/orders.html",
        {
            "page": page,
            "sort_links": {link.key: link for link in page.sort_links},
            "filters": filters,
            "filtered": filters.any,
            "statuses": OrderStatus.choices,
            "deadline_windows": DEADLINE_WINDOWS.items(),
            "consents": consent_choices(),
            "awaiting_answer": AWAITING_ANSWER,
            "channels": channel_choices(),
            "no_channel": NO_CHANNEL,
            "suppliers": supplier_choices(),
            "can_manage": can_manage(request.user),
            "today": today,
            "store_zone": settings.STORE_TIME_ZONE,
            **saved_views_context(request, list_name="orders"),
        },
    )


# --- bulk actions ----------------------------------------------------------------------------


@dataclass
class BulkResult:
    """What a bulk action did: the orders it changed and, for the others, why not."""

    verb: str
    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def report(self, request: HttpRequest) -> None:
        if self.done:
            messages.success(
                request,
                f"{self.verb} {len(self.done)} order{'s' if len(self.done) != 1 else ''}: "
                + ", ".join(self.done)
                + ".",
            )
        if self.refused:
            messages.error(
                request,
                f"Not {self.verb.lower()} {len(self.refused)}: " + "; ".join(self.refused),
            )


def _selected_ids(request: HttpRequest) -> list[int]:
    ids = []
    for raw in request.POST.getlist("order")[:BULK_LIMIT]:
        if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63:
            ids.append(int(raw))
    return sorted(set(ids))


def _back_to_list(request: HttpRequest) -> str:
    query = request.POST.get("query", "")[:1000]
    url = reverse("dashboard:orders")
    return f"{url}?{query}" if query else url


def _ship_each(request: HttpRequest, chosen: list[Order]) -> BulkResult:
    result = BulkResult("Shipped")
    for order in chosen:
        try:
            shipment_create(order=order, actor=request.user)
        except ValidationError as exc:
            result.refused.append(f"{order.number}: {' '.join(exc.messages)}")
        else:
            result.done.append(order.number)
    return result


def _cancel_each(request: HttpRequest, chosen: list[Order], reason: str) -> BulkResult:
    result = BulkResult("Cancelled")
    for order in chosen:
        try:
            order_cancel(order=order, reason=reason, cause="customer", actor=request.user)
        except ValidationError as exc:
            result.refused.append(f"{order.number}: {' '.join(exc.messages)}")
        else:
            result.done.append(order.number)
    return result


@require_POST
@operations_required
@single_submission
def orders_bulk(request: HttpRequest) -> HttpResponse:
    """Ship or cancel the orders ticked on the list. Each order is its own transaction (the
    service's): one order that cannot ship does not hold back the others, and the summary
    names every order left alone and why."""
    action = request.POST.get("action", "")
    if action == "cancel" and not can_manage(request.user):
        raise PermissionDenied("Cancelling orders owes refunds, and refunds are for Managers.")
    ids = _selected_ids(request)
    if action not in ("ship", "cancel"):
        messages.error(request, "Choose what to do with the selected orders.")
        return redirect(_back_to_list(request))
    if not ids:
        messages.error(request, "Tick at least one order first.")
        return redirect(_back_to_list(request))
    chosen = orders_by_id(order_ids=ids)
    if action == "ship":
        result = _ship_each(request, chosen)
    else:
        reason = " ".join(request.POST.get("reason", "").split())[:200]
        if not reason:
            messages.error(request, "Give one reason for cancelling the selected orders.")
            return redirect(_back_to_list(request))
        result = _cancel_each(request, chosen, reason)
    result.report(request)
    return redirect(_back_to_list(request))


urlpatterns = [
    path("orders/", orders, name="orders"),
    path("orders/bulk/", orders_bulk, name="orders_bulk"),
]

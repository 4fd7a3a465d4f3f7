"""Dashboard: orders ready to ship, creating a shipment, and its packing slip."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from config.calendar import store_today
from orders.models import Order
from orders.services import shipment_create

from ..access import operations_required
from ..lists.views import saved_views_context
from ..paging import ChainedPaginator
from ..params import MAX_ID, id_param
from ..submissions import single_submission
from .forms import ShipForm
from .selectors import (
    PackingSlip,
    order_for_shipping,
    orders_for_slips,
    ready_to_ship_parts,
    ready_to_ship_rows,
    shipment_for_slip,
    slip_contents,
)

PAGE_SIZE = 50
# Slips printed at once from a list's selection.
MAX_SLIPS = 200


def _order_or_404(order_id: int) -> Order:
    try:
        return order_for_shipping(order_id=order_id)
    except Order.DoesNotExist as exc:
        raise Http404("No such order.") from exc


@operations_required
def ship(request: HttpRequest) -> HttpResponse:
    today = store_today()
    paginator = ChainedPaginator(ready_to_ship_parts(today=today), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    # The page's slice of the lean lists, as the rows shown (still one query).
    rows = cast("QuerySet[Order]", page.object_list)
    page.object_list = ready_to_ship_rows(orders=rows, today=today)
    return render(
        request,
        "dashboard/shipping/ship.html",
        {"page": page, "today": today, **saved_views_context(request, list_name="ship")},
    )


@operations_required
@single_submission
def ship_order(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order_or_404(order_id)
    form = ShipForm(request.POST if request.method == "POST" else None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            shipment = shipment_create(
                order=order,
                quantities=form.quantities(),
                carrier=form.cleaned_data["carrier"],
                tracking_number=form.cleaned_data["tracking_number"],
                shipping_method=form.cleaned_data["shipping_method"],
                override_reason=form.cleaned_data.get("override_reason", ""),
                unpaid_reason=form.cleaned_data.get("unpaid_reason", ""),
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            units = sum(form.quantities().values())
            messages.success(
                request,
                f"{order.number}: shipped {units} unit{'s' if units != 1 else ''}"
                + (f", tracking {shipment.tracking_number}" if shipment.tracking_number else "")
                + ". Print the packing slip below.",
            )
            slip = reverse("dashboard:packing_slip", args=[order.pk])
            return redirect(f"{slip}?shipment={shipment.pk}")
    return render(
        request,
        "dashboard/shipping/ship_order.html",
        {"order": order, "form": form, "rows": form.rows()},
    )


@operations_required
def packing_slip(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order_or_404(order_id)
    wanted = id_param(request, "shipment")
    shipment = shipment_for_slip(order=order, shipment_id=wanted)
    if request.GET.get("shipment") and shipment is None:
        raise Http404("No such shipment on this order.")
    boxed, to_follow = slip_contents(order=order, shipment=shipment)
    return render(
        request,
        "dashboard/shipping/packing_slip.html",
        {"order": order, "shipment": shipment, "boxed": boxed, "to_follow": to_follow},
    )


@require_GET
@operations_required
def packing_slips(request: HttpRequest) -> HttpResponse:
    """The packing slips of the orders ticked on a list (?order=1&order=2), one per page when
    printed: each lists what is allocated to pack, or else what its latest shipment carried."""
    ids = [int(raw) for raw in request.GET.getlist("order")[:MAX_SLIPS] if _is_id(raw)]
    slips = []
    for order in orders_for_slips(order_ids=ids):
        # Units allocated wait to be packed: their slip comes first; else the last box's.
        packing = any(line.quantity_allocated for line in order.lines.all())
        shipment = None if packing else shipment_for_slip(order=order, shipment_id=None)
        slips.append(PackingSlip(order, shipment, *slip_contents(order=order, shipment=shipment)))
    return render(request, "dashboard/shipping/packing_slips.html", {"slips": slips})


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID


urlpatterns = [
    path("ship/", ship, name="ship"),
    path("ship/<int:order_id>/", ship_order, name="ship_order"),
    path("ship/<int:order_id>/packing-slip/", packing_slip, name="packing_slip"),
    path("ship/packing-slips/", packing_slips, name="packing_slips"),
]

"""Dashboard: orders ready to ship, creating a shipment, and its packing slip."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from config.calendar import store_today
from orders.models import Order
from orders.services import shipment_create

from ..access import operations_required
from ..params import id_param
from ..submissions import single_submission
from .forms import ShipForm
from .selectors import order_for_shipping, ready_to_ship, shipment_for_slip

PAGE_SIZE = 50


def _order_or_404(order_id: int) -> Order:
    try:
        return order_for_shipping(order_id=order_id)
    except Order.DoesNotExist as exc:
        raise Http404("No such order.") from exc


@operations_required
def ship(request: HttpRequest) -> HttpResponse:
    today = store_today()
    page = Paginator(ready_to_ship(today=today), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "dashboard/shipping/ship.html", {"page": page, "today": today})


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
    lines = list(order.lines.all())
    if shipment is not None:
        in_box = {sl.order_line_id: sl.quantity for sl in shipment.lines.all()}
    else:
        # Not shipped yet: the slip lists what is allocated, i.e. what will go in the box.
        in_box = {line.pk: line.quantity_allocated for line in lines if line.quantity_allocated}
    boxed = [(line, in_box[line.pk]) for line in lines if in_box.get(line.pk)]
    to_follow = [
        line
        for line in lines
        if line.backordered or (line.quantity_allocated and line.pk not in in_box)
    ]
    return render(
        request,
        "dashboard/shipping/packing_slip.html",
        {"order": order, "shipment": shipment, "boxed": boxed, "to_follow": to_follow},
    )


urlpatterns = [
    path("ship/", ship, name="ship"),
    path("ship/<int:order_id>/", ship_order, name="ship_order"),
    path("ship/<int:order_id>/packing-slip/", packing_slip, name="packing_slip"),
]

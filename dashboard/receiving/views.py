"""Dashboard: receive stock (typed, scanned or against a PO line) and see who got it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from orders.services import product_allocate, purchase_order_line_receive, stock_receive

from ..access import operations_required
from ..params import id_param
from ..submissions import single_submission
from .forms import ReceiveForm
from .selectors import (
    ReceiptResult,
    allocation_event_ids,
    last_event_id,
    receipt_result,
)

SESSION_KEY = "dashboard_last_receipt"


def _last_result(request: HttpRequest) -> ReceiptResult | None:
    """The receipt this browser just made (kept in the session so a reload never re-posts)."""
    wanted = id_param(request, "receipt")
    saved = request.session.get(SESSION_KEY)
    if wanted is None or not saved or saved.get("movement") != wanted:
        return None
    return receipt_result(movement_id=saved["movement"], event_ids=saved["events"])


@operations_required
@single_submission
def receive(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = ReceiveForm(initial={"sku": request.GET.get("sku", "")})
        return render(
            request,
            "dashboard/receiving/receive.html",
            {"form": form, "result": _last_result(request)},
        )

    form = ReceiveForm(request.POST)
    if form.is_valid() and form.product is not None:
        product = form.product
        line = form.cleaned_data["purchase_line"]
        quantity = form.cleaned_data["quantity"]
        before = last_event_id()
        try:
            if line is not None:
                movement = purchase_order_line_receive(
                    line=line, quantity=quantity, actor=request.user
                )
            else:
                movement = stock_receive(
                    product=product,
                    quantity=quantity,
                    reference=form.cleaned_data["reference"],
                    reason="Received at the dashboard without a purchase order",
                    actor=request.user,
                )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # The receipt has committed and queued the allocation task; allocating here as
            # well (idempotent) lets the page say at once who got the units.
            product_allocate(product_id=product.pk, actor=request.user)
            request.session[SESSION_KEY] = {
                "movement": movement.pk,
                "events": allocation_event_ids(after_id=before, sku=product.sku),
            }
            return redirect(f"{reverse('dashboard:receive')}?receipt={movement.pk}")
    return render(request, "dashboard/receiving/receive.html", {"form": form, "result": None})


urlpatterns = [
    path("receive/", receive, name="receive"),
]

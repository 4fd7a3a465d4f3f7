"""Dashboard: receive stock (typed, scanned or against a PO line) and see who got it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from orders.services import stock_receive_and_allocate

from ..access import operations_required
from ..params import id_param
from ..submissions import single_submission
from .forms import ReceiveForm
from .selectors import ReceiptResult, receipt_result

SESSION_KEY = "dashboard_last_receipt"


def _last_result(request: HttpRequest) -> ReceiptResult | None:
    """The receipt this browser just made (kept in the session so a reload never re-posts)."""
    wanted = id_param(request, "receipt")
    saved = request.session.get(SESSION_KEY)
    if wanted is None or not saved or saved.get("movement") != wanted:
        return None
    return receipt_result(
        movement_id=saved["movement"],
        units_by_order={int(order_id): units for order_id, units in saved.get("allocated", [])},
    )


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
        try:
            # Received and allocated in one transaction: the result says who got the units.
            result = stock_receive_and_allocate(
                product=product,
                quantity=quantity,
                purchase_line=line,
                reference=form.cleaned_data["reference"],
                reason="Received at the dashboard without a purchase order",
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            allocated = result.allocation.units_by_order if result.allocation else {}
            request.session[SESSION_KEY] = {
                "movement": result.movement.pk,
                "allocated": [[order_id, units] for order_id, units in allocated.items()],
            }
            return redirect(f"{reverse('dashboard:receive')}?receipt={result.movement.pk}")
    return render(request, "dashboard/receiving/receive.html", {"form": form, "result": None})


urlpatterns = [
    path("receive/", receive, name="receive"),
]

"""Dashboard: purchase orders — list, create (by hand or from reorder suggestions), the PO page
(send, cancel, receive per line) and changing an expected date with a preview first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from config.calendar import store_today
from config.formats import format_date, format_money
from inventory.models import PurchaseOrder, PurchaseOrderLine
from orders import services

from ..access import managers_required
from ..lists import Sort, keyset_page, parse_date, parse_datetime
from ..lists.views import saved_views_context
from ..submissions import single_submission
from . import selectors, suppliers
from .forms import (
    BasePurchaseLineFormSet,
    LineCostForm,
    PurchaseLineFormSet,
    PurchaseOrderFilterForm,
    PurchaseOrderForm,
    ReasonForm,
    ReceiveLineForm,
    RescheduleForm,
    SuggestionsForm,
)

PAGE_SIZE = 25

STATUS_BADGES: dict[str, str] = {
    PurchaseOrder.Status.DRAFT: "",
    PurchaseOrder.Status.SENT: "info",
    PurchaseOrder.Status.PARTIALLY_RECEIVED: "warn",
    PurchaseOrder.Status.RECEIVED: "ok",
    PurchaseOrder.Status.CANCELLED: "bad",
}


def _errors(exc: ValidationError) -> list[str]:
    return list(exc.messages)


def _plural(count: int, one: str, many: str) -> str:
    return one.format(count=count) if count == 1 else many.format(count=count)


PURCHASE_ORDER_SORTS = [
    Sort("created", "Created", "created_at", parse_datetime, descending_first=True),
    Sort("number", "Number", "number"),
    Sort("supplier", "Supplier", "supplier_name"),
    Sort("status", "Status", "status"),
    Sort("sent", "Sent", "sent_key", parse_datetime, descending_first=True),
    Sort("lines", "Lines", "line_count", int, descending_first=True),
    Sort("outstanding", "Units outstanding", "units_outstanding", int, descending_first=True),
    Sort("next_expected", "Next expected", "next_expected_key", parse_date),
]


@require_GET
@managers_required
def purchase_orders(request: HttpRequest) -> HttpResponse:
    filters = PurchaseOrderFilterForm(request.GET or None)
    status, supplier_id, due = "", None, ""
    if filters.is_valid():
        status, due = filters.cleaned_data["status"], filters.cleaned_data["due"]
        supplier = filters.cleaned_data["supplier"]
        supplier_id = supplier.pk if supplier else None
    page = keyset_page(
        request,
        selectors.purchase_order_list(
            status=status, supplier_id=supplier_id, due=due, today=store_today()
        ),
        sorts=PURCHASE_ORDER_SORTS,
        page_size=PAGE_SIZE,
    )
    return render(
        request,
        "dashboard/purchasing/purchase_order_list.html",
        {
            "filters": filters,
            "filtered": bool(status or supplier_id or due),
            "page": page,
            "rows": [(po, STATUS_BADGES.get(po.status, "")) for po in page.rows],
            **saved_views_context(request, list_name="purchase_orders"),
        },
    )


def _new_context(**forms: Any) -> dict[str, Any]:
    suggestions = list(selectors.reorder_suggestions())
    return {
        "order_form": forms.get("order_form") or PurchaseOrderForm(prefix="po"),
        "formset": forms.get("formset") or PurchaseLineFormSet(prefix="lines"),
        "suggestions_form": forms.get("suggestions_form") or SuggestionsForm(prefix="s"),
        "suggestions": suggestions,
        "chosen": {str(pk) for pk in forms.get("chosen", ())},
    }


def _created_message(request: HttpRequest, orders: list[PurchaseOrder], *, sent: bool) -> None:
    numbers = ", ".join(po.number for po in orders)
    state = "sent" if sent else "saved as draft"
    messages.success(request, f"{numbers} {state}.")


@managers_required
@single_submission
def purchase_order_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "dashboard/purchasing/purchase_order_new.html", _new_context())
    if "from_suggestions" in request.POST:
        suggestions_form = SuggestionsForm(request.POST, prefix="s")
        chosen = request.POST.getlist("s-products")
        if suggestions_form.is_valid():
            send = suggestions_form.cleaned_data["send"]
            try:
                created = services.purchase_orders_from_suggestions(
                    product_ids=[p.pk for p in suggestions_form.cleaned_data["products"]],
                    send=send,
                    actor=request.user,
                )
            except ValidationError as exc:
                for message in _errors(exc):
                    suggestions_form.add_error(None, message)
            else:
                _created_message(request, created, sent=send)
                if len(created) == 1:
                    return redirect("dashboard:purchase_order", pk=created[0].pk)
                return redirect("dashboard:purchase_orders")
        context = _new_context(suggestions_form=suggestions_form, chosen=chosen)
        return render(request, "dashboard/purchasing/purchase_order_new.html", context, status=400)

    order_form = PurchaseOrderForm(request.POST, prefix="po")
    formset = cast(BasePurchaseLineFormSet, PurchaseLineFormSet(request.POST, prefix="lines"))
    if order_form.is_valid() and formset.is_valid():
        send = order_form.cleaned_data["send"]
        try:
            po = services.purchase_order_create(
                supplier=order_form.cleaned_data["supplier"],
                lines=formset.requests,
                send=send,
                note=order_form.cleaned_data["note"],
                actor=request.user,
            )
        except ValidationError as exc:
            for message in _errors(exc):
                order_form.add_error(None, message)
        else:
            _created_message(request, [po], sent=send)
            return redirect("dashboard:purchase_order", pk=po.pk)
    context = _new_context(order_form=order_form, formset=formset)
    return render(request, "dashboard/purchasing/purchase_order_new.html", context, status=400)


def _cost_totals(lines: list[PurchaseOrderLine]) -> dict[str, Any]:
    """The PO's total and still-committed cost over its priced lines, and how many lack a cost."""
    priced = [line for line in lines if line.unit_cost is not None]
    return {
        "cost": sum((line.cost or Decimal("0") for line in priced), Decimal("0")),
        "cost_outstanding": sum(
            (line.cost_outstanding or Decimal("0") for line in priced), Decimal("0")
        ),
        "priced": bool(priced),
        "unpriced": len(lines) - len(priced),
    }


def _page(request: HttpRequest, po: PurchaseOrder, status: int = 200, **forms: Any) -> HttpResponse:
    is_open = po.status in PurchaseOrder.OPEN_STATUSES
    lines = list(po.lines.all())
    receive_forms = forms.get("receive_forms", {})
    cost_forms = forms.get("cost_forms", {})
    rows = [
        {
            "line": line,
            "outstanding": line.quantity_outstanding,
            "receivable": is_open and line.quantity_outstanding > 0,
            "reschedulable": po.status
            not in (PurchaseOrder.Status.CANCELLED, PurchaseOrder.Status.RECEIVED)
            and line.quantity_outstanding > 0,
            "receive_form": receive_forms.get(line.pk) or ReceiveLineForm(line=line),
            "cost_form": cost_forms.get(line.pk)
            or LineCostForm(initial={"unit_cost": line.unit_cost}),
        }
        for line in lines
    ]
    context = {
        "po": po,
        "badge": STATUS_BADGES.get(po.status, ""),
        "rows": rows,
        "totals": {
            "ordered": sum(line.quantity_ordered for line in lines),
            "received": sum(line.quantity_received for line in lines),
            "outstanding": sum(line.quantity_outstanding for line in lines),
            **_cost_totals(lines),
        },
        "can_send": po.status == PurchaseOrder.Status.DRAFT,
        "can_cost": po.status != PurchaseOrder.Status.CANCELLED,
        "can_cancel": po.status
        not in (PurchaseOrder.Status.CANCELLED, PurchaseOrder.Status.RECEIVED),
        "cancel_form": forms.get("cancel_form") or ReasonForm(),
        "errors": forms.get("errors", []),
        "events": list(po.events.all())[::-1],
    }
    return render(
        request, "dashboard/purchasing/purchase_order_detail.html", context, status=status
    )


def _load(pk: int) -> PurchaseOrder:
    try:
        return selectors.purchase_order_page(purchase_order_id=pk)
    except PurchaseOrder.DoesNotExist:
        raise Http404("No such purchase order.") from None


@managers_required
def purchase_order(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, _load(pk))


@managers_required
@require_POST
@single_submission
def purchase_order_send(request: HttpRequest, pk: int) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder, pk=pk)
    try:
        services.purchase_order_send(purchase_order=po, actor=request.user)
    except ValidationError as exc:
        return _page(request, _load(pk), status=400, errors=_errors(exc))
    messages.success(request, f"{po.number} sent; the ETAs it covers are updated.")
    return redirect("dashboard:purchase_order", pk=pk)


@managers_required
@require_POST
@single_submission
def purchase_order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder, pk=pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.purchase_order_cancel(
                purchase_order=po, reason=form.cleaned_data["reason"], actor=request.user
            )
        except ValidationError as exc:
            return _page(request, _load(pk), status=400, errors=_errors(exc))
        messages.success(request, f"{po.number} cancelled.")
        return redirect("dashboard:purchase_order", pk=pk)
    return _page(request, _load(pk), status=400, cancel_form=form)


@managers_required
@require_POST
@single_submission
def po_line_receive(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_object_or_404(
        PurchaseOrderLine.objects.select_related("product", "purchase_order"), pk=pk
    )
    po_pk = line.purchase_order_id
    form = ReceiveLineForm(request.POST, line=line)
    if not form.is_valid():
        return _page(request, _load(po_pk), status=400, receive_forms={line.pk: form})
    quantity = form.cleaned_data["quantity"]
    try:
        # Received and allocated in one transaction: the result says who got the units.
        result = services.stock_receive_and_allocate(
            product=line.product, quantity=quantity, purchase_line=line, actor=request.user
        )
    except ValidationError as exc:
        return _page(request, _load(po_pk), status=400, errors=_errors(exc))
    given = result.allocation
    head = f"Received {quantity} × {line.product.sku} on {line.purchase_order.number}; "
    if given and given.orders:
        tail = _plural(
            given.orders, "{count} waiting order got stock", "{count} waiting orders got stock"
        )
        tail += f" ({given.lines_filled} now allocated in full)."
    else:
        tail = "nobody was waiting for it."
    messages.success(request, head + tail)
    return redirect("dashboard:purchase_order", pk=po_pk)


@managers_required
@require_POST
@single_submission
def po_line_cost(request: HttpRequest, pk: int) -> HttpResponse:
    line = get_object_or_404(
        PurchaseOrderLine.objects.select_related("product", "purchase_order"), pk=pk
    )
    po_pk = line.purchase_order_id
    form = LineCostForm(request.POST)
    if not form.is_valid():
        return _page(request, _load(po_pk), status=400, cost_forms={line.pk: form})
    try:
        line = services.purchase_order_line_cost_set(
            line=line, unit_cost=form.cleaned_data["unit_cost"], actor=request.user
        )
    except ValidationError as exc:
        return _page(request, _load(po_pk), status=400, errors=_errors(exc))
    cost = "no cost" if line.unit_cost is None else format_money(line.unit_cost)
    messages.success(request, f"{line.product.sku} on {line.purchase_order.number}: {cost}.")
    return redirect("dashboard:purchase_order", pk=po_pk)


@managers_required
@single_submission
def po_line_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        line = selectors.purchase_line_for_reschedule(line_id=pk)
    except PurchaseOrderLine.DoesNotExist:
        raise Http404("No such purchase order line.") from None
    confirming = request.method == "POST" and "confirm" in request.POST
    form = RescheduleForm(
        request.POST if request.method == "POST" else None,
        line=line,
        reason_required=confirming,
        initial={"expected_date": line.expected_date},
    )
    context: dict[str, Any] = {"line": line, "po": line.purchase_order, "form": form}
    if request.method != "POST" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return render(
            request,
            "dashboard/purchasing/purchase_order_line_reschedule.html",
            context,
            status=status,
        )
    expected = form.cleaned_data["expected_date"]
    if not confirming:
        context["preview"] = selectors.reschedule_preview(line=line, expected_date=expected)
        return render(request, "dashboard/purchasing/purchase_order_line_reschedule.html", context)
    reason = form.cleaned_data["reason"]
    try:
        result = services.purchase_order_line_reschedule(
            line=line, expected_date=expected, reason=reason, actor=request.user
        )
    except ValidationError as exc:
        for message in _errors(exc):
            form.add_error(None, message)
        return render(
            request, "dashboard/purchasing/purchase_order_line_reschedule.html", context, status=400
        )
    moved = result.etas.customers
    head = (
        f"{line.purchase_order.number}: {line.product.sku} now expected {format_date(expected)}. "
    )
    if moved:
        messages.success(
            request,
            head
            + _plural(
                moved,
                "{count} customer's ETA moved; their email is queued.",
                "{count} customers' ETAs moved; their emails are queued.",
            ),
        )
    else:
        messages.success(request, head + "No customer's ETA moved.")
    return redirect(reverse("dashboard:purchase_order", kwargs={"pk": line.purchase_order_id}))


@managers_required
def purchase_order_chase(request: HttpRequest) -> HttpResponse:
    today = store_today()
    return render(
        request,
        "dashboard/purchasing/purchase_order_chase.html",
        {"rows": selectors.chase_ranking(today=today), "today": today},
    )


urlpatterns = [
    path("purchase-orders/", purchase_orders, name="purchase_orders"),
    path("purchase-orders/chase/", purchase_order_chase, name="purchase_order_chase"),
    path("purchase-orders/new/", purchase_order_new, name="purchase_order_new"),
    path("purchase-orders/<int:pk>/", purchase_order, name="purchase_order"),
    path("purchase-orders/<int:pk>/send/", purchase_order_send, name="purchase_order_send"),
    path("purchase-orders/<int:pk>/cancel/", purchase_order_cancel, name="purchase_order_cancel"),
    path("purchase-orders/lines/<int:pk>/receive/", po_line_receive, name="po_line_receive"),
    path("purchase-orders/lines/<int:pk>/cost/", po_line_cost, name="po_line_cost"),
    path(
        "purchase-orders/lines/<int:pk>/reschedule/", po_line_reschedule, name="po_line_reschedule"
    ),
    *suppliers.urlpatterns,
]

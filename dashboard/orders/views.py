"""Dashboard: orders — one order (and goodwill given from its page), a new phone or email
order, and the live quote (the list is in list_views)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.calendar import store_today
from notifications.models import Notification
from orders.models import EtaSource, Order
from orders.selectors import Quote, product_quote
from orders.services import goodwill_grant, order_place

from ..access import can_manage, managers_required, operations_required
from ..submissions import single_submission
from . import list_views
from .actions import order_actions
from .forms import (
    LINE_PREFIX,
    LINE_ROWS,
    MAX_LINE_ROWS,
    BaseOrderLineFormSet,
    OrderNewForm,
    order_line_formset,
)
from .goodwill import GoodwillGrantForm, active_rules, goodwill_section
from .selectors import (
    order_page,
    product_by_sku,
    products_by_sku,
    recent_customers,
    sku_choices,
    unusual_line_quantities,
)


def _order_page(
    request: HttpRequest,
    pk: int,
    *,
    goodwill_form: GoodwillGrantForm | None = None,
    status: int = 200,
) -> HttpResponse:
    try:
        page = order_page(order_id=pk)
    except Order.DoesNotExist as exc:
        raise Http404("No such order.") from exc
    goodwill = goodwill_section(
        order=page.order,
        waiting=any(line.quantity_backordered for line in page.lines),
        user=request.user,
        now=timezone.now(),
        form=goodwill_form,
    )
    return render(
        request,
        "dashboard/orders/order.html",
        {
            "page": page,
            "order": page.order,
            "can_manage": can_manage(request.user),
            "actions": order_actions(page=page, user=request.user),
            "goodwill": goodwill,
            "today": store_today(),
            "store_zone": settings.STORE_TIME_ZONE,
            "pending_states": (Notification.State.PENDING, Notification.State.SENDING),
        },
        status=status,
    )


@require_GET
@operations_required
def order(request: HttpRequest, pk: int) -> HttpResponse:
    return _order_page(request, pk)


@require_POST
@managers_required
@single_submission
def order_goodwill(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the order the chosen rule's gesture; back to its goodwill section, or the page
    again with why not."""
    order = Order.objects.filter(pk=pk).first()
    if order is None:
        raise Http404("No such order.")
    form = GoodwillGrantForm(request.POST, rules=active_rules(now=timezone.now()))
    if form.is_valid():
        try:
            grant = goodwill_grant(order=order, rule=form.chosen(), actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{order.number}: goodwill given — {grant.customer_text}.")
            return redirect(reverse("dashboard:order", args=[order.pk]) + "#goodwill")
    return _order_page(request, pk, goodwill_form=form, status=400)


# --- new order -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineQuote:
    sku: str
    quantity: int | None
    product: Any = None
    quote: Quote | None = None
    problem: str = ""

    @property
    def eta_basis(self) -> str:
        """Where the quoted ETA comes from, in words ("purchase order PO-00012")."""
        if self.quote is None or self.quote.eta is None:
            return ""
        eta = self.quote.eta
        return " ".join(filter(None, [EtaSource(eta.source).label.lower(), eta.reference]))


def _line_quote(sku: str, quantity: Any, product: Any) -> LineQuote:
    sku = (sku or "").strip()
    if not sku:
        return LineQuote(sku, None, problem="Enter a SKU to see availability.")
    if product is None:
        return LineQuote(sku, None, problem=f"No product has the SKU '{sku}'.")
    try:
        units = int(quantity)
    except (TypeError, ValueError):
        return LineQuote(sku, None, product, problem="Enter a quantity of at least 1.")
    if units < 1:
        return LineQuote(sku, units, product, problem="Enter a quantity of at least 1.")
    return LineQuote(sku, units, product, quote=product_quote(product=product, quantity=units))


def _quotes_for(formset: BaseOrderLineFormSet) -> dict[int, LineQuote]:
    """The quote of every filled row (row index from 0), from the raw input."""
    rows = []
    for index, form in enumerate(formset.forms):
        sku = (form.data.get(form.add_prefix("sku")) or "").strip()
        quantity = form.data.get(form.add_prefix("quantity"))
        if sku or quantity:
            rows.append((index, sku, quantity))
    known = products_by_sku(skus=[sku for _, sku, _ in rows])
    return {
        index: _line_quote(sku, quantity, known.get(sku.lower())) for index, sku, quantity in rows
    }


def _with_more_rows(data: Any) -> Any:
    """The posted data with five more blank line rows (the "Add rows" button, no JS needed)."""
    data = data.copy()
    key = f"{LINE_PREFIX}-TOTAL_FORMS"
    try:
        total = int(data.get(key, LINE_ROWS))
    except ValueError:
        total = LINE_ROWS
    data[key] = str(min(MAX_LINE_ROWS, total + LINE_ROWS))
    return data


def _row_numbered(message: str, rows: list[int]) -> str:
    """order_place numbers the lines it was given; say the row the user typed them on."""
    match = re.match(r"Line (\d+)\b", message)
    if match and 0 < int(match.group(1)) <= len(rows):
        return f"Line {rows[int(match.group(1)) - 1]}{message[match.end() :]}"
    return message


def _new_order_page(
    request: HttpRequest,
    form: OrderNewForm,
    formset: BaseOrderLineFormSet,
    *,
    quotes: bool,
    status: int = 200,
) -> HttpResponse:
    line_quotes = _quotes_for(formset) if quotes else {}
    return render(
        request,
        "dashboard/orders/order_new.html",
        {
            "form": form,
            "formset": formset,
            "rows": [(form, line_quotes.get(index)) for index, form in enumerate(formset.forms)],
            "can_add_rows": len(formset.forms) < MAX_LINE_ROWS,
            "products": sku_choices(),
            "customers": recent_customers(),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@operations_required
@single_submission
def order_new(request: HttpRequest) -> HttpResponse:
    today = store_today()
    if request.method != "POST":
        return _new_order_page(
            request,
            OrderNewForm(today=today),
            order_line_formset(),
            quotes=False,
        )
    if "add_rows" in request.POST:
        data = _with_more_rows(request.POST)
        return _new_order_page(
            request,
            OrderNewForm(data, today=today),
            order_line_formset(data),
            quotes=True,
        )
    form = OrderNewForm(request.POST, today=today)
    formset = order_line_formset(request.POST)
    valid = form.is_valid() & formset.is_valid()
    if "preview" in request.POST:
        return _new_order_page(request, form, formset, quotes=True)
    if not valid:
        return _new_order_page(request, form, formset, quotes=True, status=400)
    data = form.cleaned_data
    requests = formset.line_requests()
    questions = unusual_line_quantities(lines=requests)
    if questions and not data["quantities_confirmed"]:
        form.asking_quantities = True
        for question in questions:
            form.add_error(None, question)
        form.add_error(None, "If the quantities are right, tick the box below and place again.")
        return _new_order_page(request, form, formset, quotes=True, status=400)
    try:
        placed = order_place(
            customer_email=data["customer_email"],
            customer_name=data["customer_name"],
            lines=[line for _, line in requests],
            promised_ship_date=data["promised_ship_date"],
            promised_business_days=data["promised_business_days"],
            ship_preference=data["ship_preference"],
            payment_method=data["payment_method"],
            paid=data["paid"],
            shipping_charge=data["shipping_charge"],
            address=form.shipping_address(),
            actor=request.user,
        )
    except ValidationError as exc:
        rows = [row for row, _ in requests]
        for message in exc.messages:
            form.add_error(None, _row_numbered(message, rows))
        return _new_order_page(request, form, formset, quotes=True, status=400)
    queued = Notification.objects.filter(
        order=placed, kind=Notification.Kind.ORDER_CONFIRMATION
    ).exists()
    messages.success(
        request,
        f"Order {placed.number} placed; confirmation email queued."
        if queued
        else f"Order {placed.number} placed; no confirmation email was queued.",
    )
    return redirect(reverse("dashboard:order", args=[placed.pk]))


@require_GET
@operations_required
def quote(request: HttpRequest) -> HttpResponse:
    """A small HTML fragment: what a line of `quantity` × `sku` would get right now."""
    sku = request.GET.get("sku", "")[:64]
    line = _line_quote(sku, request.GET.get("quantity"), product_by_sku(sku=sku))
    return render(request, "dashboard/orders/quote.html", {"line": line})


urlpatterns = [
    *list_views.urlpatterns,
    path("orders/new/", order_new, name="order_new"),
    path("orders/<int:pk>/", order, name="order"),
    path("orders/<int:pk>/goodwill/", order_goodwill, name="order_goodwill"),
    path("quote/", quote, name="quote"),
]

"""Dashboard: acting on an order from its page — prioritise, cancel or substitute a line,
record a payment (or that it bounced), resend an email, change the delivery. Each calls the
same service as the other screens; a GET shows the form alone (the page opens it in a
dialog)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from notifications.models import Notification
from notifications.services import notification_resend
from orders.admin import PaymentReceivedForm
from orders.models import Order, OrderLine
from orders.selectors import DateRange
from orders.services import (
    awaiting_payment,
    line_cancel,
    line_substitute,
    order_delivery_change,
    order_payment_dishonoured,
    order_payment_received,
    order_prioritise,
)

from ..access import can_manage, managers_required, may_cancel, operations_required
from ..params import next_path
from ..queue.forms import QueueCancelForm
from ..queue.selectors import cancelling_owes_refund
from ..shipping.forms import ShipForm
from ..submissions import single_submission
from .forms import DeliveryChangeForm, ReasonForm, SubstituteForm
from .selectors import (
    OrderPage,
    customer_email,
    order_line_for_action,
    substitute_candidates,
)


@dataclass(frozen=True)
class LineActions:
    line: OrderLine
    cancel: QueueCancelForm | None
    substitutes: bool
    eta_range: DateRange | None = None


@dataclass(frozen=True)
class OrderActions:
    """What the signed-in user may do on the order page, with each dialog's empty form."""

    lines: list[LineActions]
    ship: ShipForm | None
    prioritise: ReasonForm | None
    payment_received: PaymentReceivedForm | None
    payment_dishonoured: ReasonForm | None
    delivery: DeliveryChangeForm | None
    awaiting_payment: bool


def order_actions(*, page: OrderPage, user: Any) -> OrderActions:
    order = page.order
    cancel = may_cancel(user, owes_refund=cancelling_owes_refund(order=order))
    managing = can_manage(user)
    return OrderActions(
        lines=[
            LineActions(
                line=line,
                cancel=QueueCancelForm(line=line, auto_id=f"cancel-{line.pk}-%s")
                if cancel and line.quantity_open
                else None,
                substitutes=bool(line.backordered and line.product.substitutes.all()),
                eta_range=page.eta_ranges.get(line.pk),
            )
            for line in page.lines
        ],
        ship=ShipForm(order=order, auto_id="ship-%s")
        if any(line.quantity_allocated for line in page.lines)
        else None,
        prioritise=ReasonForm(auto_id="prio-%s")
        if managing and not order.is_priority and any(line.quantity_open for line in page.lines)
        else None,
        payment_received=PaymentReceivedForm(auto_id="paid-%s", label_suffix="")
        if order.paid_at is None
        else None,
        payment_dishonoured=ReasonForm(auto_id="bounce-%s")
        if managing and order.paid_at is not None
        else None,
        delivery=DeliveryChangeForm(order=order, auto_id="delivery-%s")
        if any(line.quantity_open for line in page.lines)
        else None,
        awaiting_payment=awaiting_payment(order),
    )


def _order_or_404(pk: int) -> Order:
    order = Order.objects.select_related("customer").filter(pk=pk).first()
    if order is None:
        raise Http404("No such order.")
    return order


def _line_or_404(line_id: int) -> OrderLine:
    try:
        return order_line_for_action(line_id=line_id)
    except OrderLine.DoesNotExist as exc:
        raise Http404("No such order line.") from exc


def _back(request: HttpRequest, order: Order) -> str:
    """Where to go once done: the page the action was started from, if it is ours, else the
    order page."""
    return next_path(request, reverse("dashboard:order", args=[order.pk]))


def _act(
    request: HttpRequest,
    *,
    order: Order,
    form: forms.Form,
    title: str,
    submit: str,
    write: Callable[[dict[str, Any]], str],
    intro: str = "",
    danger: bool = False,
) -> HttpResponse:
    """Validate the form, call the service through `write` (it returns the message), go back;
    or show the form alone with what is wrong (400)."""
    if request.method == "POST" and form.is_valid():
        try:
            done = write(form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{order.number}: {done}")
            return redirect(_back(request, order))
    return render(
        request,
        "dashboard/orders/order_action.html",
        {
            "order": order,
            "form": form,
            "title": title,
            "submit": submit,
            "intro": intro,
            "danger": danger,
            "next": _back(request, order),
        },
        status=400 if request.method == "POST" else 200,
    )


def _data(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


@require_http_methods(["GET", "POST"])
@managers_required
@single_submission
def order_prioritise_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(pk)

    def write(data: dict[str, Any]) -> str:
        order_prioritise(order=order, reason=data["reason"], actor=request.user)
        return "every open line moved to the front of its queue."

    return _act(
        request,
        order=order,
        form=ReasonForm(_data(request)),
        title=f"Prioritise {order.number}",
        submit="Prioritise the order",
        write=write,
    )


@require_http_methods(["GET", "POST"])
@operations_required
@single_submission
def order_line_cancel(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _line_or_404(line_id)
    if not may_cancel(request.user, owes_refund=cancelling_owes_refund(line=line)):
        raise PermissionDenied(
            f"{line.order.number} is paid: cancelling it owes the customer a refund, "
            "and refunds are for Managers."
        )

    def write(data: dict[str, Any]) -> str:
        line_cancel(
            line=line,
            reason=data["reason"],
            quantity=data["quantity"],
            cause=data["cause"],
            actor=request.user,
        )
        return (
            f"cancelled {data['quantity']} × {line.product.sku}. "
            "Any refund owed is listed under Refunds."
        )

    return _act(
        request,
        order=line.order,
        form=QueueCancelForm(_data(request), line=line),
        title=f"Cancel {line.product.sku} on {line.order.number}",
        intro=f"{line.quantity_open} of {line.quantity} units can still be cancelled.",
        submit="Cancel these units",
        write=write,
        danger=True,
    )


@require_http_methods(["GET", "POST"])
@operations_required
@single_submission
def order_line_substitute(request: HttpRequest, line_id: int) -> HttpResponse:
    line = _line_or_404(line_id)
    candidates = substitute_candidates(line=line)
    form = SubstituteForm(_data(request), candidates=candidates, units=line.backordered)

    def write(data: dict[str, Any]) -> str:
        substitute = form.chosen()
        line_substitute(line=line, substitute=substitute, reason=data["reason"], actor=request.user)
        return f"{line.backordered} × {substitute.sku} sent instead of {line.product.sku}."

    if not line.backordered:
        intro = f"Nothing is waiting on {line.product.sku}: there is nothing to substitute."
    elif not candidates:
        intro = (
            f"{line.product.sku} has no substitute products. Add them to the product in the "
            "admin, or cancel the line."
        )
    else:
        intro = (
            f"{line.backordered} × {line.product.sku} ({line.product.name}) wait. The substitute "
            "takes them from stock at the same price; the waiting units are cancelled without a "
            "refund. Only with the customer's consent: substitutes with enough stock are also "
            "offered on the customer's status page while a delay notice awaits an answer."
        )
    return _act(
        request,
        order=line.order,
        form=form,
        title=f"Substitute {line.product.sku} on {line.order.number}",
        intro=intro,
        submit="Send the substitute instead",
        write=write,
    )


@require_http_methods(["GET", "POST"])
@operations_required
@single_submission
def order_payment_received_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(pk)

    def write(data: dict[str, Any]) -> str:
        paid = order_payment_received(order=order, at=data["received_at"], actor=request.user)
        return f"payment of {paid.amount_paid} recorded; the order may ship."

    return _act(
        request,
        order=order,
        form=PaymentReceivedForm(_data(request), label_suffix=""),
        title=f"Record payment received for {order.number}",
        intro=f"Paid by {order.get_payment_method_display().lower()}.",
        submit="Record payment received",
        write=write,
    )


@require_http_methods(["GET", "POST"])
@managers_required
@single_submission
def order_payment_dishonoured_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(pk)

    def write(data: dict[str, Any]) -> str:
        order_payment_dishonoured(order=order, reason=data["reason"], actor=request.user)
        return "payment recorded as dishonoured; the order waits for payment again."

    return _act(
        request,
        order=order,
        form=ReasonForm(_data(request)),
        title=f"Record a dishonoured payment for {order.number}",
        intro="A check bounced or a card was refused: the order is no longer paid.",
        submit="Record dishonoured payment",
        write=write,
        danger=True,
    )


@require_http_methods(["GET", "POST"])
@operations_required
@single_submission
def order_delivery_change_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order_or_404(pk)
    form = DeliveryChangeForm(_data(request), order=order)

    def write(data: dict[str, Any]) -> str:
        if not form.has_changed():
            return "nothing to change: the delivery is as it was."
        order_delivery_change(
            order=order,
            ship_preference=data["ship_preference"],
            address=form.shipping_address(),
            reason=data["reason"],
            actor=request.user,
        )
        return "delivery changed for everything not yet shipped."

    return _act(
        request,
        order=order,
        form=form,
        title=f"Change the delivery of {order.number}",
        intro="The new ship preference and address apply to every unit not yet shipped.",
        submit="Change the delivery",
        write=write,
    )


@require_POST
@operations_required
@single_submission
def order_email_resend(request: HttpRequest, pk: int, notification_id: int) -> HttpResponse:
    order = _order_or_404(pk)
    try:
        email = customer_email(order_id=order.pk, notification_id=notification_id)
    except Notification.DoesNotExist as exc:
        raise Http404("No such email on this order.") from exc
    try:
        copy = notification_resend(notification=email)
    except ValidationError as exc:
        messages.error(request, f"{order.number}: {' '.join(exc.messages)}")
    else:
        messages.success(
            request, f"{order.number}: {copy.get_kind_display()} queued again to {copy.recipient}."
        )
    return redirect(_back(request, order))


urlpatterns = [
    path("orders/<int:pk>/prioritise/", order_prioritise_view, name="order_prioritise"),
    path("orders/<int:pk>/payment/", order_payment_received_view, name="order_payment_received"),
    path(
        "orders/<int:pk>/payment/dishonoured/",
        order_payment_dishonoured_view,
        name="order_payment_dishonoured",
    ),
    path("orders/<int:pk>/delivery/", order_delivery_change_view, name="order_delivery_change"),
    path(
        "orders/<int:pk>/emails/<int:notification_id>/resend/",
        order_email_resend,
        name="order_email_resend",
    ),
    path("orders/lines/<int:line_id>/cancel/", order_line_cancel, name="order_line_cancel"),
    path(
        "orders/lines/<int:line_id>/substitute/",
        order_line_substitute,
        name="order_line_substitute",
    ),
]

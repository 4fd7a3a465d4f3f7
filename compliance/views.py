from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST, require_safe

from config.calendar import store_date
from orders.models import Order
from orders.selectors import order_from_status_token
from orders.services import order_status_view_record

from .models import DelayNotice
from .selectors import customer_offers, customer_status_page
from .services import AnswerNotOffered, consent_answer, order_cancel_before_shipment


@require_safe
def order_status(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's page for one order, opened from the signed link in every email."""
    found = order_from_status_token(token=token)
    if found is None:
        raise Http404("No such order.")
    if request.method == "GET" and not request.user.is_authenticated:
        # The customer's own opens only: not a link checker's HEAD, not staff looking.
        order_status_view_record(order_id=found.pk)
    return _render_status(request, token, found)


def _render_status(
    request: HttpRequest, token: str, found: Order, *, error: str = "", status: int = 200
) -> HttpResponse:
    page = customer_status_page(order_id=found.pk)
    offers = customer_offers(order=found, today=store_date(timezone.now()))
    response = render(
        request,
        "customer/status.html",
        {
            "page": page,
            "order": page.order,
            "token": token,
            "consent": offers.consent,
            "cancel": offers.cancel,
            "consent_error": error,
            "store_name": settings.STORE_NAME,
            "store_time_zone": settings.STORE_TIME_ZONE,
            "support_email": settings.STORE_SUPPORT_EMAIL,
        },
        status=status,
    )
    # The token in the URL is the customer's credential: never leak it to another site, never
    # cache the page. ("no-referrer" would also make Chromium post `Origin: null`, which fails
    # the CSRF check of every answer; "same-origin" keeps the origin for our own forms only.)
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    patch_cache_control(response, private=True, no_store=True)
    return response


def _form_id(value: str | None) -> int | None:
    """A row id from a form field, or None when it is not one (never an exception)."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


@require_POST
def consent_submit(request: HttpRequest, token: str) -> HttpResponse:
    """One click on the status page answers the delay notice; the first answer counts."""
    found = order_from_status_token(token=token)
    if found is None:
        raise Http404("No such order.")
    notice_id = _form_id(request.POST.get("notice"))
    notice = (
        DelayNotice.objects.filter(order=found, pk=notice_id).first()
        if notice_id is not None
        else None
    )
    if notice is None:
        return _render_status(
            request,
            token,
            found,
            error="That answer does not match a notice about this order; "
            "please use the buttons on this page.",
            status=400,
        )
    line = request.POST.get("line") or ""
    line_id = _form_id(line)
    if line and line_id is None:
        return _render_status(
            request, token, found, error="That item is not part of this order.", status=400
        )
    try:
        consent_answer(
            notice=notice,
            choice=request.POST.get("choice", ""),
            substitute_sku=request.POST.get("substitute", ""),
            line_id=line_id,
        )
    except AnswerNotOffered as exc:
        return _render_status(request, token, found, error=" ".join(exc.messages), status=400)
    except ValidationError as exc:
        return _render_status(request, token, found, error=" ".join(exc.messages), status=409)
    messages.success(request, "Thank you: we have your answer and have emailed you a confirmation.")
    return redirect("customer:status", token=token)


@require_POST
def cancel_submit(request: HttpRequest, token: str) -> HttpResponse:
    """Cancel before it ships: offered on the page where the rule still allows it."""
    found = order_from_status_token(token=token)
    if found is None:
        raise Http404("No such order.")
    try:
        order_cancel_before_shipment(order_id=found.pk)
    except ValidationError as exc:
        return _render_status(request, token, found, error=" ".join(exc.messages), status=409)
    messages.success(
        request,
        "Your order is cancelled. Your refund is shown below, and we have emailed you a "
        "confirmation.",
    )
    return redirect("customer:status", token=token)

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST, require_safe

from orders.models import Order
from orders.selectors import order_from_status_token

from .models import DelayNotice
from .selectors import consent_offer, customer_status_page
from .services import consent_answer


@require_safe
def order_status(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's page for one order, opened from the signed link in every email."""
    found = order_from_status_token(token=token)
    if found is None:
        raise Http404("No such order.")
    return _render_status(request, token, found)


def _render_status(
    request: HttpRequest, token: str, found: Order, *, error: str = "", status: int = 200
) -> HttpResponse:
    page = customer_status_page(order_id=found.pk)
    response = render(
        request,
        "customer/status.html",
        {
            "page": page,
            "order": page.order,
            "token": token,
            "consent": consent_offer(order=found),
            "consent_error": error,
            "store_name": settings.STORE_NAME,
            "store_time_zone": settings.STORE_TIME_ZONE,
            "support_email": settings.STORE_SUPPORT_EMAIL,
        },
        status=status,
    )
    # The token in the URL is the customer's credential: never leak it, never cache the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_POST
def consent_submit(request: HttpRequest, token: str) -> HttpResponse:
    """One click on the status page answers the delay notice; the first answer counts."""
    found = order_from_status_token(token=token)
    if found is None:
        raise Http404("No such order.")
    notice = DelayNotice.objects.filter(order=found, pk=request.POST.get("notice") or 0).first()
    if notice is None:
        raise Http404("No such notice.")
    line = request.POST.get("line") or ""
    try:
        consent_answer(
            notice=notice,
            choice=request.POST.get("choice", ""),
            substitute_sku=request.POST.get("substitute", ""),
            line_id=int(line) if line.isdigit() else None,
        )
    except ValidationError as exc:
        return _render_status(request, token, found, error=" ".join(exc.messages), status=409)
    messages.success(request, "Thank you: we have your answer and have emailed you a confirmation.")
    return redirect("customer:status", token=token)

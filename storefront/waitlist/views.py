"""The public waitlist pages: the embeddable join form and the leave page of the email link.

The join form is made to sit in a frame on a shop's own product page. A cookie set inside a
frame from another site is a third-party cookie, which browsers withhold, so Django's CSRF
cookie cannot be relied on there: the form carries a signed, expiring token instead, and a
post whose Origin (or Referer) is another site is refused, as Django's own check would.
"""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

from csp.decorators import csp_replace
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from inventory.models import Product

from .selectors import entry_from_leave_token, product_for_waitlist
from .services import waitlist_join, waitlist_leave

FORM_SALT = "storefront.waitlist-form"
FORM_MAX_AGE = dt.timedelta(hours=12)
RATE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _form_token(product: Product) -> str:
    return signing.TimestampSigner(salt=FORM_SALT).sign_object(
        {"p": product.pk, "n": secrets.token_urlsafe(8)}
    )


def _token_ok(token: str, product: Product) -> bool:
    try:
        data = signing.TimestampSigner(salt=FORM_SALT).unsign_object(token, max_age=FORM_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return False
    return isinstance(data, dict) and data.get("p") == product.pk


def _same_origin(request: HttpRequest) -> bool:
    """False when the browser says the post came from a page of another site."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if not source:
        return True
    if source == "null":
        return False
    found = urlsplit(source)
    return f"{found.scheme}://{found.netloc}" == f"{request.scheme}://{request.get_host()}"


def _rate_limited(request: HttpRequest) -> bool:
    """True when this address has posted more joins than WAITLIST_FORM_RATE allows."""
    rate = settings.WAITLIST_FORM_RATE
    if not rate:
        return False
    count, _, period = rate.partition("/")
    seconds = RATE_PERIODS.get(period[:1], 3600)
    key = f"waitlist-form:{request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, timeout=seconds)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        used = 1
    return used > int(count)


def _form_page(
    request: HttpRequest, product: Product, *, error: str = "", email: str = "", status: int = 200
) -> HttpResponse:
    response = render(
        request,
        "storefront/waitlist/join.html",
        {
            "product": product,
            "token": _form_token(product),
            "joined": request.GET.get("joined") == "1" and not error,
            "error": error,
            "email": email,
            "store_name": settings.STORE_NAME,
        },
        status=status,
    )
    patch_cache_control(response, private=True, no_store=True)
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@csrf_exempt  # a signed form token and the Origin check instead (see the module's docstring)
@xframe_options_exempt
@csp_replace({"frame-ancestors": settings.WAITLIST_FRAME_ANCESTORS})  # type: ignore[arg-type]
@require_http_methods(["GET", "HEAD", "POST"])
def waitlist_form(request: HttpRequest, sku: str) -> HttpResponse:
    """A shopper leaves an email address to be told when the product is back."""
    product = product_for_waitlist(sku=sku)
    if product is None:
        raise Http404("No such product.")
    if request.method != "POST":
        return _form_page(request, product)
    email = request.POST.get("email", "")[:254]
    if not _same_origin(request) or not _token_ok(request.POST.get("token", ""), product):
        return _form_page(
            request,
            product,
            email=email,
            error="This form has expired. Please enter your email address again.",
            status=403,
        )
    if _rate_limited(request):
        return _form_page(
            request,
            product,
            email=email,
            error="Too many sign-ups from your network just now. Please try again later.",
            status=429,
        )
    try:
        waitlist_join(product=product, email=email)
    except ValidationError as exc:
        return _form_page(request, product, email=email, error=" ".join(exc.messages), status=400)
    return redirect(f"{reverse('waitlist:join', args=[product.sku])}?joined=1", permanent=False)


@require_http_methods(["GET", "HEAD", "POST"])
def waitlist_leave_page(request: HttpRequest, token: str) -> HttpResponse:
    """The email's 'leave the waitlist' link: a page with one button (a GET changes nothing,
    so a mail scanner that follows links takes nobody off the list)."""
    entry = entry_from_leave_token(token=token)
    if entry is None:
        raise Http404("No such waitlist entry.")
    if request.method == "POST":
        entry = waitlist_leave(entry=entry)
    response = render(
        request,
        "storefront/waitlist/leave.html",
        {"entry": entry, "token": token, "store_name": settings.STORE_NAME},
    )
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    patch_cache_control(response, private=True, no_store=True)
    return response

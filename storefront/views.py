"""Staff pages of the storefront app: a preview of the availability widget on a product page."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .selectors import widget_preview


@staff_member_required
def widget_demo(request: HttpRequest) -> HttpResponse:
    """A made-up product page showing the widget, with the snippet to paste into the store."""
    preview = widget_preview(sku=request.GET.get("sku", "").strip()[:64])
    return render(
        request,
        "storefront/widget_demo.html",
        {
            "preview": preview,
            # The file's own name, not its hashed copy's: a pasted snippet keeps working when
            # the script changes (WhiteNoise serves both).
            "script_url": request.build_absolute_uri(
                f"{settings.STATIC_URL}storefront/availability.js"
            ),
        },
    )

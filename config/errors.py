"""Error pages inside the site's layout, each with a way back (settings: handler400 and friends
in config.urls, CSRF_FAILURE_VIEW). Staff see the dashboard's layout; anyone else the plain one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import loader

PAGES = {
    400: (
        "That request could not be read",
        "Something in what was sent does not make sense to us. Go back, reload the page and try "
        "again.",
    ),
    403: (
        "You may not open this page",
        "Your account does not have the permission this page needs. Ask a manager if you "
        "think it should.",
    ),
    404: (
        "Page not found",
        "There is nothing at this address. It may have been mistyped, or what it showed was "
        "removed.",
    ),
    500: (
        "Something went wrong on our side",
        "The page could not be shown. Nothing you did caused this; it has been logged. Try again "
        "in a moment.",
    ),
}
CSRF_FAILED = (
    "This form has expired",
    "The page was open too long or your session changed, so the form was not accepted and "
    "nothing was saved. Reload the page and submit it again.",
)


def _is_staff(request: HttpRequest) -> bool:
    user: Any = getattr(request, "user", None)
    try:
        return bool(user is not None and user.is_authenticated and user.is_staff)
    except Exception:  # noqa: BLE001 - an error page must render even when the database fails
        return False


def error_page(
    request: HttpRequest, *, status: int, title: str = "", detail: str = "", staff: bool = True
) -> HttpResponse:
    """The error page for `status`, with its default title and explanation unless given."""
    default_title, default_detail = PAGES.get(status, PAGES[400])
    is_staff = staff and _is_staff(request)
    context = {
        "status": status,
        "error_title": title or default_title,
        "error_detail": detail or default_detail,
        "layout": "dashboard/base.html" if is_staff else "base.html",
        "staff_view": is_staff,
        "support_email": settings.STORE_SUPPORT_EMAIL,
    }
    template = loader.get_template(f"{status}.html" if status in PAGES else "400.html")
    return HttpResponse(template.render(context, request), status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = str(exception or "")
    detail = f"{reason} {PAGES[403][1]}" if reason else ""
    return error_page(request, status=403, detail=detail)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No user, no database: whatever broke may be the database.
    return error_page(request, status=500, staff=False)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    title, detail = CSRF_FAILED
    return error_page(request, status=403, title=title, detail=detail)

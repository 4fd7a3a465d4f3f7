"""Who may open which screen: an "Operations" group and a "Managers" group."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

OPERATE = "dashboard.operate"
MANAGE = "dashboard.manage"

GROUPS = {
    "Operations": ["operate"],
    "Managers": ["operate", "manage"],
}

View = Callable[..., HttpResponseBase]


def can_operate(user: Any) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(OPERATE))


def can_manage(user: Any) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(MANAGE))


def _requires(check: Callable[[Any], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not check(request.user):
                raise PermissionDenied("You do not have access to this screen.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


operations_required = _requires(can_operate)
managers_required = _requires(can_manage)


def may_cancel(user: Any, *, owes_refund: bool) -> bool:
    """Operations cancel units nobody paid for; a cancellation that owes a refund is for
    Managers (the queue and the order page ask the same question)."""
    return can_manage(user) or (can_operate(user) and not owes_refund)

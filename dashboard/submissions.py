"""One-time form tokens: a write form submitted twice (a double click, a resent request) writes
once, and the second submission is shown the first one's result.

Every dashboard form that writes renders ``{% submission_token %}`` (a hidden field with a fresh
random key) and its view is wrapped in ``@single_submission``. The token is stored in the same
transaction as the write it causes, so of two concurrent POSTs with one token the second waits
for the first to commit, then finds the token and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone

from config.errors import error_page

from .models import SubmissionToken

FIELD = "submission_token"
KEPT = dt.timedelta(days=2)
_KEY = re.compile(r"[A-Za-z0-9_-]{20,64}")

View = Callable[..., HttpResponseBase]


def new_key() -> str:
    return secrets.token_urlsafe(24)


def _claim(*, key: str, user: Any) -> SubmissionToken | None:
    """Store the token; None when it was already used (the caller then writes nothing)."""
    try:
        with transaction.atomic():
            return SubmissionToken.objects.create(key=key, user=user)
    except IntegrityError:
        return None


def refused(request: HttpRequest, detail: str) -> HttpResponse:
    """The 400 page for a form sent without a usable token: nothing was written."""
    return error_page(
        request, status=400, title="This form was not sent as expected", detail=detail
    )


def _repeat(request: HttpRequest, *, key: str) -> HttpResponseBase:
    user: Any = request.user
    earlier = SubmissionToken.objects.filter(key=key, user=user).first()
    if earlier is None:
        return refused(
            request,
            "This form's one-time token belongs to someone else; nothing was saved. Reload the "
            "page and try again.",
        )
    messages.info(
        request, "This form was already submitted; nothing was done again. Here is the result."
    )
    return redirect(earlier.result_url or request.path)


def single_submission(view: View) -> View:
    """Run a POST with a one-time token at most once; repeats go to the first result.

    A POST that ends in a redirect used its token; one that re-renders the page (an error, a
    preview) did not write, and its token stays free. A POST without a token is refused with
    the 400 page and writes nothing: without one a resent request could write twice.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        key = request.POST.get(FIELD, "")
        if not key:
            return refused(
                request,
                "This form arrived without its one-time token, so nothing was saved. Reload the "
                "page and submit the form again.",
            )
        if not _KEY.fullmatch(key):
            return refused(
                request,
                "This form's one-time token is not valid; nothing was saved. Reload the page and "
                "submit it again.",
            )
        user: Any = request.user
        with transaction.atomic():
            token = _claim(key=key, user=user)
            if token is not None:
                response = view(request, *args, **kwargs)
                if isinstance(response, HttpResponseRedirect):
                    token.result_url = response["Location"][:500]
                    token.save(update_fields=["result_url"])
                else:
                    token.delete()
                SubmissionToken.objects.filter(
                    user=user, created_at__lt=timezone.now() - KEPT
                ).delete()
                return response
        return _repeat(request, key=key)

    wrapped.single_submission = True  # type: ignore[attr-defined]
    return wrapped

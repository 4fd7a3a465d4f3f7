"""Reading the query string: a bad or hostile value falls back, it never raises."""

from __future__ import annotations

from collections.abc import Collection

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

# The largest primary key the database can hold (bigint); larger numbers are not ids.
MAX_ID = 2**63 - 1


def id_param(request: HttpRequest, name: str) -> int | None:
    """A row id from the query string, or None when absent or not a plausible id."""
    value = request.GET.get(name, "")
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def choice_param(request: HttpRequest, name: str, choices: Collection[int], default: int) -> int:
    """One of a few allowed numbers (e.g. days=30|90), else the default."""
    value = request.GET.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and int(value) in choices else default


def flag_param(request: HttpRequest, name: str) -> bool:
    """A checkbox filter (?name=1): anything else is off."""
    return request.GET.get(name, "") in ("1", "on", "true", "yes")


def next_path(request: HttpRequest, default: str) -> str:
    """Where to go back after an action: the `next` path given with it when it is ours, else
    `default`. Only a path: a bare word would be taken for a URL name by redirect()."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default

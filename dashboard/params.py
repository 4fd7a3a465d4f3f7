"""Reading the query string: a bad or hostile value falls back, it never raises."""

from __future__ import annotations

from collections.abc import Collection

from django.http import HttpRequest

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

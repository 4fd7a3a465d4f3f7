"""List screens: a filtered, paged list (render_list: one page of rows with their badge, the
filters kept as a query string for the page links), a sorted list paged by keyset for the
long lists (keyset.keyset_page) and each user's saved views of a list (views, services)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .keyset import KeysetPage, Sort, SortLink, keyset_page, parse_date, parse_datetime

__all__ = [
    "KeysetPage",
    "Sort",
    "SortLink",
    "keyset_page",
    "parse_date",
    "parse_datetime",
    "render_list",
]


def render_list(
    request: HttpRequest,
    template: str,
    *,
    filters: forms.Form,
    items: QuerySet[Any],
    page_size: int,
    badge: Callable[[Any], str],
) -> HttpResponse:
    """Render the requested page of `items`, each row as (item, its badge's CSS class)."""
    page = Paginator(items, page_size).get_page(request.GET.get("page"))
    rows = [(item, badge(item)) for item in page]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        template,
        {"filters": filters, "page": page, "rows": rows, "query": query.urlencode()},
    )

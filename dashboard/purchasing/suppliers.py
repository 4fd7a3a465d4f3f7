"""Dashboard: suppliers and how they keep their dates — a sortable table of scorecards and a
page per supplier with its latest receipts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from config.calendar import store_today
from inventory.models import Supplier
from inventory.selectors import SupplierScorecard, supplier_receipts, supplier_scorecards

from ..access import managers_required
from ..charts import bar_chart
from ..lists import SortLink
from ..params import choice_param

WINDOWS = (90, 180, 365)
DEFAULT_WINDOW = 180

# key: (label, value to sort by, best first when descending)
SORTS: dict[str, tuple[str, Callable[[SupplierScorecard], Any], bool]] = {
    "name": ("Supplier", lambda card: card.name.lower(), False),
    "receipts": ("Receipts", lambda card: card.receipts, True),
    "on_time": ("On time", lambda card: card.on_time_percent, True),
    "median": ("Median slip", lambda card: card.median_slip, False),
    "p90": ("90th percentile slip", lambda card: card.p90_slip, False),
    "fill": ("Fill rate", lambda card: card.fill_percent, True),
    "moves": ("Date moves per line", lambda card: card.average_date_moves, False),
}


def _sorted(cards: list[SupplierScorecard], key: str, descending: bool) -> list[SupplierScorecard]:
    """Sorted by one figure; suppliers without that figure yet always come last."""
    value = SORTS[key][1]
    known = [card for card in cards if value(card) is not None]
    unknown = [card for card in cards if value(card) is None]
    known.sort(key=lambda card: (value(card), card.name.lower()), reverse=descending)
    return known + unknown


def _sort_param(request: HttpRequest) -> tuple[str, bool]:
    raw = request.GET.get("sort", "")
    key = raw.removeprefix("-")
    if key not in SORTS:
        return "name", False
    return key, raw.startswith("-")


@managers_required
def suppliers(request: HttpRequest) -> HttpResponse:
    days = choice_param(request, "days", WINDOWS, DEFAULT_WINDOW)
    key, descending = _sort_param(request)
    cards = _sorted(supplier_scorecards(today=store_today(), days=days), key, descending)
    links = {}
    for name, (label, _, best_high) in SORTS.items():
        # A click on the current column turns it round; a new column starts with its best first.
        flip = (not descending) if name == key else best_high
        query = urlencode({"sort": f"{'-' if flip else ''}{name}", "days": days})
        direction = ("descending" if descending else "ascending") if name == key else ""
        links[name] = SortLink(label=label, key=name, href=f"?{query}", direction=direction)
    return render(
        request,
        "dashboard/purchasing/suppliers.html",
        {
            "cards": cards,
            "days": days,
            "windows": WINDOWS,
            "sort": f"{'-' if descending else ''}{key}",
            "sort_links": links,
        },
    )


@managers_required
def supplier(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        supplier = Supplier.objects.get(pk=pk)
    except Supplier.DoesNotExist:
        raise Http404("No such supplier.") from None
    days = choice_param(request, "days", WINDOWS, DEFAULT_WINDOW)
    [card] = supplier_scorecards(today=store_today(), days=days, supplier_ids=[pk])
    slips = Counter(card.slips)
    chart = bar_chart(
        "Receipts by days late (negative: early)",
        [(f"{slip:+d}" if slip else "0", slips[slip]) for slip in sorted(slips)],
    )
    return render(
        request,
        "dashboard/purchasing/supplier.html",
        {
            "supplier": supplier,
            "card": card,
            "days": days,
            "windows": WINDOWS,
            "chart": chart,
            "receipts": list(supplier_receipts(supplier_id=pk)),
        },
    )


urlpatterns = [
    path("suppliers/", suppliers, name="suppliers"),
    path("suppliers/<int:pk>/", supplier, name="supplier"),
]

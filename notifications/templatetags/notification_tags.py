"""Filters for the notification emails: dates and money in words a customer reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template

from config.calendar import store_today
from config.formats import DATE_FORMAT, format_date, format_money
from config.formats import as_date as _as_date

register = template.Library()

DATE_STYLES = {
    "long": DATE_FORMAT,  # 12 Mar 2027, as on every page
    "weekday": "l j M",  # Thursday 12 Mar (the year is added when it is not this year)
    "short": "j M",  # 12 Mar (likewise)
}


@register.filter
def isodate(value: Any, style: str = "long") -> str:
    """An ISO date string as words: "12 Mar 2027"; "weekday" → "Thursday 12 Mar";
    "short" → "12 Mar". Short styles name the year only when it is not this year.
    Any other argument is a Django date format. Empty or unreadable → ""."""
    date = _as_date(value)
    if date is None:
        return ""
    fmt = DATE_STYLES.get(style, style)
    if style in ("weekday", "short") and date.year != store_today().year:
        fmt += " Y"
    return format_date(date, fmt)


money = register.filter("money", format_money)


@register.filter
def product_name(item: str | Mapping[str, Any], names: Mapping[str, str] | None) -> str:
    """A product's current name, from a SKU or a row with "sku" (and maybe "name");
    falls back to the row's name, then to the SKU itself."""
    if isinstance(item, Mapping):
        sku = str(item.get("sku") or "")
        return (names or {}).get(sku) or str(item.get("name") or "") or sku
    return (names or {}).get(item) or str(item)


@register.filter
def ships_now(lines: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Lines with units reserved for this order (they ship now)."""
    return [line for line in lines or [] if line.get("allocated")]


def _is_upcoming_preorder(line: Mapping[str, Any]) -> bool:
    release = _as_date(line.get("release_date"))
    return bool(line.get("preorder")) and release is not None and release > store_today()


@register.filter
def backorders(lines: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Lines with units waiting for stock, preorders of unreleased products aside."""
    return [
        line for line in lines or [] if line.get("backordered") and not _is_upcoming_preorder(line)
    ]


@register.filter
def preorders(lines: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Lines waiting for a product that has not been released yet."""
    return [line for line in lines or [] if line.get("backordered") and _is_upcoming_preorder(line)]


@register.filter
def eta_words(line: Mapping[str, Any]) -> str:
    """When a backordered line will ship, in plain words, saying how sure we are."""
    eta = isodate(line.get("eta"), "short")
    if _is_upcoming_preorder(line):
        release = isodate(line.get("release_date"), "short")
        if not eta:
            return (
                f"preorder — releases on {release}; we'll email you a shipping date "
                "as soon as we have one"
            )
        if line.get("eta") == line.get("release_date"):
            return f"preorder — releases on {release} and ships on release day"
        return f"preorder — releases on {release}, ships around {eta}"
    if not eta or line.get("eta_source") == "unknown":
        return "we don't have a date yet; we'll email you as soon as we do"
    if line.get("eta_source") == "lead_time":
        return f"estimated from our supplier's lead time, around {eta}"
    if line.get("eta_padded"):
        # Allowing for how late this supplier has tended to be: a date to count on.
        return f"expected to ship by {eta}"
    return f"expected to ship around {eta}"


@register.filter
def eta_direction(change: Mapping[str, Any]) -> str:
    """How an ETA moved: "later", "earlier", "no_date" (we lost the date) or "new_date"."""
    old, new = _as_date(change.get("old")), _as_date(change.get("new"))
    if new is None:
        return "no_date"
    if old is None:
        return "new_date"
    return "later" if new > old else "earlier"


@register.filter
def any_direction(changes: Iterable[Mapping[str, Any]], directions: str) -> bool:
    """Whether any change moved in one of the comma-separated directions."""
    wanted = set(directions.split(","))
    return any(eta_direction(change) in wanted for change in changes or [])


@register.filter
def has_substitutes(rows: Iterable[Mapping[str, Any]]) -> bool:
    """Whether any cancelled row suggests a substitute product."""
    return any(row.get("substitutes") for row in rows or [])

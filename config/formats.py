"""One way to show a date, a moment and an amount of money, on every page, CSV and email.

Dates read "12 Mar 2027"; moments (a date and a time) "12 Mar 2027, 14:05" in the store's time
zone (settings.STORE_TIME_ZONE), which each layout names once; money "$3,998,000.25", with the
store currency's symbol and thousands separators. The filters are built into every template
(settings.TEMPLATES "builtins"): ``{{ order.placed_at|moment }}``, ``{{ line.eta|day }}``,
``{{ refund.amount|money }}``, ``{{ units|number }}``, ``{{ lines|count:"line" }}``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.conf import settings
from django.utils import dateformat

from config.calendar import store_zone

DATE_FORMAT = "j M Y"  # 12 Mar 2027
DATETIME_FORMAT = "j M Y, H:i"  # 12 Mar 2027, 14:05
TIME_FORMAT = "H:i"
ISO_DATETIME_FORMAT = "%Y-%m-%d %H:%M"  # CSV cells: sortable, in the store's zone

CURRENCY_SYMBOLS = {
    "USD": "$",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
}

register = template.Library()


def _store_moment(value: dt.datetime) -> dt.datetime:
    return value.astimezone(store_zone()) if value.tzinfo else value


def as_date(value: Any) -> dt.date | None:
    """A date, the store date of a moment, or an ISO date string as a date; else None."""
    if isinstance(value, dt.datetime):
        return _store_moment(value).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def format_date(value: Any, fmt: str = DATE_FORMAT) -> str:
    """A date (or the store date of a moment, or an ISO date string); empty → ""."""
    date = as_date(value)
    return dateformat.format(date, fmt) if date is not None else ""


def format_moment(value: Any) -> str:
    """An aware moment in the store's time zone, date and time; empty → ""."""
    if isinstance(value, str) and value:
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return ""
    if not isinstance(value, dt.datetime):
        return format_date(value)
    return dateformat.format(_store_moment(value), DATETIME_FORMAT)


def format_time(value: Any) -> str:
    """The time of day of an aware moment, in the store's time zone."""
    if not isinstance(value, dt.datetime):
        return ""
    return dateformat.format(_store_moment(value), TIME_FORMAT)


def csv_moment(value: dt.datetime | None) -> str:
    """A moment for a CSV cell: "2027-03-12 14:05" in the store's time zone."""
    return _store_moment(value).strftime(ISO_DATETIME_FORMAT) if value else ""


def currency_symbol() -> str:
    code = str(getattr(settings, "STORE_CURRENCY", "USD")).upper()
    return CURRENCY_SYMBOLS.get(code, f"{code} ")


def format_money(value: Any) -> str:
    """ "1234.5" → "$1,234.50"; empty → ""; something that is not a number is shown as it is."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}{currency_symbol()}{abs(amount):,.2f}"


def format_number(value: Any) -> str:
    """A count with thousands separators: 99990 → "99,990"; anything else as it is."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def count_noun(number: Any, noun: str, plural: str = "") -> str:
    """ "1 line", "2 lines", "no lines"; `plural` when adding "s" is wrong ("2 boxes")."""
    try:
        n = int(number)
    except (TypeError, ValueError):
        n = len(number) if hasattr(number, "__len__") else 0
    many = plural or f"{noun}s"
    if n == 0:
        return f"no {many}"
    return f"{n:,} {noun if n == 1 else many}"


def store_time_zone_name() -> str:
    return str(settings.STORE_TIME_ZONE)


register.filter("day", format_date)
register.filter("moment", format_moment)
register.filter("clock", format_time)
register.filter("money", format_money)
register.filter("number", format_number)


@register.filter(name="count")
def count_filter(number: Any, nouns: str) -> str:
    """``{{ n|count:"line" }}`` → "3 lines"; ``{{ n|count:"box,boxes" }}`` for odd plurals."""
    noun, _, plural = nouns.partition(",")
    return count_noun(number, noun, plural)


@register.simple_tag
def store_time_zone() -> str:
    """The name of the zone every time on the page is shown in."""
    return store_time_zone_name()

"""The store's calendar: one home for store dates and working days.

Times are aware UTC datetimes; business dates are dates in the store's time zone
(settings.STORE_TIME_ZONE). Working days are Monday to Friday, US federal holidays excluded
(the Mail Order Rule's refund deadline and a stated "ships in N business days" count them).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.utils import timezone


def store_zone() -> ZoneInfo:
    return ZoneInfo(settings.STORE_TIME_ZONE)


def store_date(moment: dt.datetime) -> dt.date:
    """The store date of an aware moment."""
    return moment.astimezone(store_zone()).date()


def store_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in the store's time zone: business dates are store dates."""
    return store_date(now or timezone.now())


def start_of_store_day(day: dt.date) -> dt.datetime:
    """The first moment of a store day (in the store's zone)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=store_zone())


def end_of_store_day(day: dt.date) -> dt.datetime:
    """The last moment of a store day, in UTC: shipping any time on day T is on time."""
    midnight = start_of_store_day(day + dt.timedelta(days=1))
    return (midnight - dt.timedelta(microseconds=1)).astimezone(dt.UTC)


@lru_cache(maxsize=32)
def us_federal_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("US", years=year).keys())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in us_federal_holidays(day.year)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (Mon–Fri, US federal holidays excluded)."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current

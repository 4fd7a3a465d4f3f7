"""One calendar: store dates and working days come from config/calendar.py alone."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

from django.test import override_settings

from config import calendar

ROOT = Path(__file__).resolve().parents[1]
CALENDAR_NAMES = {
    "store_zone",
    "store_date",
    "store_today",
    "start_of_store_day",
    "end_of_store_day",
    "add_working_days",
    "us_federal_holidays",
    "_us_federal_holidays",
}
NOT_YET = {"tests", "migrations", "bench", ".venv", ".git"}


def test_no_app_defines_its_own_calendar():
    copies = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.name}"
        for path in ROOT.rglob("*.py")
        if not NOT_YET.intersection(path.relative_to(ROOT).parts)
        and path != ROOT / "config" / "calendar.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name in CALENDAR_NAMES
    ]
    assert copies == []


def test_old_names_are_the_calendar_itself():
    from compliance import selectors as compliance_selectors
    from inventory import bounds
    from orders import selectors as orders_selectors
    from orders import services as orders_services

    assert orders_selectors.store_today is calendar.store_today
    assert bounds.store_today is calendar.store_today
    assert compliance_selectors.store_zone is calendar.store_zone
    assert compliance_selectors.store_date is calendar.store_date
    assert compliance_selectors.end_of_store_day is calendar.end_of_store_day
    assert orders_services.add_working_days is calendar.add_working_days


@override_settings(STORE_TIME_ZONE="America/New_York")
def test_store_dates_follow_the_store_zone():
    # 02:30 UTC on 5 July is still 4 July in New York.
    moment = dt.datetime(2026, 7, 5, 2, 30, tzinfo=dt.UTC)
    assert calendar.store_date(moment) == dt.date(2026, 7, 4)
    assert calendar.store_today(moment) == dt.date(2026, 7, 4)
    end = calendar.end_of_store_day(dt.date(2026, 7, 4))
    assert end == dt.datetime(2026, 7, 5, 3, 59, 59, 999999, tzinfo=dt.UTC)
    assert calendar.start_of_store_day(dt.date(2026, 7, 4)).astimezone(dt.UTC).hour == 4


def test_working_days_skip_weekends_and_us_federal_holidays():
    # Thursday 2 July 2026; Friday 3 July is the observed Independence Day.
    assert calendar.add_working_days(dt.date(2026, 7, 2), 1) == dt.date(2026, 7, 6)
    assert calendar.add_working_days(dt.date(2026, 7, 2), 7) == dt.date(2026, 7, 14)
    assert not calendar.is_working_day(dt.date(2026, 7, 3))
    assert calendar.is_working_day(dt.date(2026, 7, 6))

"""One format for dates, moments and money, and words that count right."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import engines
from django.test import override_settings

import dev
from config.csv_cells import csv_cell
from config.formats import count_noun, format_date, format_moment, format_money
from dashboard.charts import tick_label, value_label
from orders.decisions import line_decision
from tests.factories import ProductFactory

# 14:05 UTC on 12 Mar 2027 is 09:05 in New York (EST, UTC-5).
MOMENT = dt.datetime(2027, 3, 12, 14, 5, tzinfo=dt.UTC)
LATE_UTC = dt.datetime(2027, 3, 13, 2, 30, tzinfo=dt.UTC)  # still 12 Mar in New York


def render(source: str, **context) -> str:
    return engines["django"].from_string(source).render(context)


def test_dates_and_moments_read_the_same_everywhere_in_the_stores_zone():
    assert format_date(dt.date(2027, 3, 12)) == "12 Mar 2027"
    assert format_date("2027-03-12") == "12 Mar 2027"
    assert format_date(LATE_UTC) == "12 Mar 2027"  # the store's date, not UTC's
    assert format_moment(MOMENT) == "12 Mar 2027, 09:05"
    assert format_date(None) == format_moment(None) == ""


def test_money_has_its_currency_and_thousands_separators():
    assert format_money(Decimal("3998000.25")) == "$3,998,000.25"
    assert format_money("4004566.2") == "$4,004,566.20"
    assert format_money(Decimal("-12.5")) == "-$12.50"
    assert format_money(None) == ""
    with override_settings(STORE_CURRENCY="EUR"):
        assert format_money(1) == "€1.00"
    with override_settings(STORE_CURRENCY="CHF"):
        assert format_money(1) == "CHF 1.00"


def test_the_filters_are_built_into_every_template():
    html = render(
        '{{ d|day }} · {{ m|moment }} · {{ a|money }} · {{ n|count:"line" }} · '
        '{{ one|count:"box,boxes" }}',
        d=dt.date(2027, 1, 5),
        m=MOMENT,
        a=Decimal("1234.5"),
        n=3,
        one=1,
    )
    assert html == "5 Jan 2027 · 12 Mar 2027, 09:05 · $1,234.50 · 3 lines · 1 box"
    assert render("{% store_time_zone %}") == "America/New_York"


def test_counts_agree_with_their_nouns():
    assert count_noun(1, "line") == "1 line"
    assert count_noun(2, "line") == "2 lines"
    assert count_noun(0, "unit") == "no units"
    assert count_noun(12000, "unit") == "12,000 units"


def test_csv_moments_are_in_the_stores_zone_with_their_offset():
    assert csv_cell(MOMENT) == "2027-03-12T09:05:00-05:00"
    assert csv_cell(dt.date(2027, 3, 12)) == "2027-03-12"


def test_chart_axes_and_bars_print_whole_readable_numbers():
    assert [tick_label(v) for v in (0, 950, 2500, 100_000, 1_500_000)] == [
        "0",
        "950",
        "2,500",
        "100k",
        "1.5M",
    ]
    assert value_label(Decimal("4004566.2")) == "$4,004,566.20"
    assert value_label(12000, " units") == "12,000 units"


@pytest.mark.django_db
def test_refusals_never_say_only_0_or_1_units():
    capped = ProductFactory(sku="CAP-1", backorder_cap=1)
    refusal = line_decision(
        product=capped, quantity=5, available=0, waiting_ahead=0, waiting_total=1, incoming=0
    ).refusal
    assert refusal == "none can be ordered now (backorders are capped at 1 unit)."
    deny = ProductFactory(sku="DENY-1", backorder_policy="deny")
    refusal = line_decision(
        product=deny, quantity=1, available=0, waiting_ahead=0, waiting_total=0, incoming=0
    ).refusal
    assert refusal == "none available and this product is not sold on backorder."


def test_dev_start_takes_a_port():
    assert dev.start_port([]) == 8000
    assert dev.start_port(["--port", "8123"]) == 8123
    assert dev.start_port(["--port=9000"]) == 9000
    for wrong in (["--port", "eighty"], ["--port", "70000"], ["--verbose"]):
        with pytest.raises(SystemExit):
            dev.start_port(wrong)


def test_local_email_links_follow_the_port_unless_site_url_is_set(monkeypatch):
    import importlib

    import config.settings.local as local

    monkeypatch.setenv("SECRET_KEY", "a-key-so-no-key-file-is-written")
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setenv("PORT", "8123")
    assert importlib.reload(local).SITE_URL == "http://127.0.0.1:8123"
    monkeypatch.setenv("SITE_URL", "https://shop.example.com")
    assert importlib.reload(local).SITE_URL == "https://shop.example.com"

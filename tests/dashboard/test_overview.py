"""The overview: figures built through the services, shown as staff see them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.services import rule_run
from notifications.models import Notification
from orders.models import Order, OrderLine
from orders.services import line_cancel, order_flag_unreachable, shipment_create
from tests.factories import ProductFactory, place_order, receive, staff_in

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=NY)


def stat_value(page: str, label: str) -> str:
    match = re.search(
        rf'<div class="label">{re.escape(label)}</div>\s*<div class="value">([^<]*)</div>', page
    )
    assert match, f"no stat {label!r}"
    return match.group(1)


@dataclass
class Shop:
    o1: Order
    o2: Order
    o3: Order
    o5: Order
    o6: Order
    o7: Order


def build_shop() -> Shop:
    """A month of a small shop, every step through the services on its own day."""
    with time_machine.travel(at("2026-03-02"), tick=False):
        lamp = ProductFactory(sku="LAMP", name="Desk lamp", unit_price=Decimal("25.00"))
        kettle = ProductFactory(sku="KETTLE", name="Kettle", unit_price=Decimal("40.00"), on_hand=1)
        chair = ProductFactory(sku="CHAIR", name="Chair", unit_price=Decimal("60.00"))
        desk = ProductFactory(sku="DESK", name="Desk", unit_price=Decimal("25.00"))
        easel = ProductFactory(
            sku="EASEL", name="Easel", unit_price=Decimal("15.50"), lead_time_days=None
        )
        o1 = place_order((lamp, 3))  # 3 wait
        o2 = place_order((kettle, 2))  # 1 from stock, 1 waits
    with time_machine.travel(at("2026-03-03"), tick=False):
        o5 = place_order((chair, 2))  # 2 wait until stock comes on the 8th
    with time_machine.travel(at("2026-03-04"), tick=False):
        o6 = place_order((desk, 1))  # waits until cancelled on the 10th
    with time_machine.travel(at("2026-03-05"), tick=False):
        receive(lamp, 2)  # o1 now waits for 1
    with time_machine.travel(at("2026-03-06"), tick=False):
        o3 = place_order((lamp, 1))
    with time_machine.travel(at("2026-03-08"), tick=False):
        receive(chair, 2)
    with time_machine.travel(at("2026-03-09", 16), tick=False):
        shipment_create(order=o5, carrier="UPS")
    with time_machine.travel(at("2026-03-10"), tick=False):
        line_cancel(line=o6.lines.get(), reason="Found one elsewhere")
    with time_machine.travel(at("2026-03-15"), tick=False):
        # Promised for the 24th, with no date from any supplier.
        o7 = place_order((easel, 1), promised_ship_date=dt.date(2026, 3, 24))
    with time_machine.travel(at("2026-03-20", 9), tick=False):
        rule_run()
    order_flag_unreachable(order_id=o2.pk, reason="Mailbox full")
    Notification.objects.filter(order=o2).update(state=Notification.State.BOUNCED)
    return Shop(o1, o2, o3, o5, o6, o7)


def test_the_overview_shows_what_waits_and_what_needs_attention(client):
    build_shop()
    client.force_login(staff_in("Managers"))
    with time_machine.travel(at("2026-03-20", 12), tick=False):
        page = client.get(reverse("dashboard:overview")).content.decode()

    assert stat_value(page, "Backordered units") == "4"
    assert stat_value(page, "Backordered lines") == "4"
    assert stat_value(page, "Orders waiting") == "4"
    # 1 × 25 + 1 × 40 + 1 × 25 + 1 × 15.50
    assert stat_value(page, "Revenue waiting") == "$105.50"
    assert stat_value(page, "Oldest wait") == "18 days"
    # The easel must ship by the 24th and has no ETA; the others' deadlines are in April.
    assert stat_value(page, "Lines at risk") == "1"
    assert stat_value(page, "Notices awaiting answers") == "1"
    assert stat_value(page, "Refunds due") == "1"
    # The desk's refund vested on the 10th: due 7 working days later, the 19th.
    assert "$25.00, 1 overdue" in page
    assert stat_value(page, "Customers unreachable") == "1"
    assert "emails bounced or marked spam" in page
    assert f'href="{reverse("dashboard:orders")}?unreachable=1"' in page
    assert f'href="{reverse("dashboard:compliance")}"' in page
    # Top products: the lamp waits for 2 units.
    assert re.search(r"LAMP</a> Desk lamp</td>\s*<td class=\"num\">2</td>", page)


def test_operations_staff_get_no_links_to_managers_screens(client):
    build_shop()
    client.force_login(staff_in("Operations"))
    with time_machine.travel(at("2026-03-20", 12), tick=False):
        page = client.get(reverse("dashboard:overview")).content.decode()
    assert stat_value(page, "Notices awaiting answers") == "1"
    assert f'href="{reverse("dashboard:compliance")}"' not in page
    assert f'href="{reverse("dashboard:reports")}' not in page


def test_waiting_time_buckets_count_lines_by_days_waited():
    from dashboard.overview.selectors import waiting_stats

    build_shop()
    with time_machine.travel(at("2026-03-20", 12), tick=False):
        stats = waiting_stats()
    # o1 and o2 since the 2nd (18 days), o3 since the 6th (14), o7 since the 15th (5).
    assert stats.buckets == [
        ("0–7 days", 1),
        ("8–14 days", 1),
        ("15–30 days", 2),
        ("Over 30 days", 0),
    ]


def test_the_daily_series_is_rebuilt_from_each_lines_history():
    from dashboard.overview.selectors import backordered_series

    build_shop()
    with time_machine.travel(at("2026-03-20", 12), tick=False):
        series = dict(backordered_series(days=30))
    day = dt.date.fromisoformat
    assert len(series) == 30
    assert min(series) == day("2026-02-19")
    assert series[day("2026-03-01")] == 0
    assert series[day("2026-03-02")] == 2  # o1 (counted at the 1 it still waits for), o2
    assert series[day("2026-03-03")] == 4  # + the 2 chairs
    assert series[day("2026-03-04")] == 5  # + the desk
    assert series[day("2026-03-06")] == 6  # + o3
    assert series[day("2026-03-08")] == 4  # the chairs got stock that day
    assert series[day("2026-03-10")] == 3  # the desk was cancelled
    assert series[day("2026-03-15")] == 4  # + the easel
    assert series[day("2026-03-20")] == 4  # today: the "Backordered units" figure


def test_the_series_switches_between_30_and_90_days(client):
    build_shop()
    client.force_login(staff_in("Operations"))
    with time_machine.travel(at("2026-03-20", 12), tick=False):
        page = client.get(reverse("dashboard:overview"), {"days": 90}).content.decode()
        fallback = client.get(reverse("dashboard:overview"), {"days": "x"}).content.decode()
    assert "Backordered units, last 90 days" in page
    assert "Backordered units at the end of each day, last 90 days" in page
    assert "Backordered units, last 30 days" in fallback


def test_an_empty_shop_shows_zeros(client):
    client.force_login(staff_in("Operations"))
    page = client.get(reverse("dashboard:overview")).content.decode()
    assert stat_value(page, "Backordered units") == "0"
    assert stat_value(page, "Revenue waiting") == "$0.00"
    assert stat_value(page, "Oldest wait") == "—"


def more_history(orders: int) -> None:
    """`orders` more orders over a month: waiting, served, shipped and cancelled lines."""
    products = [ProductFactory(unit_price=Decimal("10.00")) for _ in range(5)]
    for index in range(orders):
        with time_machine.travel(at("2026-02-01") + dt.timedelta(hours=6 * index), tick=False):
            order = place_order(*((product, 1 + index % 3) for product in products))
            if index % 4 == 0:
                receive(products[index % 5], 3)
            ready = Order.objects.filter(lines__quantity_allocated__gt=0).first()
            if index % 5 == 1 and ready is not None:
                shipment_create(order=ready, carrier="UPS")
            if index % 7 == 2:
                line = OrderLine.objects.filter(order=order, quantity_backordered__gt=0).first()
                if line is not None:
                    line_cancel(line=line, reason="Changed mind")


def overview_queries(client) -> int:
    with (
        time_machine.travel(at("2026-03-20", 12), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert client.get(reverse("dashboard:overview"), {"days": 90}).status_code == 200
    return len(queries.captured_queries)


def test_the_overview_costs_the_same_queries_for_10_lines_as_for_150(client):
    client.force_login(staff_in("Operations"))
    more_history(2)
    small = overview_queries(client)
    assert OrderLine.objects.count() == 10
    more_history(28)
    assert OrderLine.objects.count() == 150
    assert overview_queries(client) == small


def test_the_overview_keeps_its_figures_until_an_order_changes(client, settings):
    settings.OVERVIEW_CACHE_SECONDS = 60
    cache.clear()
    lamp = ProductFactory(sku="LAMP", name="Desk lamp", unit_price=Decimal("25.00"))
    place_order((lamp, 3))
    client.force_login(staff_in("Operations"))
    first = client.get(reverse("dashboard:overview")).content.decode()
    assert stat_value(first, "Backordered units") == "3"

    # Nothing changed: the same figures, without computing them again (the other period's
    # figures are computed on their first visit).
    with CaptureQueriesContext(connection) as kept:
        again = client.get(reverse("dashboard:overview")).content.decode()
    with CaptureQueriesContext(connection) as computed:
        client.get(reverse("dashboard:overview"), {"days": 90})
    assert stat_value(again, "Backordered units") == "3"
    assert len(kept.captured_queries) + 8 == len(computed.captured_queries)

    # A new order writes an event to its timeline: the next visit counts it.
    place_order((lamp, 2))
    page = client.get(reverse("dashboard:overview")).content.decode()
    assert stat_value(page, "Backordered units") == "5"
    assert stat_value(page, "Orders waiting") == "2"
    cache.clear()

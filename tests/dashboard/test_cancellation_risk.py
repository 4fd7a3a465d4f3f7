"""Cancellation risk: the waiting lines whose customers are most likely to cancel, ranked by
points for the wait, the ETA's moves, status page opens and the value waiting, each with its
reasons and the substitute and goodwill actions."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from dashboard.cancellation_risk.selectors import (
    cancellation_risk_lines,
    high_risk_count,
    risk_reasons,
    risk_rows,
)
from inventory.models import Product
from orders.eta_history import EtaMoves
from orders.models import Order, OrderLine
from orders.services import order_status_view_record, product_eta_refresh
from tests.factories import ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=NY)  # a Monday
TODAY = NOW.date()
URL = "/dashboard/queue/cancellation-risk/"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def operations(client: Client) -> Client:
    client.force_login(staff_in("Operations"))
    return client


def placed(clock, days_ago: int, product: Product, quantity: int = 1) -> Order:
    """An order placed `days_ago` store days ago, then back to now."""
    clock.move_to(NOW - dt.timedelta(days=days_ago))
    order = place_order((product, quantity))
    clock.move_to(NOW)
    return order


def move_eta(product: Product, *lead_times: int) -> None:
    """The product's lead time changes, and its waiting lines' ETAs with it, once per value."""
    for days in lead_times:
        Product.objects.filter(pk=product.pk).update(lead_time_days=days)
        product_eta_refresh(product_id=product.pk, reason="Supplier lead time changed")


def opened(order: Order, times: int) -> None:
    for _ in range(times):
        order_status_view_record(order_id=order.pk)


def ranked(today: dt.date = TODAY) -> list[tuple[str, int, list[str]]]:
    lines = list(cancellation_risk_lines(today=today).order_by("-risk_score", "queued_at", "pk"))
    return [
        (row.line.order.number, row.score, row.reasons) for row in risk_rows(lines, today=today)
    ]


def test_lines_rank_by_their_points_with_a_reason_for_each(clock):
    # Waited 34 days (4 points), its ETA moved twice (4): 8.
    waited = placed(clock, 34, ProductFactory(on_hand=0, lead_time_days=10))
    move_eta(waited.lines.get().product, 20, 30)
    # Waited 7 days (1), $480 waiting (4), status page opened 5 times (4): 9.
    worried = placed(clock, 7, ProductFactory(on_hand=0, unit_price=Decimal("240.00")), 2)
    opened(worried, 5)
    # Waited 10 days (1), opened the page once, as the email invites (0): 1.
    calm = placed(clock, 10, ProductFactory(on_hand=0))
    opened(calm, 1)
    # Placed today, $25 waiting: no point, not listed.
    placed(clock, 0, ProductFactory(on_hand=0))

    assert ranked() == [
        (worried.number, 9, ["waited 7 days", "opened status page 5×", "$480.00"]),
        (waited.number, 8, ["waited 34 days", "ETA moved 2×"]),
        (calm.number, 1, ["waited 10 days"]),
    ]
    assert high_risk_count(today=TODAY) == 2


def test_each_factor_is_capped(clock):
    product = ProductFactory(on_hand=0, unit_price=Decimal("1000.00"), lead_time_days=5)
    order = placed(clock, 200, product, 3)
    move_eta(product, 10, 20, 30, 40, 50)
    opened(order, 40)

    assert ranked() == [
        (
            order.number,
            4 + 6 + 4 + 4,
            ["waited 200 days", "ETA moved 5×", "opened status page 40×", "$3,000.00"],
        ),
    ]


def test_a_preorder_waiting_for_its_release_earns_no_wait_points(clock):
    release = TODAY + dt.timedelta(days=30)
    headset = ProductFactory(
        on_hand=0, is_preorder=True, release_date=release, unit_price=Decimal("150.00")
    )
    order = placed(clock, 40, headset)
    assert order.lines.get().eta_source == "release"

    assert ranked() == [(order.number, 1, ["$150.00"])]


def test_a_week_is_counted_in_store_days(clock):
    # Queued at 23:30 in New York six days before the evening of `today`: 6 store days.
    clock.move_to(dt.datetime(2026, 2, 23, 23, 30, tzinfo=NY))
    order = place_order((ProductFactory(on_hand=0), 1))
    clock.move_to(dt.datetime(2026, 3, 1, 23, 59, tzinfo=NY))
    assert ranked(dt.date(2026, 3, 1)) == []
    clock.move_to(dt.datetime(2026, 3, 2, 0, 1, tzinfo=NY))
    assert ranked(dt.date(2026, 3, 2)) == [(order.number, 1, ["waited 7 days"])]


def test_a_first_eta_and_a_new_basis_on_the_same_date_are_not_moves(clock):
    unknown = ProductFactory(on_hand=0, lead_time_days=None)
    order = placed(clock, 0, unknown)
    move_eta(unknown, 10)  # the first date: "ETA set", not a move
    line = OrderLine.objects.annotate(moves=EtaMoves()).get(order=order)
    assert line.eta is not None
    assert line.moves == 0

    move_eta(unknown, 12)  # a move
    move_eta(unknown, 12)  # nothing changes, nothing recorded
    assert OrderLine.objects.annotate(moves=EtaMoves()).get(order=order).moves == 1


def test_the_moves_of_one_line_are_not_its_neighbours(clock):
    """One order, two waiting products: each line counts only its own ETA's moves."""
    lamp = ProductFactory(on_hand=0, lead_time_days=10)
    shade = ProductFactory(on_hand=0, lead_time_days=10)
    order = place_order((lamp, 1), (shade, 1))
    move_eta(lamp, 20, 30, 40)
    move_eta(shade, 25)
    moves = dict(
        OrderLine.objects.filter(order=order)
        .annotate(moves=EtaMoves())
        .values_list("product__sku", "moves")
    )
    assert moves == {lamp.sku: 3, shade.sku: 1}


def test_the_reasons_read_as_a_person_says_them():
    assert risk_reasons(waited=6, eta_moves=0, status_views=1, waiting_value=Decimal("99.99")) == []
    assert risk_reasons(waited=34, eta_moves=2, status_views=5, waiting_value=Decimal("480")) == [
        "waited 34 days",
        "ETA moved 2×",
        "opened status page 5×",
        "$480.00",
    ]


def page_orders(html: str) -> list[str]:
    return re.findall(r'<td data-label="Order" class="nowrap"><a href="[^"]+">(BD-\d+)</a>', html)


def test_the_page_shows_each_line_with_its_reasons_and_actions(clock, operations):
    product = ProductFactory(on_hand=0, lead_time_days=10)
    order = placed(clock, 34, product)
    move_eta(product, 20, 30)
    line = order.lines.get()

    html = operations.get(URL).content.decode()

    assert page_orders(html) == [order.number]
    for chip in ("waited 34 days", "ETA moved 2×"):
        assert f'<li class="badge info">{chip}</li>' in html
    assert 'title="High risk: 8 points or more">8</span>' in html
    substitute = reverse("dashboard:order_line_substitute", args=[line.pk])
    assert re.search(
        rf'href="{substitute}\?next=/dashboard/queue/cancellation-risk/"[^>]*>Offer substitute<',
        html,
    )
    goodwill = reverse("dashboard:order", args=[order.pk]) + "#goodwill"
    assert f'href="{goodwill}"' in html
    # The queue links to it under its own name (the queue's "at risk" is the ship-by risk).
    queue = operations.get(reverse("dashboard:queue")).content.decode()
    assert f'href="{URL}"' in queue
    assert ">Cancellation risk</a>" in queue


def test_only_operations_staff_see_it(client: Client, clock):
    assert client.get(URL).status_code == 302
    client.force_login(staff_in(None))
    assert client.get(URL).status_code == 403


def test_nothing_at_risk_says_so(clock, operations):
    placed(clock, 0, ProductFactory(on_hand=0))
    assert "No waiting line shows a sign of cancellation" in operations.get(URL).content.decode()


def _risky_lines(clock, count: int) -> None:
    for index in range(count):
        product = ProductFactory(on_hand=0, lead_time_days=10)
        order = placed(clock, 10 + index, product)
        move_eta(product, 20 + index)
        opened(order, 3)


def test_the_selector_costs_one_query_whatever_the_number_of_lines(
    clock, django_assert_num_queries
):
    _risky_lines(clock, 6)
    with django_assert_num_queries(1):
        rows = risk_rows(
            list(cancellation_risk_lines(today=TODAY).order_by("-risk_score", "pk")), today=TODAY
        )
    assert len(rows) == 6
    assert {row.reasons[1] for row in rows} == {"ETA moved 1×"}


# The session, the user and their permissions (two); the page of lines and its count.
PAGE_QUERIES = 6


@pytest.mark.parametrize("lines", [2, 7])
def test_the_page_costs_the_same_queries_for_2_or_7_lines(
    clock, operations, django_assert_num_queries, lines: int
):
    _risky_lines(clock, lines)
    with django_assert_num_queries(PAGE_QUERIES):
        html = operations.get(URL).content.decode()
    assert len(page_orders(html)) == lines


def test_pages_follow_the_ranking(clock, operations, monkeypatch):
    monkeypatch.setattr("dashboard.cancellation_risk.views.PAGE_SIZE", 3)
    products = [ProductFactory(on_hand=0) for _ in range(5)]
    # 5 lines, waited 7, 14, 21, 28 and 35 days: 1 to 4 points (the last two both 4).
    orders = [placed(clock, 7 * (index + 1), product) for index, product in enumerate(products)]
    first = operations.get(URL).content.decode()
    assert page_orders(first) == [orders[4].number, orders[3].number, orders[2].number]
    following = re.search(r'href="(\?[^"]+)" rel="next"', first)
    assert following
    second = operations.get(URL + following.group(1).replace("&amp;", "&")).content.decode()
    assert page_orders(second) == [orders[1].number, orders[0].number]


@pytest.mark.parametrize(
    "query",
    [
        "after=99999999999999999999~2026-01-01T00:00:00%2B00:00~1",
        "before=-5~2026-01-01T00:00:00%2B00:00~1",
        "after=5~9999-12-31T23:59:59%2B00:00~1",
        "after=5~0001-01-01T00:00:00%2B00:00~1",
        "sort=-waited&after=0001-01-01T00:00:00%2B14:00~5",
        "sort=waited&last=1",
        "sort=risk&last=1",
        "sort=nonsense&after=x~y~z",
    ],
)
def test_hostile_cursors_never_give_a_server_error(clock, operations, query: str):
    _risky_lines(clock, 2)
    operations.raise_request_exception = False
    assert operations.get(f"{URL}?{query}").status_code < 500

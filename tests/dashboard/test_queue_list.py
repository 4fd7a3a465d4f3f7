"""The backorder queue as a list: sorted by any column, filtered by ship-by window, consent,
channel, supplier, product and at risk, paged by keyset (no OFFSET however deep), with a fixed
number of queries per page."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import OrderCompliance
from compliance.services import order_rule_evaluate
from config.formats import format_date
from dashboard.queue import views as queue_views
from dashboard.queue.selectors import BackorderQueue
from inventory.services import supplier_create
from orders.models import Order, OrderLine
from orders.services import line_cancel, line_prioritise
from storefront.models import SalesChannel
from tests.factories import CustomerFactory, ProductFactory, place_order, receive, staff_in

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=NY)  # a Monday
QUEUE_URL = reverse("dashboard:queue")


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def operations(client: Client) -> Client:
    client.force_login(staff_in("Operations"))
    return client


def numbers(html: str) -> list[str]:
    """The order numbers of the queue's rows, in the order shown."""
    return re.findall(
        r'<td data-label="Order" class="nowrap"><a href="/dashboard/orders/\d+/">(BD-\d+)</a>', html
    )


def listed(client: Client, **params: str) -> list[str]:
    response = client.get(QUEUE_URL, params)
    assert response.status_code == 200
    return numbers(response.content.decode())


@pytest.fixture
def three() -> list[str]:
    """Three waiting lines: zoe's 4 lamps (oldest), amy's kettle (ETA unknown), max's 2 lamps
    (newest), of which max's is prioritised."""
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, lead_time_days=5)
    kettle = ProductFactory(sku="KETTLE-1", on_hand=0, lead_time_days=None)
    zoe = place_order(
        (lamp, 4),
        customer=CustomerFactory(email="zoe@example.com"),
        placed_at=NOW - dt.timedelta(days=3),
    )
    amy = place_order(
        (kettle, 1),
        customer=CustomerFactory(email="amy@example.com"),
        placed_at=NOW - dt.timedelta(days=2),
    )
    max_ = place_order(
        (lamp, 2),
        customer=CustomerFactory(email="max@example.com"),
        placed_at=NOW - dt.timedelta(days=1),
    )
    OrderLine.objects.filter(order=max_).update(priority=1)
    return [zoe.number, amy.number, max_.number]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", [2, 0, 1]),  # allocation order: prioritised first, then the oldest
        ("-queue", [1, 0, 2]),
        ("order", [0, 1, 2]),
        ("-order", [2, 1, 0]),
        ("customer", [1, 2, 0]),  # amy, max, zoe
        ("product", [1, 0, 2]),  # KETTLE-1, then LAMP-1 by id
        ("-waiting", [0, 2, 1]),  # 4, 2, 1 units
        ("-waited", [0, 1, 2]),  # waited longest first
        ("waited", [2, 1, 0]),
        ("eta", [0, 2, 1]),  # the lamps' dates, then the kettle's unknown ETA last
        ("no-such-column", [2, 0, 1]),
    ],
)
def test_the_queue_sorts_by_a_column_both_ways(operations, three, sort, expected):
    assert listed(operations, sort=sort) == [three[i] for i in expected]


def test_sort_by_ship_by_date_and_consent_puts_orders_without_one_last(operations, three):
    zoe, amy, max_ = (Order.objects.get(number=number) for number in three)
    for order in (zoe, amy):
        order_rule_evaluate(order_id=order.pk)
    OrderCompliance.objects.filter(order=amy).update(state=OrderCompliance.State.NOTICE_SENT)

    assert listed(operations, sort="ship_by") == [zoe.number, amy.number, max_.number]
    # "" (no record) < notice_sent < on_time
    assert listed(operations, sort="consent") == [max_.number, amy.number, zoe.number]


def test_column_headers_link_to_their_sort_and_say_which_is_active(operations, three):
    html = operations.get(QUEUE_URL, {"sort": "customer", "channel": "none"}).content.decode()
    active = 'aria-sort="ascending"><a class="sort-link" href="?sort=-customer&amp;channel=none"'
    assert active in html
    assert 'href="?sort=-waiting&amp;channel=none">Waiting' in html  # numbers start high-first
    assert "sorted by customer" in html
    assert '<th class="num" scope="col" title="Units queued ahead of this line">Ahead</th>' in html


# --- keyset pages ----------------------------------------------------------------------------


def walk(client: Client, sort: str) -> tuple[list[list[str]], list]:
    seen, pages = [], []
    url = f"{QUEUE_URL}?sort={sort}"
    while url:
        response = client.get(url)
        pages.append(response)
        seen.append(numbers(response.content.decode()))
        href = response.context["page"].next_href
        url = QUEUE_URL + href if href else ""
    return seen, pages


@pytest.mark.parametrize("sort", ["", "-queue", "customer", "-waiting", "-waited", "ship_by"])
def test_next_walks_every_line_once_and_previous_and_last_agree(operations, sort):
    lamp = ProductFactory(on_hand=0)
    cable = ProductFactory(on_hand=0, lead_time_days=None)
    for i in range(120):
        order = place_order(
            (cable if i % 3 else lamp, 1 + i % 4), placed_at=NOW - dt.timedelta(hours=i % 7)
        )
        if i % 2:
            order_rule_evaluate(order_id=order.pk)
    OrderLine.objects.filter(order__number__endswith="7").update(priority=1)

    seen, pages = walk(operations, sort)

    walked = [number for page in seen for number in page]
    assert [len(page) for page in seen] == [50, 50, 20]
    assert sorted(walked) == sorted(Order.objects.values_list("number", flat=True))
    last = operations.get(QUEUE_URL + pages[0].context["page"].last_href)
    assert numbers(last.content.decode()) == walked[-50:]
    back = operations.get(QUEUE_URL + pages[2].context["page"].previous_href)
    assert numbers(back.content.decode()) == seen[1]
    assert "120 waiting lines" in pages[0].content.decode()


def test_a_cursor_that_is_not_ours_shows_the_first_page(operations, three):
    first = [three[2], three[0], three[1]]
    for cursor in ("nonsense", "1~5", "x~2026-03-01T10:00:00+00:00~5", "~", "0~now~-3"):
        assert listed(operations, after=cursor) == first
        assert listed(operations, before=cursor) == first


def test_a_deep_page_costs_the_queries_of_the_first_and_never_uses_offset(
    operations, django_assert_num_queries
):
    products = [ProductFactory(on_hand=0) for _ in range(3)]
    for i in range(130):
        order_rule_evaluate(order_id=place_order((products[i % 3], 1)).pk)
    first = operations.get(QUEUE_URL)
    deep = QUEUE_URL + first.context["page"].last_href

    # session, user, 2 × permissions, products with a queue, the page's lines, their details,
    # the bounded count, suppliers, channels, saved views.
    for url in (QUEUE_URL, deep, QUEUE_URL + "?sort=-ship_by&last=1"):
        with django_assert_num_queries(11):
            assert operations.get(url).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        operations.get(deep)
    assert not [q["sql"] for q in ctx.captured_queries if "OFFSET" in q["sql"].upper()]


def test_the_product_menu_lists_products_with_a_queue_without_counting_their_lines(operations):
    """The menu asks whether any line waits per product (an index look-up each), never counts
    every waiting line: on a big shop that count was the page's slowest query."""
    waiting, served = (
        ProductFactory(on_hand=0, sku="WAIT-1"),
        ProductFactory(sku="SERVED-1", on_hand=5),
    )
    for _ in range(3):
        place_order((waiting, 1))
    place_order((served, 1))
    with CaptureQueriesContext(connection) as ctx:
        response = operations.get(QUEUE_URL)
    assert [p.sku for p in response.context["products"]] == ["WAIT-1"]
    assert "All products (1 with a queue)" in response.content.decode()
    sqls = [q["sql"] for q in ctx.captured_queries]
    menu = [sql for sql in sqls if sql.endswith('ORDER BY "inventory_product"."sku" ASC')]
    assert len(menu) == 1
    assert "COUNT(" not in menu[0].upper()


def _queue_figures() -> dict[int, tuple[int, int]]:
    """The reference: each waiting line's place and units ahead of it, from window functions
    over its product's whole queue (BackorderQueue, unsliced)."""
    return {
        line.pk: (line.position, line.units_through - line.quantity_backordered)
        for line in BackorderQueue()
    }


@pytest.fixture
def busy_queues() -> None:
    """Two products' queues with lines queued at the same instant (ties by id), an order of
    both, a prioritised line queued last, a line partly allocated, one cancelled and one
    partly cancelled."""
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    fan = ProductFactory(sku="FAN-1", on_hand=0)
    for minutes in (0, 0, 5, 5, 5, 9, 12):
        with time_machine.travel(NOW + dt.timedelta(minutes=minutes), tick=False):
            place_order((lamp, 1 + minutes % 4))
            if minutes == 5:
                place_order((fan, 2), (lamp, 1))
            else:
                place_order((fan, 1 + minutes % 3))
    lamps = list(OrderLine.objects.filter(product=lamp).order_by("queued_at", "id"))
    line_prioritise(line=lamps[-1], reason="VIP")
    receive(lamp, 4)  # the prioritised line, the two oldest, then 1 of the next line's 2
    line_cancel(line=lamps[5], reason="Changed mind")
    line_cancel(line=lamps[8], reason="Changed mind", quantity=1)  # 1 of 2
    line_prioritise(
        line=OrderLine.objects.filter(product=fan).order_by("-id").first(), reason="VIP"
    )
    partly = OrderLine.objects.filter(
        product=lamp, quantity_allocated__gt=0, quantity_backordered__gt=0
    )
    assert partly.count() == 1
    assert OrderLine.objects.filter(quantity_cancelled__gt=0, quantity_backordered__gt=0).exists()


@pytest.mark.parametrize("sort", ["", "-queue", "customer", "-waiting", "product"])
def test_every_page_shows_each_lines_place_and_units_ahead_in_its_products_queue(
    operations, monkeypatch, busy_queues, sort
):
    """Pages of 4, in queue order or sorted by another column (a page then holds lines from
    anywhere in their queues): every line's place and the units ahead of it are those of its
    product's whole queue, with priorities, ties, partial allocations and cancelled lines."""
    monkeypatch.setattr(queue_views, "PAGE_SIZE", 4)
    expected = _queue_figures()
    shown: dict[int, tuple[int, int]] = {}
    url = f"{QUEUE_URL}?sort={sort}"
    while url:
        response = operations.get(url)
        shown |= {row.line.pk: (row.position, row.units_ahead) for row in response.context["rows"]}
        href = response.context["page"].next_href
        url = QUEUE_URL + href if href else ""
    assert shown == expected
    assert len(shown) == 13


def test_the_deepest_page_counts_its_lines_places_in_one_query(operations, busy_queues):
    """On the last page the figures come with the lines (one query), as on the first."""
    lines = QUEUE_URL + "?last=1"
    with CaptureQueriesContext(connection) as ctx:
        rows = operations.get(lines).context["rows"]
    assert {row.line.pk: (row.position, row.units_ahead) for row in rows} == {
        pk: figures for pk, figures in _queue_figures().items() if pk in {r.line.pk for r in rows}
    }
    detail = [
        q["sql"]
        for q in ctx.captured_queries
        if "units_through" in q["sql"] or "jsonb_object_agg" in q["sql"]
    ]
    assert len(detail) == 1


def test_each_rows_links_and_dates_are_worked_out_once_for_the_page(operations, three):
    """The view reverses each route once for the page; every row's links must be what
    reverse() gives for that row, and its dates those of the |day filter."""
    response = operations.get(QUEUE_URL)
    html = response.content.decode()
    for row, links in response.context["shown"]:
        line = row.line
        assert links == queue_views.RowLinks(
            pk=str(line.pk),
            order=reverse("dashboard:order", args=[line.order_id]),
            product=reverse("dashboard:product", args=[line.product_id]),
            substitute=reverse("dashboard:order_line_substitute", args=[line.pk]),
            prioritise=reverse("dashboard:queue_prioritise", args=[line.pk]),
            cancel=reverse("dashboard:queue_cancel", args=[line.pk]),
        )
        assert (row.placed_on, row.eta_on) == (
            format_date(line.order.placed_at),
            format_date(line.eta),
        )
        assert f'href="{links.substitute}?next=/dashboard/queue/"' in html
    # The last row: amy's kettle, ordered two days ago, its ETA unknown.
    assert (row.placed_on, row.eta_on) == ("28 Feb 2026", "")


# --- filters ---------------------------------------------------------------------------------


def test_filter_by_ship_by_window(operations):
    cable = ProductFactory(on_hand=0, lead_time_days=60)
    overdue = place_order((cable, 1), placed_at=NOW - dt.timedelta(days=40))
    due_soon = place_order((cable, 1), placed_at=NOW - dt.timedelta(days=25))
    later = place_order((cable, 1), placed_at=NOW - dt.timedelta(days=5))
    for order in (overdue, due_soon, later):
        order_rule_evaluate(order_id=order.pk, now=order.placed_at)

    assert listed(operations, deadline="overdue") == [overdue.number]
    assert listed(operations, deadline="7") == [due_soon.number]
    assert listed(operations, deadline="30") == [due_soon.number, later.number]
    assert len(listed(operations, deadline="bogus")) == 3


def test_filter_by_consent_channel_supplier_product_and_search(operations):
    acme = supplier_create(name="Acme", email="acme@example.com")
    other = supplier_create(name="Other", email="other@example.com")
    from_acme = ProductFactory(sku="ACME-1", on_hand=0, preferred_supplier=acme)
    from_other = ProductFactory(sku="OTHER-1", on_hand=0, preferred_supplier=other)
    waiting_on_acme = place_order((from_acme, 1))
    waiting_on_other = place_order(
        (from_other, 1), customer=CustomerFactory(email="bea@example.com")
    )
    shop = SalesChannel.objects.create(name="Corner Shop")
    Order.objects.filter(pk=waiting_on_acme.pk).update(channel=shop)
    OrderCompliance.objects.update_or_create(
        order=waiting_on_other, defaults={"state": OrderCompliance.State.NOTICE_SENT}
    )

    assert listed(operations, supplier=str(acme.pk)) == [waiting_on_acme.number]
    assert listed(operations, channel=str(shop.pk)) == [waiting_on_acme.number]
    assert listed(operations, channel="none") == [waiting_on_other.number]
    assert listed(operations, consent="awaiting_answer") == [waiting_on_other.number]
    assert listed(operations, consent="on_time") == []
    assert listed(operations, product=str(from_other.pk)) == [waiting_on_other.number]
    assert listed(operations, q="acme-1") == [waiting_on_acme.number]
    assert listed(operations, q="BEA@example.com") == [waiting_on_other.number]
    assert listed(operations, q=waiting_on_acme.number) == [waiting_on_acme.number]
    assert listed(operations, supplier=str(acme.pk), channel="none") == []
    assert len(listed(operations, supplier="x", channel="y", consent="z", deadline="w")) == 2
    html = operations.get(QUEUE_URL, {"consent": "on_time"}).content.decode()
    assert "No waiting line matches these filters." in html


def test_sort_and_filters_survive_paging_and_saving_a_view(operations):
    lamp = ProductFactory(on_hand=0)
    for _ in range(55):
        place_order((lamp, 1))
    response = operations.get(QUEUE_URL, {"sort": "-waiting", "product": lamp.pk})
    page = response.context["page"]
    assert f"product={lamp.pk}" in page.next_href
    assert "sort=-waiting" in page.next_href
    html = response.content.decode()
    assert f'name="query" value="sort=-waiting&amp;product={lamp.pk}"' in html
    assert '<input type="hidden" name="sort" value="-waiting">' in html

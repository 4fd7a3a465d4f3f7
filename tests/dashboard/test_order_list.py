"""The orders list at work: sorting by any column, filters, search, keyset pages, bulk actions
on ticked orders and their packing slips."""

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
from inventory.services import supplier_create
from orders.models import Order, OrderLine, Refund, Shipment
from orders.services import shipment_create
from storefront.models import SalesChannel
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=NY)  # a Monday
ORDERS_URL = reverse("dashboard:orders")
BULK_URL = reverse("dashboard:orders_bulk")


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def operations(client: Client) -> Client:
    client.force_login(staff_in("Operations"))
    return client


@pytest.fixture
def manager(client: Client) -> Client:
    client.force_login(staff_in("Managers"))
    return client


def numbers(html: str) -> list[str]:
    """The order numbers listed, in the order shown."""
    return re.findall(r'class="nowrap" href="/dashboard/orders/\d+/">(BD-\d+)</a>', html)


def listed(client: Client, **params: str) -> list[str]:
    response = client.get(ORDERS_URL, params)
    assert response.status_code == 200
    return numbers(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- sorting -------------------------------------------------------------------------------


@pytest.fixture
def three():
    """Three orders placed a day apart with different customers, sizes and values."""
    cheap = ProductFactory(sku="CHEAP-1", unit_price="5.00", on_hand=50)
    dear = ProductFactory(sku="DEAR-1", unit_price="90.00", on_hand=0, lead_time_days=5)
    zoe = CustomerFactory(email="zoe@example.com")
    amy = CustomerFactory(email="amy@example.com")
    max_ = CustomerFactory(email="max@example.com")
    first = place_order((cheap, 4), customer=zoe, placed_at=NOW - dt.timedelta(days=3))
    second = place_order((dear, 1), customer=amy, placed_at=NOW - dt.timedelta(days=2))
    third = place_order((cheap, 1), (dear, 2), customer=max_, placed_at=NOW - dt.timedelta(days=1))
    return first.number, second.number, third.number


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("", [2, 1, 0]),  # newest first
        ("placed", [0, 1, 2]),
        ("number", [0, 1, 2]),
        ("-number", [2, 1, 0]),
        ("customer", [1, 2, 0]),  # amy, max, zoe
        ("-units", [0, 2, 1]),  # 4, 3, 1 units
        ("goods", [0, 1, 2]),  # 20.00, 90.00, 185.00
        ("-backordered", [2, 1, 0]),  # 2, 1, 0 units waiting
        ("no-such-column", [2, 1, 0]),
    ],
)
def test_the_list_sorts_by_a_column_both_ways(operations, three, sort, expected):
    assert listed(operations, sort=sort) == [three[i] for i in expected]


def test_equal_values_keep_a_stable_order_by_id_on_every_page(operations):
    cable = ProductFactory(on_hand=100)
    placed = [place_order((cable, 1)).number for _ in range(60)]  # all the same units

    first = operations.get(ORDERS_URL, {"sort": "units"})
    second = operations.get(ORDERS_URL + first.context["page"].next_href)

    assert numbers(first.content.decode()) + numbers(second.content.decode()) == placed


def test_column_headers_link_to_their_sort_and_say_which_is_active(operations, three):
    html = operations.get(ORDERS_URL, {"sort": "customer", "status": "open"}).content.decode()
    assert 'aria-sort="ascending"><a class="sort-link" href="?sort=-customer&amp;status=open"' in (
        html
    )
    assert 'href="?sort=-units&amp;status=open">Units' in html  # numbers start high-first


# --- keyset pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["", "number", "-goods", "ship_by", "status"])
def test_next_walks_every_order_once_and_previous_and_last_agree(operations, sort):
    cable = ProductFactory(on_hand=40, unit_price="3.00")
    lamp = ProductFactory(on_hand=0, unit_price="7.00")
    for i in range(120):
        place_order((cable if i % 3 else lamp, 1 + i % 4))
    seen: list[list[str]] = []
    url = f"{ORDERS_URL}?sort={sort}"
    pages = []
    while url:
        response = operations.get(url)
        pages.append(response)
        seen.append(numbers(response.content.decode()))
        href = response.context["page"].next_href
        url = ORDERS_URL + href if href else ""

    walked = [number for page in seen for number in page]
    assert [len(page) for page in seen] == [50, 50, 20]
    assert sorted(walked) == sorted(Order.objects.values_list("number", flat=True))
    last = operations.get(ORDERS_URL + pages[0].context["page"].last_href)
    assert numbers(last.content.decode()) == walked[-50:]
    back = operations.get(ORDERS_URL + pages[2].context["page"].previous_href)
    assert numbers(back.content.decode()) == seen[1]
    assert "120 orders." in pages[0].content.decode()


def test_a_cursor_that_is_not_ours_shows_the_first_page(operations, three):
    for cursor in ("nonsense", "2026-13-01~5", "2026-03-01T10:00~5", "~", "1~-3"):
        assert listed(operations, after=cursor) == [three[2], three[1], three[0]]
    for cursor in ("BD-000002", "x~99999999999999999999999", "3~0"):
        assert listed(operations, before=cursor, sort="number") == list(three)
        assert listed(operations, after=cursor, sort="units") == [three[1], three[2], three[0]]


def test_a_deep_page_costs_the_queries_of_the_first(operations):
    cable = ProductFactory(on_hand=500)
    for _ in range(160):
        place_order((cable, 1))
    first = operations.get(ORDERS_URL)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert operations.get(url).status_code == 200
        return len(ctx.captured_queries)

    deep = ORDERS_URL + first.context["page"].last_href
    assert queries(ORDERS_URL) == queries(deep) == queries(ORDERS_URL + "?sort=-goods&last=1")
    # session, user, 2 × permissions, bounded count, the page, channels, suppliers, saved views
    assert queries(deep) == 9


# --- filters and search -------------------------------------------------------------------------


def test_search_finds_an_order_by_a_sku_on_it_or_its_tracking_number(operations):
    lamp = ProductFactory(sku="LAMP-9", on_hand=5)
    cable = ProductFactory(sku="CABLE-2", on_hand=5)
    with_lamp = place_order((lamp, 1), (cable, 1))
    shipped = place_order((cable, 1))
    shipment_create(order=shipped, tracking_number="1Z999AA10123456784")

    assert listed(operations, q="lamp-9") == [with_lamp.number]
    assert listed(operations, q="1Z999AA10123456784") == [shipped.number]
    assert listed(operations, q="cable-2") == [shipped.number, with_lamp.number]


def test_filter_by_deadline_window(operations):
    cable = ProductFactory(on_hand=0, lead_time_days=60)
    overdue = place_order((cable, 1), placed_at=NOW - dt.timedelta(days=40))
    due_soon = place_order((cable, 1), placed_at=NOW - dt.timedelta(days=25))
    later = place_order((cable, 1), placed_at=NOW - dt.timedelta(days=5))
    for order in (overdue, due_soon, later):
        order_rule_evaluate(order_id=order.pk, now=order.placed_at)

    assert listed(operations, deadline="overdue") == [overdue.number]
    assert listed(operations, deadline="7") == [due_soon.number]
    assert listed(operations, deadline="30") == [later.number, due_soon.number]
    assert len(listed(operations, deadline="bogus")) == 3


def test_filter_by_consent_state_channel_and_supplier(operations):
    acme = supplier_create(name="Acme", email="acme@example.com")
    other = supplier_create(name="Other", email="other@example.com")
    from_acme = ProductFactory(on_hand=0, preferred_supplier=acme)
    from_other = ProductFactory(on_hand=0, preferred_supplier=other)
    waiting_on_acme = place_order((from_acme, 1))
    waiting_on_other = place_order((from_other, 1))
    shop = SalesChannel.objects.create(name="Corner Shop")
    Order.objects.filter(pk=waiting_on_acme.pk).update(channel=shop)
    OrderCompliance.objects.update_or_create(
        order=waiting_on_other, defaults={"state": OrderCompliance.State.NOTICE_SENT}
    )

    assert listed(operations, supplier=str(acme.pk)) == [waiting_on_acme.number]
    assert listed(operations, channel=str(shop.pk)) == [waiting_on_acme.number]
    assert listed(operations, channel="none") == [waiting_on_other.number]
    assert listed(operations, consent="awaiting_answer") == [waiting_on_other.number]
    assert listed(operations, consent="notice_sent") == [waiting_on_other.number]
    assert len(listed(operations, supplier="x", channel="y", consent="z")) == 2


# --- bulk actions ------------------------------------------------------------------------------


def test_ship_selected_ships_each_order_it_can_and_names_the_others(operations):
    cable = ProductFactory(sku="CAB-1", on_hand=3)
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    ready = [place_order((cable, 1)) for _ in range(3)]
    waiting = place_order((lamp, 1))

    response = operations.post(
        BULK_URL,
        {
            "action": "ship",
            "order": [str(o.pk) for o in [*ready, waiting]],
            "query": "status=open",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"{ORDERS_URL}?status=open"
    assert Shipment.objects.filter(order__in=ready).count() == 3
    assert not Shipment.objects.filter(order=waiting).exists()
    shipped, refused = messages_of(response)
    assert shipped == "Shipped 3 orders: " + ", ".join(o.number for o in ready) + "."
    number = waiting.number
    assert refused == f"Not shipped 1: {number}: Order {number} has no allocated units to ship."


def test_cancel_selected_with_one_reason_cancels_each_and_owes_refunds(manager):
    lamp = ProductFactory(on_hand=0, unit_price="12.00")
    orders = [place_order((lamp, 2)) for _ in range(2)]

    response = manager.post(
        BULK_URL,
        {
            "action": "cancel",
            "reason": "  Supplier  discontinued ",
            "order": [str(o.pk) for o in orders],
        },
        follow=True,
    )

    assert messages_of(response) == [f"Cancelled 2 orders: {orders[0].number}, {orders[1].number}."]
    assert list(OrderLine.objects.values_list("quantity_cancelled", flat=True)) == [2, 2]
    assert sorted(Refund.objects.values_list("reason", flat=True)) == [
        "Cancelled: Supplier discontinued",
        "Cancelled: Supplier discontinued",
    ]


def test_cancel_selected_needs_a_reason_and_a_manager(client, manager):
    lamp = ProductFactory(on_hand=0)
    order = place_order((lamp, 1))

    response = manager.post(BULK_URL, {"action": "cancel", "order": [str(order.pk)]}, follow=True)
    assert messages_of(response) == ["Give one reason for cancelling the selected orders."]
    client.force_login(staff_in("Operations"))
    refused = client.post(BULK_URL, {"action": "cancel", "reason": "x", "order": [str(order.pk)]})
    assert refused.status_code == 403
    assert OrderLine.objects.get().quantity_cancelled == 0


def test_a_bulk_action_without_orders_or_with_an_unknown_action_does_nothing(operations):
    cable = ProductFactory(on_hand=3)
    order = place_order((cable, 1))
    nothing = operations.post(BULK_URL, {"action": "ship"}, follow=True)
    unknown = operations.post(BULK_URL, {"action": "burn", "order": [str(order.pk)]}, follow=True)
    hostile = operations.post(
        BULK_URL, {"action": "ship", "order": ["x", "-1", "9" * 30]}, follow=True
    )

    assert messages_of(nothing) == ["Tick at least one order first."]
    assert messages_of(unknown) == ["Choose what to do with the selected orders."]
    assert messages_of(hostile) == ["Tick at least one order first."]
    assert not Shipment.objects.exists()


def test_packing_slips_for_the_ticked_orders_print_one_slip_each(operations):
    cable = ProductFactory(sku="CAB-1", name="Braided cable", on_hand=5)
    lamp = ProductFactory(sku="LAMP-1", name="Desk lamp", on_hand=0)
    one = place_order((cable, 2), (lamp, 1))
    two = place_order((cable, 1))
    not_ticked = place_order((cable, 1))

    response = operations.get(
        reverse("dashboard:packing_slips"), {"order": [str(two.pk), str(one.pk), "junk"]}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Packing slips · 2 orders" in html
    assert html.count('<article class="card slip">') == 2
    assert html.index(f"Order {one.number}") < html.index(f"Order {two.number}")
    assert not_ticked.number not in html
    assert "Still to come" in html  # the lamp on the first order

"""The orders list and the order page: who may open them, what they show, what they cost."""

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

from compliance.services import order_rule_evaluate
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from orders.models import Order
from orders.selectors import order_status_url
from orders.services import (
    order_cancel,
    order_flag_unreachable,
    purchase_order_create,
    purchase_order_line_reschedule,
)
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=NY)  # a Monday
ORDERS_URL = reverse("dashboard:orders")


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def operations(client: Client) -> Client:
    client.force_login(staff_in("Operations"))
    return client


def order_numbers(html: str) -> list[str]:
    """The order numbers in the list, in the order shown."""
    return re.findall(r'class="nowrap" href="/dashboard/orders/\d+/">(BD-\d+)</a>', html)


@pytest.fixture
def shop():
    """Three orders: one in stock, one backordered, one a customer cancelled."""
    cable = ProductFactory(sku="CAB-1", name="Braided cable", on_hand=10)
    lamp = ProductFactory(sku="LAMP-1", name="Desk lamp", on_hand=1, lead_time_days=10)
    ada = CustomerFactory(email="ada@example.com", name="Ada Lovelace")
    alan = CustomerFactory(email="alan@example.com", name="Alan Turing")
    grace = CustomerFactory(email="grace@example.com", name="Grace Hopper")
    in_stock = place_order((cable, 2), customer=ada, external_id="SHOP-77")
    backordered = place_order((lamp, 3), (cable, 1), customer=alan)
    cancelled = place_order((cable, 1), customer=grace)
    order_cancel(order=cancelled, reason="Customer changed their mind")
    return {"in_stock": in_stock, "backordered": backordered, "cancelled": cancelled}


# --- who may open them ---------------------------------------------------------------------


def test_operations_and_managers_open_the_orders_screens(client, shop):
    order = shop["in_stock"]
    for group in ("Operations", "Managers"):
        client.force_login(staff_in(group))
        assert client.get(ORDERS_URL).status_code == 200
        assert client.get(reverse("dashboard:order", args=[order.pk])).status_code == 200


def test_staff_without_a_group_may_not_open_orders(client, shop):
    client.force_login(staff_in(None))
    assert client.get(ORDERS_URL).status_code == 403
    assert client.get(reverse("dashboard:order", args=[shop["in_stock"].pk])).status_code == 403


def test_an_unknown_order_is_404(operations):
    assert operations.get(reverse("dashboard:order", args=[999999])).status_code == 404


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_order_with_its_status_and_units(operations, shop):
    html = operations.get(ORDERS_URL).content.decode()

    backordered = shop["backordered"]
    assert order_numbers(html) == [
        shop["cancelled"].number,
        backordered.number,
        shop["in_stock"].number,
    ]
    row = html[html.index(backordered.number) : html.index("</tr>", html.index(backordered.number))]
    assert "Alan Turing" in row
    assert "alan@example.com" in row
    assert '<span class="badge warn">Backordered</span>' in row
    # 3 lamps + 1 cable ordered; 2 lamps wait (1 was on hand); goods 3 × 25 + 25
    assert '<td class="num">4</td>' in row
    assert '<td class="num"><strong>2</strong></td>' in row
    assert '<td class="num">$100.00</td>' in row
    assert "3 orders." in html
    assert '<span class="badge">Cancelled</span>' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("BD-", ["cancelled", "backordered", "in_stock"]),
        ("ada@example", ["in_stock"]),
        ("ALAN", ["backordered"]),
        ("hopper", ["cancelled"]),
        ("shop-77", ["in_stock"]),
        ("nobody", []),
    ],
)
def test_search_finds_orders_by_number_email_name_or_external_id(operations, shop, query, expected):
    html = operations.get(ORDERS_URL, {"q": query}).content.decode()
    assert order_numbers(html) == [shop[key].number for key in expected]
    if not expected:
        assert "No orders match these filters." in html


def test_search_by_the_exact_number(operations, shop):
    number = shop["backordered"].number
    html = operations.get(ORDERS_URL, {"q": number}).content.decode()
    assert order_numbers(html) == [number]


def test_filter_by_status(operations, shop):
    html = operations.get(ORDERS_URL, {"status": "backordered"}).content.decode()
    assert order_numbers(html) == [shop["backordered"].number]
    html = operations.get(ORDERS_URL, {"status": "cancelled"}).content.decode()
    assert order_numbers(html) == [shop["cancelled"].number]
    # An unknown status is ignored rather than an error.
    assert len(order_numbers(operations.get(ORDERS_URL, {"status": "x"}).content.decode())) == 3


def test_filter_orders_with_backordered_units_includes_partly_shipped_ones(operations, shop):
    html = operations.get(ORDERS_URL, {"backordered": "1"}).content.decode()
    assert order_numbers(html) == [shop["backordered"].number]


def test_filter_unreachable_customers(operations, shop):
    order_flag_unreachable(order_id=shop["in_stock"].pk, reason="Hard bounce: mailbox unknown")
    html = operations.get(ORDERS_URL, {"unreachable": "1"}).content.decode()
    assert order_numbers(html) == [shop["in_stock"].number]
    assert "unreachable</span>" in html


def test_filter_at_risk_orders_whose_eta_misses_the_ship_by_date(operations):
    lamp = ProductFactory(sku="LAMP-2", on_hand=0, lead_time_days=10)
    soon = place_order((lamp, 1), promised_ship_date=NOW.date() + dt.timedelta(days=5))
    later = place_order((lamp, 1))  # 30-day rule: ship by 2026-04-01, stock in 10 days
    shipped_soon = place_order((ProductFactory(on_hand=0), 1), promised_business_days=2)
    order_cancel(order=shipped_soon, reason="Out of stock for good")
    for order in (soon, later, shipped_soon):
        order_rule_evaluate(order_id=order.pk)

    html = operations.get(ORDERS_URL, {"at_risk": "1"}).content.decode()

    assert order_numbers(html) == [soon.number]
    assert (
        '<span class="badge warn" title="At risk: a waiting line\'s ETA is unknown or after '
        'this date">7 Mar 2026</span>' in html
    )


def test_filters_combine_and_pages_keep_them(operations):
    cable = ProductFactory(on_hand=0)
    for _ in range(55):
        place_order((cable, 1))
    response = operations.get(ORDERS_URL, {"status": "backordered"})
    html = response.content.decode()
    assert "55 orders match" in html
    assert len(order_numbers(html)) == 50
    next_href = response.context["page"].next_href
    assert next_href.startswith("?status=backordered&sort=-placed&after=")
    assert f'href="{next_href.replace("&", "&amp;")}" rel="next"' in html
    html = operations.get(ORDERS_URL + next_href).content.decode()
    assert len(order_numbers(html)) == 5


def test_the_list_costs_the_same_queries_for_10_or_120_orders(operations):
    products = [ProductFactory(on_hand=3), ProductFactory(on_hand=0)]
    customers = [CustomerFactory() for _ in range(5)]

    def add_orders(count: int) -> None:
        for i in range(count):
            place_order((products[i % 2], 1 + i % 3), customer=customers[i % 5])

    def queries(**params: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert operations.get(ORDERS_URL, params).status_code == 200
        return len(ctx.captured_queries)

    add_orders(10)
    ten = queries(), queries(status="backordered", q="example"), queries(at_risk="1")
    add_orders(110)
    many = queries(), queries(status="backordered", q="example"), queries(at_risk="1")

    assert Order.objects.count() == 120  # more than two pages
    assert ten == many


# --- one order ------------------------------------------------------------------------------


def test_the_order_page_shows_lines_timeline_and_the_status_link(operations, shop):
    order = shop["backordered"]
    html = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()

    assert f"Order {order.number}" in html
    assert "Desk lamp" in html
    assert "LAMP-1" in html
    # the lamp line: price 25.00, 3 ordered, 1 allocated, 0 shipped, 0 cancelled, 2 backordered;
    # ETA by lead time (today + 10 days + 1 day handling)
    lamp_row = html[html.index("Desk lamp") : html.index("</tr>", html.index("Desk lamp"))]
    cells = re.findall(r'<td class="num">(?:<strong>)?\$?(\d+)', lamp_row)
    assert cells == ["25", "3", "1", "0", "0", "2"]
    assert "13 Mar 2026" in lamp_row
    assert "Estimated from lead time" in lamp_row
    assert "Order placed: 4 units, 2 backordered" in html
    assert f'href="{order_status_url(order=order)}"' in html
    assert "Nothing shipped yet." in html


def test_the_order_page_shows_the_confirmation_email_as_sent(
    operations, django_capture_on_commit_callbacks
):
    cable = ProductFactory(sku="CAB-9", name="Braided cable", on_hand=5)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order((cable, 1), customer=CustomerFactory(email="lin@example.com"))
    email = Notification.objects.get(order=order, kind=Notification.Kind.ORDER_CONFIRMATION)
    assert email.state == Notification.State.SENT

    html = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()

    assert f"Your order {order.number}: what ships now and what follows" in html
    assert '<span class="badge ok">Sent</span>' in html
    assert "Order confirmation to lin@example.com" in html
    assert "<details>" in html
    # The HTML is shown in a sandboxed frame, escaped into srcdoc so it cannot touch the page.
    assert '<iframe sandbox=""' in html
    assert 'srcdoc="&lt;' in html
    assert "<pre>" in html


def test_a_queued_email_says_it_is_not_sent_yet(operations):
    order = place_order((ProductFactory(on_hand=1), 1))
    html = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    assert "Order confirmation" in html
    assert '<span class="badge info">Pending</span>' in html
    assert "not sent yet" in html


def test_refunds_show_with_a_mark_issued_form_for_managers_only(client, shop):
    order = shop["cancelled"]
    url = reverse("dashboard:order", args=[order.pk])
    client.force_login(staff_in("Operations"))
    html = client.get(url).content.decode()
    assert "Cancelled: Customer changed their mind" in html
    assert "25.00" in html
    assert reverse("dashboard:refund_issue", args=[order.refunds.get().pk]) not in html
    assert '<span class="badge warn">owed</span>' in html

    client.force_login(staff_in("Managers"))
    html = client.get(url).content.decode()
    assert f'action="{reverse("dashboard:refund_issue", args=[order.refunds.get().pk])}"' in html
    assert "csrfmiddlewaretoken" in html
    assert '<label for="ref-' in html


def test_the_order_page_shows_the_compliance_record(operations):
    lamp = ProductFactory(sku="LAMP-3", on_hand=0, lead_time_days=None)
    order = place_order((lamp, 1))
    order_rule_evaluate(order_id=order.pk)
    html = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    assert "Compliance record" in html
    assert "Deadline: ship by 1 Apr 2026 (30 days after the order was properly completed)." in html
    assert "First delay option notice" in html
    assert "Delay notice sent, awaiting answer" in html
    assert "end of 1 May 2026" in html


def test_the_order_page_costs_a_fixed_number_of_queries(operations, shop):
    def queries(order: Order) -> int:
        with CaptureQueriesContext(connection) as ctx:
            operations.get(reverse("dashboard:order", args=[order.pk]))
        return len(ctx.captured_queries)

    small = place_order((ProductFactory(on_hand=5), 1))
    products = [ProductFactory(on_hand=i % 2) for i in range(12)]
    big = place_order(*[(p, 2) for p in products])
    order_cancel(order=big, reason="Too slow", line_ids=[big.lines.first().pk])
    assert queries(small) == queries(big)


def test_timeline_texts_show_dates_in_the_store_format(operations):
    """What the rule engine and a moved purchase order write in the timeline reads like every
    other date on the page ("4 Apr 2026"), never "2026-04-04"."""
    supplier = supplier_create(name="Acme Lighting", lead_time_days=10)
    lamp = ProductFactory(sku="LAMP-4", on_hand=0, lead_time_days=10)
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(lamp, 1, dt.date(2026, 3, 12))],
        send=True,
    )
    order = place_order((lamp, 1))
    order_rule_evaluate(order_id=order.pk)
    purchase_order_line_reschedule(
        line=po.lines.get(), expected_date=dt.date(2026, 4, 20), reason="Port strike"
    )
    order_rule_evaluate(order_id=order.pk)

    html = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    timeline = html.split('id="h-timeline"')[1].split("</section>")[0]

    assert "Deadline: ship by 1 Apr 2026 (30 days after the order was properly completed)." in (
        timeline
    )
    assert "LAMP-4: ETA 13 Mar 2026 → 21 Apr 2026" in timeline  # a day of handling
    assert "First delay notice (branch S): revised date 21 Apr 2026; deadline 1 Apr 2026." in (
        timeline
    )
    assert re.findall(r"\d{4}-\d{2}-\d{2}", re.sub(r'datetime="[^"]*"', "", timeline)) == []

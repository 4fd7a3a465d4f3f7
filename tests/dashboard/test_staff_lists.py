"""The products board, the purchase orders list and the compliance screen's ship-by dates as
lists: sorted by their columns, filtered, paged by keyset, a fixed number of queries a page."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from compliance.models import OrderCompliance
from compliance.services import order_rule_evaluate
from config.calendar import store_today
from inventory.models import Product, PurchaseOrder
from inventory.services import PurchaseLineRequest, supplier_create
from orders.services import purchase_order_create
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=NY)  # a Monday
PRODUCTS_URL = reverse("dashboard:products")
POS_URL = reverse("dashboard:purchase_orders")
COMPLIANCE_URL = reverse("dashboard:compliance")


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def manager(client: Client) -> Client:
    client.force_login(staff_in("Managers"))
    return client


def day(days: int) -> dt.date:
    return store_today() + dt.timedelta(days=days)


def walk(client: Client, url: str) -> list[list[str]]:
    """Every page of a list by its Next links: the rows' names on each page."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.context.get("deadlines") or response.context["page"]
        pages.append([row_name(row) for row in page.rows])
        base = url.split("?")[0]
        url = base + page.next_href if page.next_href else ""
    return pages


def row_name(row) -> str:
    if isinstance(row, Product):
        return row.sku
    if isinstance(row, PurchaseOrder):
        return row.number
    return row.order.number


# --- products --------------------------------------------------------------------------------


def skus(html: str) -> list[str]:
    return re.findall(
        r'<td data-label="Product"><a href="/dashboard/products/\d+/">([^<]+)</a>', html
    )


@pytest.fixture
def board() -> None:
    """LAMP: 3 on hand, 2 of them allocated; CABLE: 9 on hand; VASE: none, 4 backordered."""
    acme = supplier_create(name="Acme", email="acme@example.com")
    lamp = ProductFactory(sku="LAMP", on_hand=3, preferred_supplier=acme)
    ProductFactory(sku="CABLE", on_hand=9)
    vase = ProductFactory(sku="VASE", on_hand=0, preferred_supplier=acme)
    place_order((lamp, 2))
    place_order((vase, 4))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["CABLE", "LAMP", "VASE"]),
        ({"sort": "-product"}, ["VASE", "LAMP", "CABLE"]),
        ({"sort": "-on_hand"}, ["CABLE", "LAMP", "VASE"]),
        ({"sort": "available"}, ["VASE", "LAMP", "CABLE"]),
        ({"sort": "-allocated"}, ["LAMP", "VASE", "CABLE"]),  # ties: newest first going down
        ({"sort": "-backordered"}, ["VASE", "CABLE", "LAMP"]),
        ({"sort": "supplier"}, ["CABLE", "LAMP", "VASE"]),  # none first, then Acme by id
        ({"stock": "available"}, ["CABLE", "LAMP"]),
        ({"stock": "none"}, ["VASE"]),
        ({"stock": "backordered"}, ["VASE"]),
        ({"stock": "none", "sort": "-product", "q": "a"}, ["VASE"]),
        ({"stock": "bogus"}, ["CABLE", "LAMP", "VASE"]),
    ],
)
def test_products_sort_by_a_figure_and_filter_by_stock_state(manager, board, params, expected):
    html = manager.get(PRODUCTS_URL, params).content.decode()
    assert skus(html) == expected


def test_products_page_by_keyset_with_fixed_queries(manager, django_assert_num_queries):
    for i in range(60):
        ProductFactory(sku=f"P-{i:03d}", on_hand=i % 4)
    pages = walk(manager, PRODUCTS_URL + "?sort=-on_hand")
    assert [len(page) for page in pages] == [50, 10]
    assert sorted(sum(pages, [])) == [f"P-{i:03d}" for i in range(60)]
    first = manager.get(PRODUCTS_URL, {"sort": "-on_hand"}).context["page"]
    # session, user, 2 × permissions, suppliers, the page, the bounded count, the page's
    # waiting and incoming units, saved views.
    with django_assert_num_queries(10):
        last = manager.get(PRODUCTS_URL + first.last_href)
    assert [row.sku for row in last.context["page"].rows] == sum(pages, [])[-50:]


# --- purchase orders --------------------------------------------------------------------------


@pytest.fixture
def purchase_orders() -> list[str]:
    """PO 1 (Bolt, sent, 1 line due in 20 days), PO 2 (Acme, draft, 2 lines due in 3 and 9
    days), PO 3 (Acme, sent, its line due 2 days ago)."""
    acme = supplier_create(name="Acme", email="acme@example.com")
    bolt = supplier_create(name="Bolt", email="bolt@example.com")
    lamp, vase = ProductFactory(sku="LAMP"), ProductFactory(sku="VASE")
    made = [
        purchase_order_create(
            supplier=bolt, lines=[PurchaseLineRequest(lamp, 5, day(20))], send=True
        ),
        purchase_order_create(
            supplier=acme,
            lines=[PurchaseLineRequest(lamp, 2, day(9)), PurchaseLineRequest(vase, 7, day(3))],
        ),
        purchase_order_create(
            supplier=acme, lines=[PurchaseLineRequest(vase, 1, day(4))], send=True
        ),
    ]
    # Its supplier was due two days ago (dates in the past are refused when writing them).
    PurchaseOrder.objects.get(pk=made[2].pk).lines.update(expected_date=day(-2))
    return [po.number for po in made]


def po_numbers(client: Client, **params: str) -> list[str]:
    response = client.get(POS_URL, params)
    assert response.status_code == 200
    return [po.number for po, _ in response.context["rows"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [2, 1, 0]),  # newest first
        ({"sort": "number"}, [0, 1, 2]),
        ({"sort": "supplier"}, [1, 2, 0]),  # Acme, Acme, Bolt
        ({"sort": "-lines"}, [1, 2, 0]),  # ties: newest first going down
        ({"sort": "-outstanding"}, [1, 0, 2]),  # 9, 5, 1 units
        ({"sort": "next_expected"}, [2, 1, 0]),
        ({"sort": "sent"}, [0, 2, 1]),  # the draft was never sent: last
        ({"due": "overdue"}, [2]),
        ({"due": "7"}, [1]),
        ({"due": "30", "sort": "next_expected"}, [1, 0]),
        ({"due": "30", "status": "sent"}, [0]),
        ({"due": "nonsense"}, [2, 1, 0]),
    ],
)
def test_purchase_orders_sort_and_filter_by_due_window(manager, purchase_orders, params, expected):
    assert po_numbers(manager, **params) == [purchase_orders[i] for i in expected]


def test_purchase_orders_headers_say_which_sort_is_active(manager, purchase_orders):
    html = manager.get(POS_URL, {"sort": "-outstanding", "due": "30"}).content.decode()
    assert (
        'aria-sort="descending" class="num"><a class="sort-link" '
        'href="?sort=outstanding&amp;due=30">Units outstanding' in html
    )
    assert "2 purchase orders match, sorted by units outstanding, descending" in html


# --- compliance: ship-by dates ----------------------------------------------------------------


@pytest.fixture
def deadlines() -> list[str]:
    """Four unshipped orders covered by the rule, their ship-by dates 2 days ago, in 5 days,
    in 12 days and in 25 days; the one in 5 days awaits the answer to its delay notice, the
    others are on time."""
    lamp = ProductFactory(on_hand=0, lead_time_days=60)
    made = []
    for days_left, email in ((-2, "dan"), (5, "ann"), (12, "cy"), (25, "bo")):
        order = place_order(
            (lamp, 1),
            customer=CustomerFactory(email=f"{email}@example.com"),
            placed_at=NOW - dt.timedelta(days=30 - days_left),
        )
        order_rule_evaluate(order_id=order.pk, now=order.placed_at)
        made.append(order)
    OrderCompliance.objects.update(state=OrderCompliance.State.ON_TIME)
    OrderCompliance.objects.filter(order=made[1]).update(state=OrderCompliance.State.NOTICE_SENT)
    return [order.number for order in made]


def deadline_numbers(client: Client, **params: str) -> list[str]:
    response = client.get(COMPLIANCE_URL, params)
    assert response.status_code == 200
    return [rule.order.number for rule in response.context["deadlines"].rows]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [0, 1, 2]),  # passed or due within 14 days, soonest first
        ({"deadline": "overdue"}, [0]),
        ({"deadline": "7"}, [1]),
        ({"deadline": "30"}, [1, 2, 3]),
        ({"deadline": "any", "sort": "-ship_by"}, [3, 2, 1, 0]),
        ({"deadline": "any", "sort": "customer"}, [1, 3, 2, 0]),  # ann, bo, cy, dan
        ({"consent": "awaiting_answer"}, [1]),
        ({"consent": "on_time", "deadline": "any"}, [0, 2, 3]),
        ({"consent": "nonsense", "deadline": "nonsense"}, [0, 1, 2]),
    ],
)
def test_ship_by_dates_filter_by_window_and_consent_and_sort(manager, deadlines, params, expected):
    assert deadline_numbers(manager, **params) == [deadlines[i] for i in expected]


def test_the_card_counts_the_list_it_opens_whatever_the_list_shows(manager, deadlines):
    html = manager.get(COMPLIANCE_URL, {"deadline": "overdue"}).content.decode()
    card = re.search(
        r'<a class="stat warn" href="(/dashboard/compliance/#deadlines)"><div class="label">'
        r"Ship-by dates in the next 14 days</div><div class=\"value\">(\d+)</div>",
        html,
    )
    assert card is not None
    assert card.group(1) == COMPLIANCE_URL + "#deadlines"
    assert int(card.group(2)) == len(deadline_numbers(manager)) == 3
    # Sort links and pages keep the reader at the list.
    assert 'href="?deadline=overdue&amp;sort=-ship_by#deadlines">Ship by' in html


def test_ship_by_dates_page_by_keyset_with_fixed_queries(manager):
    lamp = ProductFactory(on_hand=0, lead_time_days=60)
    for i in range(60):
        order = place_order((lamp, 1), placed_at=NOW - dt.timedelta(days=20 + i % 10))
        order_rule_evaluate(order_id=order.pk, now=order.placed_at)
    pages = walk(manager, COMPLIANCE_URL + "?deadline=any&sort=customer")
    assert [len(page) for page in pages] == [50, 10]
    assert len(set(sum(pages, []))) == 60

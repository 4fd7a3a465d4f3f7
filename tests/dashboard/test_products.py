import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.services import PurchaseLineRequest, supplier_create
from orders.selectors import product_replenishment, store_today
from orders.services import purchase_order_create
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    place_order,
    receive,
    staff_in,
)
from tests.shown import shown

pytestmark = pytest.mark.django_db


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    return client


def row_of(page: str, sku: str) -> str:
    start = page.index(f">{sku}</a>")
    return page[start : page.index("</tr>", start)]


def cells(row: str) -> list[str]:
    """The numbers in a board row, in column order."""
    import re

    return re.findall(r'class="num">(?:<[^>]+>)?(\d+|—)', row)


@pytest.fixture
def shop():
    """A phone with 2 on hand, 5 ordered (2 allocated, 3 backordered), 10 on a sent PO; and a
    cable with plenty of stock from another supplier."""
    acme = supplier_create(name="Acme Phones")
    wires = supplier_create(name="Wire World")
    phone = ProductFactory(
        sku="PHONE-1",
        name="Pocket Phone",
        on_hand=2,
        preferred_supplier=acme,
        safety_stock=4,
        reorder_point=6,
        reorder_quantity=20,
    )
    cable = ProductFactory(sku="CABLE-1", name="USB cable", on_hand=50, preferred_supplier=wires)
    place_order((phone, 5), customer=CustomerFactory(name="Waiting Wendy"))
    purchase_order_create(
        supplier=acme,
        lines=[PurchaseLineRequest(phone, 10, store_today() + dt.timedelta(days=9))],
        send=True,
    )
    return {"phone": phone, "cable": cable, "acme": acme}


def test_permissions(client, shop):
    for url in (
        reverse("dashboard:products"),
        reverse("dashboard:product", args=[shop["phone"].pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/dashboard/login/")
        client.force_login(staff_in(None))
        assert client.get(url).status_code == 403
        client.force_login(staff_in("Operations"))
        assert client.get(url).status_code == 200
        client.logout()


def test_the_board_shows_each_products_numbers(operations, shop):
    page = operations.get(reverse("dashboard:products")).content.decode()

    # on hand, allocated, available, backordered, incoming, projected, reorder
    assert cells(row_of(page, "PHONE-1")) == ["2", "2", "0", "3", "10", "7", "20"]
    assert "Low stock" in row_of(page, "PHONE-1")
    assert cells(row_of(page, "CABLE-1")) == ["50", "0", "50", "0", "0", "50", "—"]
    assert "Low stock" not in row_of(page, "CABLE-1")
    assert "Acme Phones" in row_of(page, "PHONE-1")


@pytest.mark.parametrize(
    ("params", "shown", "hidden"),
    [
        ({"backordered": "on"}, "PHONE-1", "CABLE-1"),
        ({"low": "on"}, "PHONE-1", "CABLE-1"),
        ({"q": "usb"}, "CABLE-1", "PHONE-1"),
        ({"q": "phone-1"}, "PHONE-1", "CABLE-1"),
        ({"policy": "deny"}, "DENIED-1", "PHONE-1"),
    ],
)
def test_filters_and_search(operations, shop, params, shown, hidden):
    ProductFactory(sku="DENIED-1", backorder_policy="deny", on_hand=5)
    page = operations.get(reverse("dashboard:products"), params).content.decode()
    assert f">{shown}</a>" in page
    assert f">{hidden}</a>" not in page


def test_supplier_filter(operations, shop):
    page = operations.get(
        reverse("dashboard:products"), {"supplier": shop["acme"].pk}
    ).content.decode()
    assert ">PHONE-1</a>" in page
    assert ">CABLE-1</a>" not in page


def board_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("dashboard:products")).status_code == 200
    return len(ctx.captured_queries)


def test_the_board_costs_the_same_queries_for_10_or_60_products(operations):
    for _ in range(10):
        place_order((ProductFactory(), 2))
    ten = board_queries(operations)
    for _ in range(50):
        place_order((ProductFactory(), 2))
    assert board_queries(operations) == ten
    # session, user, 2 × permissions, suppliers, the page, the bounded count, the page's
    # waiting and incoming units, saved views.
    assert ten == 10


@pytest.mark.parametrize("sort", ["", "-projected", "reorder", "-backordered"])
def test_the_board_sums_each_products_waiting_lines_once_and_agrees_with_replenishment(
    operations, shop, sort
):
    """Whatever the sort, no query reads the waiting lines more than once (a subquery per
    figure summed them six times a row), none pages by OFFSET, and the figures are
    product_replenishment()'s."""
    for i in range(6):
        place_order((ProductFactory(sku=f"P-{i}", on_hand=i, safety_stock=2), i + 1))
    with CaptureQueriesContext(connection) as ctx:
        response = operations.get(reverse("dashboard:products"), {"sort": sort} if sort else {})
    assert response.status_code == 200
    for query in ctx.captured_queries:
        assert len(re.findall(r'(?:FROM|JOIN) "orders_orderline"', query["sql"])) <= 1
        assert "OFFSET" not in query["sql"].upper()
    figures = ("backordered", "incoming", "projected", "suggested_quantity")
    expected = {p.pk: tuple(getattr(p, name) for name in figures) for p in product_replenishment()}
    rows = response.context["page"].rows
    assert len(rows) == 8
    for row in rows:
        assert tuple(getattr(row, name) for name in figures) == expected[row.pk]
        # Low: nothing spare beyond the safety stock, or a reorder due.
        assert row.is_low == (row.available <= row.safety_stock or row.suggested_quantity > 0)
    if sort:
        # The order (from the figures in SQL) agrees with the figures shown.
        field = {"projected": "projected", "reorder": "suggested_quantity"}.get(
            sort.removeprefix("-"), sort.removeprefix("-")
        )
        values = [getattr(row, field) for row in rows]
        assert values == sorted(values, reverse=sort.startswith("-"))


def test_the_product_page_shows_queue_purchase_orders_and_ledger(operations, shop):
    phone = shop["phone"]
    page = operations.get(reverse("dashboard:product", args=[phone.pk])).content.decode()

    assert "Waiting Wendy" in page
    assert "Queue (3 units waiting)" in page
    assert "Purchase order · PO-" in page  # the ETA comes from the purchase order
    assert "Acme Phones" in page
    assert "Open purchase orders (10 units incoming)" in page
    assert shown(store_today() + dt.timedelta(days=9)) in page
    assert "Receipt" in page  # the opening stock in the ledger


def test_the_ledger_is_paginated_and_the_page_costs_fixed_queries(operations):
    product = ProductFactory(on_hand=1)
    for _ in range(5):
        receive(product, 1)
    with CaptureQueriesContext(connection) as few:
        operations.get(reverse("dashboard:product", args=[product.pk]))
    for _ in range(40):
        receive(product, 1)
    with CaptureQueriesContext(connection) as many:
        response = operations.get(reverse("dashboard:product", args=[product.pk]))
    assert len(few.captured_queries) == len(many.captured_queries)
    assert "Page 1 of 2" in response.content.decode()
    second = operations.get(reverse("dashboard:product", args=[product.pk]), {"page": 2})
    # 46 movements (the opening stock and 45 receipts): 25 on the first page, 21 on the second.
    assert second.content.decode().count('<td class="num">+1</td>') == 21


def test_an_unknown_product_is_404(operations):
    assert operations.get(reverse("dashboard:product", args=[999999])).status_code == 404

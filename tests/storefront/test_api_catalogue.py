"""A storefront syncs its catalogue (bulk upsert by SKU) and reads availability changed since
its last cursor."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from config.calendar import store_today
from inventory.models import Product, Stock
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import OrderEvent
from orders.services import (
    purchase_order_create,
    purchase_order_line_reschedule,
    stock_receive,
)
from storefront.selectors import availability_changed_since
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _no_settle(settings):
    settings.AVAILABILITY_SETTLE_SECONDS = 0


def upsert(api, *products):
    return api.post("/api/v1/products/", {"products": list(products)})


# --- bulk upsert -------------------------------------------------------------------------


def test_new_skus_are_created_and_known_ones_updated(api):
    ProductFactory(sku="LAMP-1", name="Lamp", unit_price=Decimal("30.00"), on_hand=2)

    response = upsert(
        api,
        {"sku": "lamp-1", "unit_price": "32.50", "backorder_policy": "deny"},
        {"sku": "SHADE-1", "name": "Linen shade", "unit_price": "12.00", "backorder_cap": 5},
        {"sku": "BULB-1", "name": "Bulb", "unit_price": "3.00", "is_preorder": True,
         "release_date": (store_today() + dt.timedelta(days=30)).isoformat()},
    )  # fmt: skip

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["changed"], body["unchanged"]) == (2, 1, 0)
    assert body["products"][0] == {
        "sku": "LAMP-1",
        "result": "changed",
        "changed": ["unit_price", "backorder_policy"],
    }
    lamp = Product.objects.get(sku="LAMP-1")
    assert (lamp.unit_price, lamp.backorder_policy, lamp.name) == (Decimal("32.50"), "deny", "Lamp")
    shade = Product.objects.get(sku="SHADE-1")
    assert (shade.name, shade.backorder_cap, shade.stock.on_hand) == ("Linen shade", 5, 0)
    assert Product.objects.get(sku="BULB-1").is_preorder


def test_the_same_batch_again_changes_nothing(api):
    item = {"sku": "SHADE-1", "name": "Linen shade", "unit_price": "12.00"}
    upsert(api, item)

    response = upsert(api, item)

    assert response.json()["products"] == [{"sku": "SHADE-1", "result": "unchanged", "changed": []}]
    assert Product.objects.count() == 1


def test_one_bad_item_refuses_the_batch_with_a_422_listing_every_bad_item(api):
    ProductFactory(sku="LAMP-1", unit_price=Decimal("30.00"))

    response = upsert(
        api,
        {"sku": "LAMP-1", "unit_price": "31.00"},
        {"sku": "NEW-1"},
        {"sku": "NEW-2", "name": "Cord", "unit_price": "-1"},
        {"sku": "NEW-3", "name": "Plug", "unit_price": "1.00", "is_preorder": True},
        {"sku": "lamp-1", "name": "Twice"},
    )

    assert response.status_code == 422, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["detail"] == "Products refused: 1 of 5 are wrong; none was written."
    assert body["items"] == [
        {
            "index": 2,
            "sku": "NEW-2",
            "errors": {"unit_price": ["Ensure this value is greater than or equal to 0."]},
        }
    ]
    # The shape of each item is checked first; then what needs the catalogue.
    response = upsert(
        api,
        {"sku": "LAMP-1", "unit_price": "31.00"},
        {"sku": "NEW-1"},
        {"sku": "NEW-3", "name": "Plug", "unit_price": "1.00", "is_preorder": True},
        {"sku": "lamp-1", "name": "Twice"},
    )
    body = response.json()
    assert response.status_code == 422
    assert {item["index"]: item["errors"] for item in body["items"]} == {
        1: {"name": ["A new product needs this."], "unit_price": ["A new product needs this."]},
        2: {"release_date": ["A preorder needs a release date."]},
        3: {"sku": ["The SKU is already item 0 of this request."]},
    }
    assert Product.objects.get(sku="LAMP-1").unit_price == Decimal("30.00")
    assert Product.objects.count() == 1


def test_a_body_that_is_not_a_list_of_products_is_a_400_problem(api):
    for body in ({"products": "LAMP"}, {"products": []}, {}):
        response = api.post("/api/v1/products/", body)
        assert response.status_code == 400, body
        assert "products" in response.json()["errors"]


def test_a_changed_lead_time_moves_the_waiting_lines_etas(api):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, lead_time_days=10)
    order = place_order((lamp, 1))
    before = order.lines.get().eta

    upsert(api, {"sku": "LAMP-1", "lead_time_days": 30})

    after = order.lines.get().eta
    assert before is not None
    assert after is not None
    assert after > before
    assert order.events.filter(kind=OrderEvent.Kind.ETA_CHANGED).exists()


# --- availability feed -------------------------------------------------------------------


def feed(api, cursor: str = "", limit: int = 100) -> dict:
    response = api.get(f"/api/v1/availability/?cursor={cursor}&limit={limit}")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_first_read_lists_every_product_then_only_what_changed(api):
    supplier = supplier_create(name="Acme")
    lamp = ProductFactory(sku="LAMP-1", on_hand=3, preferred_supplier=supplier)
    shade = ProductFactory(sku="SHADE-1", on_hand=0, backorder_policy="deny")
    ProductFactory(sku="BULB-1", on_hand=1)
    place_order((lamp, 1))

    first = feed(api)

    assert [row["sku"] for row in first["results"]] == ["SHADE-1", "BULB-1", "LAMP-1"]
    by_sku = {row["sku"]: row for row in first["results"]}
    assert (by_sku["LAMP-1"]["in_stock"], by_sku["LAMP-1"]["backorderable"]) == (2, True)
    assert (by_sku["SHADE-1"]["in_stock"], by_sku["SHADE-1"]["backorderable"]) == (0, False)
    assert by_sku["LAMP-1"]["next_eta"] is None
    assert first["has_more"] is False
    assert feed(api, first["next_cursor"]) == {
        "results": [],
        "next_cursor": first["next_cursor"],
        "has_more": False,
    }

    expected = store_today() + dt.timedelta(days=12)
    purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(shade, 6, expected)], send=True
    )
    stock_receive(product=lamp, quantity=4)

    second = feed(api, first["next_cursor"])
    assert [(row["sku"], row["in_stock"]) for row in second["results"]] == [
        ("SHADE-1", 0),
        ("LAMP-1", 6),
    ]
    assert second["results"][0]["next_eta"] == expected.isoformat()
    assert (second["results"][0]["next_eta_units"], second["results"][0]["incoming"]) == (6, 6)


def test_a_rescheduled_purchase_order_and_a_synced_policy_list_the_product_again(api):
    supplier = supplier_create(name="Acme")
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(lamp, 2, store_today() + dt.timedelta(days=5))],
        send=True,
    )
    cursor = feed(api)["next_cursor"]

    purchase_order_line_reschedule(
        line=po.lines.get(), expected_date=store_today() + dt.timedelta(days=9), reason="late"
    )
    assert [row["sku"] for row in feed(api, cursor)["results"]] == ["LAMP-1"]
    cursor = feed(api, cursor)["next_cursor"]

    upsert(api, {"sku": "LAMP-1", "backorder_policy": "deny"})
    [row] = feed(api, cursor)["results"]
    assert row["backorderable"] is False


def test_pages_follow_the_cursor_without_gaps_or_repeats_in_two_queries(
    api, django_assert_num_queries
):
    for n in range(7):
        ProductFactory(sku=f"P-{n}", on_hand=n)
    seen: list[str] = []
    cursor = ""
    while True:
        with django_assert_num_queries(2):
            page = availability_changed_since(cursor=cursor, limit=3)
        seen += [row.sku for row in page.results]
        cursor = page.next_cursor
        if not page.has_more:
            break

    assert seen == [f"P-{n}" for n in range(7)]


def test_a_change_is_listed_once_it_has_settled(settings):
    settings.AVAILABILITY_SETTLE_SECONDS = 5
    ProductFactory(sku="LAMP-1", on_hand=1)
    now = timezone.now()

    assert availability_changed_since(now=now).results == []
    later = availability_changed_since(now=now + dt.timedelta(seconds=6))
    assert [row.sku for row in later.results] == ["LAMP-1"]


def test_a_cursor_this_api_never_gave_is_a_400_problem(api):
    for cursor in ("nonsense", "bm90fGE", "MjAyNi0wMS0wMXwx"):
        response = api.get(f"/api/v1/availability/?cursor={cursor}")
        assert response.status_code == 400, cursor
        assert "cursor" in response.json()["errors"]


def test_stock_changes_stamp_the_feed(api):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    stamp = Stock.objects.get(pk=lamp.pk).updated_at

    stock_receive(product=lamp, quantity=1)

    assert Stock.objects.get(pk=lamp.pk).updated_at > stamp

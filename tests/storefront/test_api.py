"""The storefront REST API as a storefront sees it: keys, quotes, orders, problems."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Product
from orders.models import Order
from orders.selectors import store_today
from orders.services import shipment_create, shipping_rate_for
from storefront.models import ApiKey, HeldQuote, IdempotencyRecord
from storefront.services import api_key_create, api_key_revoke, channel_create
from tests.factories import ProductFactory

from .conftest import ApiClient, order_body

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def phone() -> Product:
    return ProductFactory(sku="PHONE-1", unit_price=Decimal("25.00"), on_hand=2, lead_time_days=14)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


# --- authentication ----------------------------------------------------------------------


def test_a_request_without_a_key_is_a_401_problem(phone):
    response = ApiClient(None).post(
        "/api/v1/quotes/", {"lines": [{"sku": "PHONE-1", "quantity": 1}]}
    )

    body = assert_problem(response, 401)
    assert body["title"] == "Not authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("key", ["bd_nothere_abcdef", "not-a-key", "Bearer"])
def test_an_unknown_key_is_a_401_problem(api, key):
    response = ApiClient(key).get("/api/v1/orders/")

    assert_problem(response, 401)


def test_a_revoked_key_is_refused_while_the_channels_other_key_still_works(channel, raw_key):
    old = ApiKey.objects.get(channel=channel)
    _, new_key = api_key_create(channel=channel, name="rotation")

    api_key_revoke(api_key=old)

    assert_problem(ApiClient(raw_key).get("/api/v1/orders/"), 401)
    assert ApiClient(new_key).get("/api/v1/orders/").status_code == 200


def test_keys_are_stored_hashed_and_record_their_last_use(channel, raw_key):
    api_key = ApiKey.objects.get(channel=channel)
    assert raw_key not in (api_key.prefix, api_key.key_hash)
    assert api_key.last_used_at is None

    ApiClient(raw_key).get("/api/v1/orders/")

    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_the_channel_is_throttled_with_a_429_problem(api, settings):
    settings.API_THROTTLE_RATE = "2/min"

    assert api.get("/api/v1/orders/").status_code == 200
    assert api.get("/api/v1/orders/").status_code == 200
    response = api.get("/api/v1/orders/")

    assert_problem(response, 429)
    assert int(response["Retry-After"]) > 0


def test_an_unknown_api_address_is_a_404_problem(api):
    assert_problem(api.get("/api/v1/nothing-here/"), 404)


# --- quotes ------------------------------------------------------------------------------


def test_a_quote_gives_stock_backorder_eta_shipping_and_deadline(api, phone):
    response = api.post("/api/v1/quotes/", {"lines": [{"sku": "phone-1", "quantity": 5}]})

    assert response.status_code == 200
    quote = response.json()
    [line] = quote["lines"]
    assert line["sku"] == "PHONE-1"
    assert (line["status"], line["orderable"]) == ("backorder", True)
    assert (line["in_stock"], line["backordered"]) == (2, 3)
    assert line["eta_basis"] == "lead_time"
    assert dt.date.fromisoformat(line["eta"]) > store_today()
    assert quote["subtotal"] == "125.00"
    assert Decimal(quote["shipping_charge"]) == shipping_rate_for(Decimal("125.00"), 5)
    assert quote["deadline"] == {
        "date": (store_today() + dt.timedelta(days=30)).isoformat(),
        "basis": "30_days",
    }
    assert quote["quote_id"] is None

    # The order placed right after gets exactly the quoted date.
    placed = api.post("/api/v1/orders/", order_body(("PHONE-1", 5)), **{"Idempotency-Key": "k1"})
    assert placed.json()["lines"][0]["eta"] == line["eta"]


def test_a_quote_says_why_a_line_cannot_be_ordered(api, phone):
    ProductFactory(sku="DENY-1", on_hand=1, backorder_policy=Product.BackorderPolicy.DENY)
    ProductFactory(sku="GONE-1", on_hand=0, is_discontinued=True)

    response = api.post(
        "/api/v1/quotes/",
        {
            "lines": [
                {"sku": "DENY-1", "quantity": 3},
                {"sku": "GONE-1", "quantity": 1},
                {"sku": "NOPE", "quantity": 1},
            ],
            "promised_business_days": 3,
        },
    )

    quote = response.json()
    assert quote["orderable"] is False
    reasons = {line["sku"]: (line["orderable"], line["reason"]) for line in quote["lines"]}
    assert reasons["DENY-1"] == (
        False,
        "Only 1 available and this product is not sold on backorder.",
    )
    assert reasons["GONE-1"] == (False, "Discontinued; none left to sell.")
    assert reasons["NOPE"] == (False, "Unknown SKU 'NOPE'.")
    assert quote["deadline"]["basis"] == "stated_days"


def test_a_bad_quote_request_is_a_400_problem_with_errors_per_field(api):
    response = api.post(
        "/api/v1/quotes/",
        {"lines": [{"sku": "A", "quantity": 0}, {"quantity": 1}], "hold": "maybe"},
    )

    body = assert_problem(response, 400)
    assert body["errors"]["lines"]["0"]["quantity"] == [
        "Ensure this value is greater than or equal to 1."
    ]
    assert body["errors"]["lines"]["1"]["sku"] == ["This field is required."]
    assert body["errors"]["hold"] == ["Must be a valid boolean."]


def test_a_body_that_is_not_json_is_a_400_problem(api):
    assert_problem(api.post("/api/v1/quotes/", "{not json"), 400)


# --- held quotes -------------------------------------------------------------------------


def test_an_order_citing_a_held_quote_gets_its_dates(api, phone):
    held = api.post(
        "/api/v1/quotes/", {"lines": [{"sku": "PHONE-1", "quantity": 3}], "hold": True}
    ).json()
    assert held["quote_id"]
    assert held["expires_at"]

    response = api.post(
        "/api/v1/orders/",
        order_body(("PHONE-1", 3), quote_id=held["quote_id"]),
        **{"Idempotency-Key": "order-1"},
    )

    assert response.status_code == 201, response.content
    [line] = response.json()["lines"]
    assert (line["quantity_allocated"], line["quantity_backordered"]) == (2, 1)
    assert line["eta"] == held["lines"][0]["eta"]


def test_an_order_citing_a_held_quote_after_the_queue_moved_gets_a_409_and_a_fresh_quote(
    api, phone
):
    held = api.post(
        "/api/v1/quotes/", {"lines": [{"sku": "PHONE-1", "quantity": 2}], "hold": True}
    ).json()
    assert held["lines"][0]["in_stock"] == 2
    # Another buyer takes one of the two units in stock.
    api.post("/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "other"})

    response = api.post(
        "/api/v1/orders/",
        order_body(("PHONE-1", 2), external_id="SHOP-2", quote_id=held["quote_id"]),
        **{"Idempotency-Key": "mine"},
    )

    body = assert_problem(response, 409)
    assert body["detail"].startswith("The queue moved since the quote")
    assert body["quote"]["lines"][0]["in_stock"] == 1
    assert body["quote"]["lines"][0]["backordered"] == 1
    assert not Order.objects.filter(external_id="SHOP-2").exists()
    assert not IdempotencyRecord.objects.filter(key="mine").exists()


def test_an_expired_held_quote_gets_a_409_and_a_fresh_quote(api, phone):
    held = api.post(
        "/api/v1/quotes/", {"lines": [{"sku": "PHONE-1", "quantity": 1}], "hold": True}
    ).json()
    # Eleven minutes later: the hold (ten minutes) is over.
    HeldQuote.objects.filter(pk=held["quote_id"]).update(
        created_at=timezone.now() - dt.timedelta(minutes=11),
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )

    response = api.post(
        "/api/v1/orders/",
        order_body(("PHONE-1", 1), quote_id=held["quote_id"]),
        **{"Idempotency-Key": "late"},
    )

    body = assert_problem(response, 409)
    assert body["detail"] == "The held quote has expired."
    assert body["quote"]["lines"][0]["in_stock"] == 1
    assert not Order.objects.exists()


# --- orders ------------------------------------------------------------------------------


def test_an_order_is_placed_with_its_channel_address_and_payment(api, channel, phone):
    response = api.post(
        "/api/v1/orders/",
        order_body(("PHONE-1", 3), promised_business_days=5, ship_preference="ship_complete"),
        **{"Idempotency-Key": "a1"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"/api/v1/orders/{body['number']}/"
    order = Order.objects.get(number=body["number"])
    assert (order.channel, order.external_id) == (channel, "SHOP-1001")
    assert (order.ship_to_city, order.ship_to_country, order.ship_to_phone) == (
        "London",
        "GB",
        "+44 20 7946 0000",
    )
    assert order.amount_paid == Decimal("79.95")
    assert order.promised_business_days == 5
    assert body["status"] == "backordered"
    assert body["shipping_address"]["postal_code"] == "SW1Y 4JH"
    assert body["lines"][0]["quantity_backordered"] == 1
    assert body["deadline"]["basis"] == "stated_days"
    assert body["status_url"].startswith("http")


def test_same_key_and_body_replays_the_first_response_without_a_second_order(api, phone):
    first = api.post("/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "x"})
    again = api.post("/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "x"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_same_key_with_another_body_is_a_422_problem(api, phone):
    api.post("/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "x"})

    response = api.post("/api/v1/orders/", order_body(("PHONE-1", 2)), **{"Idempotency-Key": "x"})

    assert_problem(response, 422)
    assert Order.objects.count() == 1


def test_an_order_without_an_idempotency_key_is_a_400_problem(api, phone):
    body = assert_problem(api.post("/api/v1/orders/", order_body(("PHONE-1", 1))), 400)
    assert "Idempotency-Key" in body["errors"]
    assert not Order.objects.exists()


def test_a_bad_order_is_a_400_problem_naming_each_field(api, phone):
    bad = order_body(("PHONE-1", 1), payment_state="maybe")
    bad["shipping_address"]["country"] = "XX"
    bad["customer"]["email"] = "not-an-email"
    bad["lines"][0]["unit_price"] = "-1"

    body = assert_problem(api.post("/api/v1/orders/", bad, **{"Idempotency-Key": "b"}), 400)

    assert body["errors"]["shipping_address"]["country"] == [
        "'XX' is not an ISO 3166-1 alpha-2 code."
    ]
    assert body["errors"]["customer"]["email"] == ["Enter a valid email address."]
    assert body["errors"]["payment_state"] == ['"maybe" is not a valid choice.']
    assert "unit_price" in body["errors"]["lines"]["0"]
    assert not Order.objects.exists()


def test_an_unknown_sku_is_refused_and_the_key_can_be_used_again(api, phone):
    response = api.post(
        "/api/v1/orders/", order_body(("PHONE-1", 1), ("NOPE", 1)), **{"Idempotency-Key": "k"}
    )

    body = assert_problem(response, 400)
    assert body["errors"]["non_field_errors"] == ["Line 2: unknown SKU 'NOPE'."]
    assert not Order.objects.exists()
    retried = api.post("/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "k"})
    assert retried.status_code == 201


def test_deny_policy_refuses_the_shortfall(api):
    ProductFactory(sku="DENY-1", on_hand=1, backorder_policy=Product.BackorderPolicy.DENY)

    response = api.post("/api/v1/orders/", order_body(("DENY-1", 2)), **{"Idempotency-Key": "d"})

    body = assert_problem(response, 400)
    assert body["errors"]["non_field_errors"] == [
        "Line 1 (DENY-1): only 1 available and this product is not sold on backorder."
    ]
    assert Product.objects.get(sku="DENY-1").stock.allocated == 0


def test_external_ids_are_unique_per_channel(api, phone):
    api.post("/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "1"})
    other_channel = ApiClient(api_key_create(channel=channel_create(name="Other"))[1])

    again = api.post("/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "2"})
    elsewhere = other_channel.post(
        "/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "1"}
    )

    body = assert_problem(again, 400)
    assert body["errors"]["external_id"] == [
        "An order with external id 'SHOP-1001' already exists."
    ]
    assert elsewhere.status_code == 201
    assert Order.objects.filter(external_id="SHOP-1001").count() == 2


# --- reading and cancelling --------------------------------------------------------------


def test_an_order_reads_back_with_shipments_tracking_and_refunds(api, phone):
    number = api.post(
        "/api/v1/orders/", order_body(("PHONE-1", 4)), **{"Idempotency-Key": "r"}
    ).json()["number"]
    order = Order.objects.get(number=number)
    shipment_create(order=order, carrier="UPS", tracking_number="1Z999")
    cancelled = api.post(f"/api/v1/orders/{number}/cancel/", {"reason": "Changed my mind"})
    assert cancelled.status_code == 200, cancelled.content

    response = api.get(f"/api/v1/orders/{number}/")

    body = response.json()
    assert body["status"] == "shipped"
    [shipment] = body["shipments"]
    assert (shipment["carrier"], shipment["tracking_number"]) == ("UPS", "1Z999")
    assert shipment["lines"] == [{"sku": "PHONE-1", "quantity": 2}]
    [line] = body["lines"]
    assert (line["quantity_shipped"], line["quantity_cancelled"]) == (2, 2)
    [refund] = body["refunds"]
    assert refund["amount"] == "50.00"
    assert refund["issued_at"] is None


def test_cancelling_one_line_leaves_the_others(api, phone):
    ProductFactory(sku="CASE-1", on_hand=0)
    number = api.post(
        "/api/v1/orders/", order_body(("PHONE-1", 1), ("CASE-1", 1)), **{"Idempotency-Key": "c"}
    ).json()["number"]

    response = api.post(f"/api/v1/orders/{number}/cancel/", {"lines": ["case-1"]})

    lines = {line["sku"]: line["quantity_cancelled"] for line in response.json()["lines"]}
    assert lines == {"PHONE-1": 0, "CASE-1": 1}
    unknown = api.post(f"/api/v1/orders/{number}/cancel/", {"lines": ["NOPE"]})
    assert assert_problem(unknown, 400)["errors"]["lines"] == [f"Not on order {number}: NOPE."]


def test_orders_are_found_by_external_id_and_only_by_their_channel(api, phone):
    number = api.post(
        "/api/v1/orders/", order_body(("PHONE-1", 1)), **{"Idempotency-Key": "f"}
    ).json()["number"]
    stranger = ApiClient(api_key_create(channel=channel_create(name="Other"))[1])

    found = api.get("/api/v1/orders/?external_id=SHOP-1001").json()

    assert [order["number"] for order in found["results"]] == [number]
    assert api.get("/api/v1/orders/?external_id=SHOP-9").json()["results"] == []
    assert_problem(stranger.get(f"/api/v1/orders/{number}/"), 404)
    assert_problem(stranger.post(f"/api/v1/orders/{number}/cancel/", {}), 404)
    assert stranger.get("/api/v1/orders/").json()["results"] == []


def test_the_order_list_is_paginated_by_cursor_in_a_fixed_number_of_queries(
    api, phone, django_assert_max_num_queries
):
    for n in range(3):
        api.post(
            "/api/v1/orders/",
            order_body(("PHONE-1", 1), external_id=f"S-{n}"),
            **{"Idempotency-Key": f"p{n}"},
        )
    from storefront.api.views import OrderCursorPagination

    OrderCursorPagination.page_size = 2
    try:
        first = api.get("/api/v1/orders/").json()
        with django_assert_max_num_queries(9):
            second = api.client.get(first["next"], headers=api._headers({})).json()
    finally:
        OrderCursorPagination.page_size = 50

    assert [o["external_id"] for o in first["results"]] == ["S-2", "S-1"]
    assert [o["external_id"] for o in second["results"]] == ["S-0"]
    assert second["next"] is None


# --- schema and docs ---------------------------------------------------------------------


def test_the_schema_and_the_docs_page_are_served_without_a_key(client):
    schema = client.get("/api/schema/?format=json")
    docs = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert schema.status_code == 200
    assert "/api/v1/orders/" in schema.json()["paths"]
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "<script>" not in html
    assert "<style>" not in html
    assert "cdn" not in html.lower()
    assert "script-src 'self'" in docs["Content-Security-Policy"]
    assert script["Content-Type"].startswith("application/javascript")


def test_reading_an_order_costs_the_same_queries_however_many_lines_and_shipments(
    api, django_assert_num_queries
):
    skus = [ProductFactory(on_hand=4).sku for _ in range(4)]
    number = api.post(
        "/api/v1/orders/", order_body(*((sku, 2) for sku in skus)), **{"Idempotency-Key": "q"}
    ).json()["number"]
    order = Order.objects.get(number=number)
    lines = list(order.lines.all())
    shipment_create(order=order, quantities={lines[0].pk: 2}, tracking_number="T1")
    shipment_create(order=order, quantities={lines[1].pk: 1, lines[2].pk: 2}, tracking_number="T2")
    api.post(f"/api/v1/orders/{number}/cancel/", {"lines": [skus[3]]})

    # key, order (with status and compliance), lines, shipments, shipment lines, refunds
    with django_assert_num_queries(6):
        body = api.get(f"/api/v1/orders/{number}/").json()

    assert [s["tracking_number"] for s in body["shipments"]] == ["T2", "T1"]
    assert len(body["refunds"]) == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/orders/?external_id=A%00B", None),
        ("get", "/api/v1/orders/BD%00/", None),
        ("post", "/api/v1/quotes/", {"lines": [{"sku": "PHONE\u0000", "quantity": 1}]}),
    ],
)
def test_a_nul_character_anywhere_is_a_400_problem(api, phone, method, path, body):
    response = api.get(path) if method == "get" else api.post(path, body)

    assert_problem(response, 400)

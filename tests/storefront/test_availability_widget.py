"""The availability widget's endpoint: a publishable key reads one product's availability from
the store's own pages (CORS), and can do nothing else."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import Order
from orders.services import purchase_order_create
from storefront.models import ApiKey, SalesChannel
from storefront.services import api_key_create, api_key_revoke, channel_origins_set
from tests.factories import ProductFactory

from .conftest import ApiClient, order_body

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)
SHOP = "https://shop.example"
URL = "/api/v1/public/availability/"
# The key, the product, its stock, waiting units, incoming supply (with its history).
QUERIES = 5


def day(n: int) -> dt.date:
    return MONDAY.date() + dt.timedelta(days=n)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def shop(channel: SalesChannel) -> SalesChannel:
    return channel_origins_set(channel=channel, origins=[SHOP, "https://www.shop.example"])


@pytest.fixture
def pk(shop: SalesChannel) -> str:
    return api_key_create(channel=shop, kind=ApiKey.Kind.PUBLISHABLE)[1]


@pytest.fixture
def lamp():
    """LAMP-4: none on hand, five coming on a purchase order due in eleven days."""
    supplier = supplier_create(name="Brightside Lighting")
    lamp = ProductFactory(sku="LAMP-4", name="Brass lamp", on_hand=0, preferred_supplier=supplier)
    purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(lamp, 5, day(11))], send=True
    )
    return lamp


def availability(pk: str, sku: str, quantity: int = 1, **headers: str):
    return Client().get(URL, {"key": pk, "sku": sku, "quantity": quantity}, headers=headers)


def test_a_product_in_stock_shows_in_stock_without_a_date(pk):
    ProductFactory(sku="MUG-1", name="Mug", on_hand=3)

    response = availability(pk, "mug-1", 3)

    assert response.status_code == 200
    assert response.json() == {
        "sku": "MUG-1",
        "name": "Mug",
        "quantity": 3,
        "status": "in_stock",
        "ships_by": None,
    }
    assert response["Cache-Control"] == "max-age=60"


def test_a_backordered_product_shows_the_date_the_order_then_gets(pk, raw_key, lamp):
    response = availability(pk, "LAMP-4")

    assert response.json()["status"] == "backordered"
    # Due Friday the 13th, shipped a handling day later.
    assert response.json()["ships_by"] == "2026-11-14"

    placed = ApiClient(raw_key).post(
        "/api/v1/orders/", order_body(("LAMP-4", 1)), **{"Idempotency-Key": "w1"}
    )
    assert placed.status_code == 201
    assert placed.json()["lines"][0]["eta"] == "2026-11-14"


def test_more_than_is_on_hand_is_backordered_with_the_date_of_the_rest(pk, raw_key):
    ProductFactory(sku="DESK-2", on_hand=1, lead_time_days=14)

    shown = availability(pk, "DESK-2", 3).json()

    assert shown["status"] == "backordered"
    placed = ApiClient(raw_key).post(
        "/api/v1/orders/", order_body(("DESK-2", 3)), **{"Idempotency-Key": "w2"}
    )
    [line] = placed.json()["lines"]
    assert (line["quantity_allocated"], line["eta"]) == (1, shown["ships_by"])
    assert shown["ships_by"] is not None


def test_a_product_that_cannot_be_ordered_says_so(pk):
    ProductFactory(sku="DENY-1", on_hand=0, backorder_policy="deny")

    assert availability(pk, "DENY-1").json()["status"] == "unavailable"


def test_an_unknown_sku_is_a_404_problem(pk):
    response = availability(pk, "NOPE-9")

    assert response.status_code == 404
    assert response.json()["detail"] == "No product has the SKU 'NOPE-9'."


def test_the_answer_costs_a_fixed_few_queries(pk, lamp, django_assert_num_queries):
    availability(pk, "LAMP-4")  # the key's last use is recorded once a minute

    with django_assert_num_queries(QUERIES):
        assert availability(pk, "LAMP-4").json()["ships_by"] == "2026-11-14"


def test_each_visitor_has_a_budget_of_their_own(pk, settings):
    settings.API_THROTTLE_RATE = "2/min"
    ProductFactory(sku="MUG-1", on_hand=3)

    answers = [availability(pk, "MUG-1").status_code for _ in range(3)]
    other = Client(REMOTE_ADDR="203.0.113.9").get(URL, {"key": pk, "sku": "MUG-1"})

    assert answers == [200, 200, 429]
    assert other.status_code == 200


# --- what a publishable key may do ---------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/orders/"),
        ("post", "/api/v1/quotes/"),
        ("post", "/api/v1/products/"),
        ("get", "/api/v1/orders/"),
        ("get", "/api/v1/availability/"),
    ],
)
def test_a_publishable_key_can_do_nothing_else(pk, method, path):
    ProductFactory(sku="MUG-1", on_hand=3)
    api = ApiClient(pk)

    if method == "post":
        response = api.post(path, order_body(("MUG-1", 1)), **{"Idempotency-Key": "w3"})
    else:
        response = api.get(path)

    assert response.status_code == 403
    assert response.json()["detail"].startswith("A publishable key can only read availability")
    assert not Order.objects.exists()


def test_the_key_may_also_come_in_the_authorization_header(pk):
    ProductFactory(sku="MUG-1", on_hand=3)

    response = ApiClient(pk).get(f"{URL}?sku=MUG-1")

    assert response.json()["status"] == "in_stock"


def test_a_revoked_publishable_key_is_refused(shop):
    api_key, pk = api_key_create(channel=shop, kind=ApiKey.Kind.PUBLISHABLE)
    ProductFactory(sku="MUG-1", on_hand=3)
    api_key_revoke(api_key=api_key)

    response = availability(pk, "MUG-1", Origin=SHOP)

    assert response.status_code == 401
    assert response.json()["detail"] == "This API key is unknown or has been revoked."
    assert "Access-Control-Allow-Origin" not in response


def test_a_secret_key_is_never_taken_from_the_address(raw_key):
    ProductFactory(sku="MUG-1", on_hand=3)

    response = availability(raw_key, "MUG-1")

    assert response.status_code == 401
    assert "publishable key" in response.json()["detail"]


# --- CORS ------------------------------------------------------------------------------------


def test_only_the_channels_own_origins_may_read_the_answer(pk):
    ProductFactory(sku="MUG-1", on_hand=3)

    allowed = availability(pk, "MUG-1", Origin=SHOP)
    assert allowed["Access-Control-Allow-Origin"] == SHOP
    assert allowed["Vary"] == "Origin"

    for other in (
        "https://evil.example",
        "https://shop.example.evil.example",
        "http://shop.example",
    ):
        response = availability(pk, "MUG-1", Origin=other)
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response
        assert response["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in availability(pk, "MUG-1")


def test_another_channels_origin_is_not_allowed(pk):
    ProductFactory(sku="MUG-1", on_hand=3)
    other = SalesChannel.objects.create(name="Other", allowed_origins=["https://other.example"])
    assert other.pk

    response = availability(pk, "MUG-1", Origin="https://other.example")

    assert "Access-Control-Allow-Origin" not in response


def test_a_preflight_is_answered_for_an_allowed_origin_only(shop):
    preflight = {"Access-Control-Request-Method": "GET"}
    preflight["Access-Control-Request-Headers"] = "authorization"

    allowed = Client().options(f"{URL}?sku=MUG-1", headers={"Origin": SHOP, **preflight})
    other = Client().options(
        f"{URL}?sku=MUG-1", headers={"Origin": "https://evil.example", **preflight}
    )

    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == SHOP
    assert allowed["Access-Control-Allow-Methods"] == "GET, OPTIONS"
    assert allowed["Access-Control-Allow-Headers"] == "Authorization"
    assert allowed["Vary"] == "Origin"
    assert other.status_code == 204
    assert "Access-Control-Allow-Origin" not in other


# --- keys and origins --------------------------------------------------------------------


def test_a_publishable_key_is_kept_so_staff_can_copy_it_again(shop):
    api_key, pk = api_key_create(channel=shop, kind=ApiKey.Kind.PUBLISHABLE)
    secret, raw_key = api_key_create(channel=shop)

    assert pk.startswith("pk_live_")
    assert api_key.publishable_key == pk
    assert (secret.kind, secret.publishable_key) == ("secret", "")
    assert raw_key.startswith("bd_")


def test_origins_are_kept_as_browsers_send_them(channel):
    channel_origins_set(
        channel=channel,
        origins=["https://Shop.Example/", "https://shop.example:443", "http://localhost:8001", " "],
    )

    assert channel.allowed_origins == ["https://shop.example", "http://localhost:8001"]


@pytest.mark.parametrize(
    "origin",
    ["http://shop.example", "https://shop.example/products", "shop.example", "https://*.example"],
)
def test_an_origin_must_be_https_without_a_path(channel, origin):
    with pytest.raises(ValidationError):
        channel_origins_set(channel=channel, origins=[origin])

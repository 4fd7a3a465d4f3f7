"""A storefront changes an order's ship preference, address or phone until it has shipped."""

from __future__ import annotations

import json

import pytest

from orders.models import Order, OrderEvent
from orders.services import shipment_create
from storefront.services import api_key_create, channel_create
from tests.factories import ProductFactory

from .conftest import ApiClient, order_body

pytestmark = pytest.mark.django_db

NEW_ADDRESS = {
    "name": "Ada King",
    "line1": "Ockham Park",
    "city": "Ockham",
    "postal_code": "GU23 6NW",
    "country": "gb",
    "phone": "+44 1483 000000",
}


def patch(api: ApiClient, number: str, body: object, **headers: str):
    return api.client.patch(
        f"/api/v1/orders/{number}/",
        json.dumps(body),
        content_type="application/json",
        headers=api._headers(headers),
    )


@pytest.fixture
def number(api) -> str:
    ProductFactory(sku="PHONE-1", on_hand=1)
    ProductFactory(sku="CASE-1", on_hand=0)
    response = api.post(
        "/api/v1/orders/", order_body(("PHONE-1", 1), ("CASE-1", 1)), **{"Idempotency-Key": "k"}
    )
    assert response.status_code == 201, response.content
    return str(response.json()["number"])


def test_a_new_address_is_stored_returned_and_on_the_timeline(api, number):
    response = patch(api, number, {"shipping_address": NEW_ADDRESS})

    assert response.status_code == 200, response.content
    assert response.json()["shipping_address"] == {
        **NEW_ADDRESS,
        "line2": "",
        "region": "",
        "country": "GB",
    }
    event = OrderEvent.objects.get(order__number=number, kind=OrderEvent.Kind.DELIVERY_CHANGED)
    assert event.message.endswith("(asked through Corner Shop)")


def test_ship_preference_and_phone_change_alone(api, number):
    response = patch(api, number, {"ship_preference": "ship_complete", "phone": "555 0100"})

    body = response.json()
    assert body["ship_preference"] == "ship_complete"
    assert body["shipping_address"]["phone"] == "555 0100"
    assert body["shipping_address"]["city"] == "London"


def test_the_same_patch_twice_gives_the_same_order_and_one_timeline_entry(api, number):
    first = patch(api, number, {"shipping_address": NEW_ADDRESS})
    second = patch(api, number, {"shipping_address": NEW_ADDRESS})

    assert second.status_code == 200
    assert second.json() == first.json()
    assert (
        OrderEvent.objects.filter(
            order__number=number, kind=OrderEvent.Kind.DELIVERY_CHANGED
        ).count()
        == 1
    )


def test_a_shipped_order_is_a_409_problem(api, number):
    order = Order.objects.get(number=number)
    api.post(f"/api/v1/orders/{number}/cancel/", {"lines": ["CASE-1"]})
    shipment_create(order=order)

    response = patch(api, number, {"ship_preference": "ship_complete"})

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"] == (
        f"Order {number} has shipped: its delivery can no longer be changed."
    )
    assert Order.objects.get(pk=order.pk).ship_preference == "ship_available"


def test_a_cancelled_order_is_a_409_problem(api, number):
    api.post(f"/api/v1/orders/{number}/cancel/", {})

    response = patch(api, number, {"phone": "555 0100"})

    assert response.status_code == 409
    assert "is cancelled" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "non_field_errors"),
        ({"ship_preference": "by_pigeon"}, "ship_preference"),
        ({"shipping_address": {**NEW_ADDRESS, "country": "XX"}}, "shipping_address"),
        ({"shipping_address": {"name": "A"}}, "shipping_address"),
        ({"phone": "call me"}, "phone"),
    ],
)
def test_bad_changes_are_400_problems_naming_the_field(api, number, body, field):
    response = patch(api, number, body)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not OrderEvent.objects.filter(kind=OrderEvent.Kind.DELIVERY_CHANGED).exists()


def test_another_channels_order_is_a_404(api, number):
    stranger = ApiClient(api_key_create(channel=channel_create(name="Other"))[1])

    response = patch(stranger, number, {"phone": "555 0100"})

    assert response.status_code == 404
    assert Order.objects.get(number=number).ship_to_phone == "+44 20 7946 0000"

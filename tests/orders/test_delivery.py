"""Changing an order's ship preference, address or phone until it has shipped."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from notifications.models import Notification
from orders.models import Order, OrderEvent
from orders.services import (
    DeliveryChangeRefused,
    ShippingAddress,
    order_cancel,
    order_delivery_change,
    shipment_create,
)
from tests.factories import ProductFactory, UserFactory, place_order, receive

pytestmark = pytest.mark.django_db

OLD = ShippingAddress(
    name="Ada Lovelace", line1="12 St James's Square", city="London", country="GB", phone="020 1"
)
NEW = ShippingAddress(
    name="Ada King",
    line1="  Ockham  Park ",
    city="Ockham",
    region="Surrey",
    postal_code="GU23 6NW",
    country="gb",
)


def delivery_events(order: Order) -> list[OrderEvent]:
    return list(order.events.filter(kind=OrderEvent.Kind.DELIVERY_CHANGED))


def test_new_address_of_a_waiting_order_is_stored_and_on_the_timeline():
    order = place_order((ProductFactory(on_hand=0), 2), address=OLD)
    clerk = UserFactory()

    order_delivery_change(order=order, address=NEW, reason="customer moved", actor=clerk)

    order.refresh_from_db()
    assert (order.ship_to_name, order.ship_to_line1, order.ship_to_city) == (
        "Ada King",
        "Ockham Park",
        "Ockham",
    )
    assert (order.ship_to_postal_code, order.ship_to_country, order.ship_to_phone) == (
        "GU23 6NW",
        "GB",
        "",
    )
    [event] = delivery_events(order)
    assert event.actor == clerk
    assert event.message == (
        "Delivery changed: ships to a new address (Ockham, GU23 6NW, GB); phone changed "
        "(customer moved)"
    )
    assert event.data["before"]["city"] == "London"
    assert event.data["after"]["city"] == "Ockham"
    assert event.data["changed"] == ["city", "line1", "name", "phone", "postal_code", "region"]


def test_phone_alone_keeps_the_address():
    order = place_order((ProductFactory(on_hand=0), 1), address=OLD)

    order_delivery_change(order=order, phone="+1 (555) 010-0199")

    order.refresh_from_db()
    assert (order.ship_to_city, order.ship_to_phone) == ("London", "+1 (555) 010-0199")
    assert delivery_events(order)[0].message == "Delivery changed: phone changed"


def test_phone_given_with_an_address_wins_over_the_address_phone():
    order = place_order((ProductFactory(on_hand=0), 1), address=OLD)

    order_delivery_change(order=order, address=OLD, phone="555 0100")

    order.refresh_from_db()
    assert order.ship_to_phone == "555 0100"


def test_ship_complete_then_holds_back_the_units_in_stock():
    product, waiting = ProductFactory(on_hand=5), ProductFactory(on_hand=0)
    order = place_order((product, 1), (waiting, 1))

    order_delivery_change(order=order, ship_preference=Order.ShipPreference.SHIP_COMPLETE)

    assert Order.objects.get(pk=order.pk).ship_preference == Order.ShipPreference.SHIP_COMPLETE
    assert delivery_events(order)[0].message == (
        "Delivery changed: ship preference now 'Wait and ship everything together'"
    )
    with pytest.raises(ValidationError, match="ships complete"):
        shipment_create(order=order)


def test_the_rest_of_a_partly_shipped_order_may_go_elsewhere():
    product, waiting = ProductFactory(on_hand=5), ProductFactory(on_hand=0)
    order = place_order((product, 1), (waiting, 1), address=OLD)
    shipment_create(order=order)

    order_delivery_change(order=order, address=NEW)

    assert Order.objects.get(pk=order.pk).ship_to_city == "Ockham"


def test_a_shipped_order_is_refused_and_nothing_is_written():
    product = ProductFactory(on_hand=0)
    order = place_order((product, 1), address=OLD)
    receive(product, 1)
    shipment_create(order=order)

    with pytest.raises(DeliveryChangeRefused) as refused:
        order_delivery_change(order=order, address=NEW)

    assert refused.value.messages == [
        f"Order {order.number} has shipped: its delivery can no longer be changed."
    ]
    assert Order.objects.get(pk=order.pk).ship_to_city == "London"
    assert delivery_events(order) == []


def test_a_cancelled_order_is_refused():
    order = place_order((ProductFactory(on_hand=0), 1))
    order_cancel(order=order, reason="changed mind", cause="customer")

    with pytest.raises(DeliveryChangeRefused, match="is cancelled"):
        order_delivery_change(order=order, ship_preference=Order.ShipPreference.SHIP_COMPLETE)


def test_the_same_values_again_change_nothing_and_record_nothing():
    order = place_order((ProductFactory(on_hand=0), 1), address=OLD)
    order_delivery_change(order=order, address=NEW)

    order_delivery_change(order=order, address=NEW)
    order_delivery_change(order=order, ship_preference=Order.ShipPreference.SHIP_AVAILABLE)

    assert len(delivery_events(order)) == 1


def test_repeating_a_change_after_shipping_is_not_an_error():
    product = ProductFactory(on_hand=1)
    order = place_order((product, 1), address=OLD)
    order_delivery_change(order=order, address=NEW)
    shipment_create(order=order)

    order_delivery_change(order=order, address=NEW)

    assert len(delivery_events(order)) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ship_preference": "by_pigeon"}, "Unknown ship preference 'by_pigeon'."),
        ({"address": ShippingAddress(name="A", line1="1 Road", country="US")}, "city is required"),
        ({"address": ShippingAddress(name="A", line1="1 Road", city="X")}, "country is required"),
        (
            {"address": ShippingAddress(name="A", line1="1 Road", city="X", country="USA")},
            "'USA' is not a two-letter country code",
        ),
        ({"phone": "1" * 31}, "phone is at most 30 characters"),
        ({}, "Give a ship preference, an address or a phone number to change."),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(changes, message):
    order = place_order((ProductFactory(on_hand=0), 1), address=OLD)

    with pytest.raises(ValidationError, match=message):
        order_delivery_change(order=order, **changes)

    assert Order.objects.get(pk=order.pk).ship_to_city == "London"
    assert delivery_events(order) == []


def test_no_email_goes_out_for_a_delivery_change():
    order = place_order((ProductFactory(on_hand=0), 1), address=OLD)
    before = Notification.objects.count()

    order_delivery_change(order=order, address=NEW)

    assert Notification.objects.count() == before

"""Receiving and new orders ask before saving what is most likely a mistake: a delivery note
already received, or a quantity far above anything the product has seen."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import Stock, StockMovement
from orders.models import Order
from orders.selectors import UNUSUAL_QUANTITY_FLOOR, usual_quantity
from tests.addresses import PHONE_ORDER_ADDRESS
from tests.factories import ProductFactory, place_order, receive, staff_in

pytestmark = pytest.mark.django_db
URL = reverse("dashboard:receive")


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    return client


def on_hand(product) -> int:
    return Stock.objects.get(pk=product.pk).on_hand


def test_a_reference_already_received_is_questioned_then_received_when_confirmed(operations):
    phone = ProductFactory(sku="PHONE-1")
    receive(phone, 5, reference="DN-881")

    asked = operations.post(URL, {"sku": "PHONE-1", "quantity": "5", "reference": " dn-881 "})

    page = asked.content.decode()
    assert asked.status_code == 200
    assert "“dn-881” was already used: 5 × PHONE-1 received" in page
    assert 'name="receive_again"' in page
    assert on_hand(phone) == 5

    confirmed = operations.post(
        URL, {"sku": "PHONE-1", "quantity": "5", "reference": "dn-881", "receive_again": "on"}
    )

    assert confirmed.status_code == 302
    assert on_hand(phone) == 10


def test_a_new_reference_or_another_products_reference_is_not_questioned(operations):
    phone = ProductFactory(sku="PHONE-1")
    case = ProductFactory(sku="CASE-1")
    receive(phone, 5, reference="DN-881")

    form = operations.get(URL).content.decode()
    same_note = operations.post(URL, {"sku": "CASE-1", "quantity": "5", "reference": "DN-881"})
    new_note = operations.post(URL, {"sku": "PHONE-1", "quantity": "5", "reference": "DN-882"})

    assert 'name="receive_again"' not in form
    assert 'name="quantity_confirmed"' not in form
    assert (same_note.status_code, new_note.status_code) == (302, 302)
    assert (on_hand(case), on_hand(phone)) == (5, 10)


def test_a_quantity_far_above_the_usual_is_questioned_then_received_when_confirmed(operations):
    phone = ProductFactory(sku="PHONE-1")
    receive(phone, 12)
    place_order((phone, 3))
    assert usual_quantity(product_id=phone.pk).limit == 120

    asked = operations.post(URL, {"sku": "PHONE-1", "quantity": "1200"})

    page = asked.content.decode()
    assert "1200 units of PHONE-1 is far above the usual" in page
    assert "its largest order line was 3 and its largest receipt 12" in page
    assert 'name="quantity_confirmed"' in page
    assert on_hand(phone) == 12

    usual = operations.post(URL, {"sku": "PHONE-1", "quantity": "120"})
    confirmed = operations.post(
        URL, {"sku": "PHONE-1", "quantity": "1200", "quantity_confirmed": "on"}
    )

    assert (usual.status_code, confirmed.status_code) == (302, 302)
    assert on_hand(phone) == 12 + 120 + 1200


def test_a_new_product_may_receive_up_to_the_floor_without_a_question(operations):
    phone = ProductFactory(sku="PHONE-1")

    at_floor = operations.post(URL, {"sku": "PHONE-1", "quantity": str(UNUSUAL_QUANTITY_FLOOR)})

    assert at_floor.status_code == 302
    assert StockMovement.objects.filter(product=phone).count() == 1


def new_order(quantity: int, **extra: str) -> dict[str, str]:
    return {
        "customer_email": "pat@example.com",
        "customer_name": "Pat Phone",
        **PHONE_ORDER_ADDRESS,
        "ship_preference": Order.ShipPreference.SHIP_AVAILABLE,
        "payment_method": Order.PaymentMethod.CARD,
        "shipping_charge": "0",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-sku": "",
        "lines-0-quantity": "",
        "lines-1-sku": "PHONE-1",
        "lines-1-quantity": str(quantity),
        **extra,
    }


def test_a_new_order_line_far_above_the_usual_is_questioned_then_placed_when_confirmed(
    operations,
):
    phone = ProductFactory(sku="PHONE-1")
    receive(phone, 15)
    url = reverse("dashboard:order_new")

    form = operations.get(url).content.decode()
    asked = operations.post(url, new_order(151))

    page = asked.content.decode()
    assert 'name="quantities_confirmed"' not in form
    assert asked.status_code == 400
    assert "Line 2: 151 units of PHONE-1 is far above the usual" in page
    assert 'name="quantities_confirmed"' in page
    assert not Order.objects.exists()

    usual = operations.post(url, new_order(150))
    confirmed = operations.post(url, new_order(151, quantities_confirmed="on"))

    assert (usual.status_code, confirmed.status_code) == (302, 302)
    assert sorted(Order.objects.values_list("lines__quantity", flat=True)) == [150, 151]

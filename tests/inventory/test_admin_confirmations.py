"""The admin's Receive and Adjust actions ask before saving what is most likely a mistake, with
the same rule as the dashboard: a reference already received, a quantity far above the usual."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import Stock, StockMovement
from tests.factories import ProductFactory, place_order, receive
from tests.inventory.test_admin import run_action

pytestmark = pytest.mark.django_db
PRODUCTS_URL = reverse("admin:inventory_product_changelist")


def on_hand(product) -> int:
    return Stock.objects.get(pk=product.pk).on_hand


def test_receiving_under_a_reference_already_received_asks_first(admin_client: Client):
    chair = ProductFactory(sku="CHAIR-1")
    desk = ProductFactory(sku="DESK-1")
    receive(chair, 4, reference="DN-7")

    asked = run_action(
        admin_client, PRODUCTS_URL, "receive_stock", [chair, desk], quantity="4", reference="dn-7"
    )

    assert asked.status_code == 200
    assert "CHAIR-1: “dn-7” was already used for a receipt of 4 on" in asked.content.decode()
    assert (on_hand(chair), on_hand(desk)) == (4, 0)

    confirmed = run_action(
        admin_client,
        PRODUCTS_URL,
        "receive_stock",
        [chair, desk],
        quantity="4",
        reference="dn-7",
        receive_again="on",
    )

    assert confirmed.status_code == 302
    assert (on_hand(chair), on_hand(desk)) == (8, 4)


def test_receiving_far_above_the_usual_asks_first(admin_client: Client):
    chair = ProductFactory(sku="CHAIR-1")
    receive(chair, 20)
    place_order((chair, 2))

    asked = run_action(admin_client, PRODUCTS_URL, "receive_stock", [chair], quantity="2000")

    assert asked.status_code == 200
    assert "2000 units of CHAIR-1 is far above the usual" in asked.content.decode()
    assert on_hand(chair) == 20

    confirmed = run_action(
        admin_client,
        PRODUCTS_URL,
        "receive_stock",
        [chair],
        quantity="2000",
        quantity_confirmed="on",
    )

    assert confirmed.status_code == 302
    assert on_hand(chair) == 2020


def test_adjusting_far_above_the_usual_asks_first_either_way(admin_client: Client):
    chair = ProductFactory(sku="CHAIR-1")
    receive(chair, 30)

    found = run_action(
        admin_client, PRODUCTS_URL, "adjust_stock", [chair], quantity="500", reason="Count"
    )
    usual = run_action(
        admin_client, PRODUCTS_URL, "adjust_stock", [chair], quantity="-3", reason="Broken"
    )
    confirmed = run_action(
        admin_client,
        PRODUCTS_URL,
        "adjust_stock",
        [chair],
        quantity="500",
        reason="Count",
        quantity_confirmed="on",
    )

    assert found.status_code == 200
    assert "500 units of CHAIR-1 is far above the usual" in found.content.decode()
    assert (usual.status_code, confirmed.status_code) == (302, 302)
    assert on_hand(chair) == 30 - 3 + 500
    assert StockMovement.objects.filter(product=chair).count() == 3

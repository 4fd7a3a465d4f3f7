"""The admin's Receive and Adjust actions ask before saving what is most likely a mistake, with
the same rule as the dashboard: a reference already received, a quantity far above the usual."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import Stock, StockMovement
from tests.factories import ProductFactory, receive
from tests.inventory.test_admin import run_action

pytestmark = pytest.mark.django_db
PRODUCTS_URL = reverse("admin:inventory_product_changelist")


def on_hand(product) -> int:
    return Stock.objects.get(pk=product.pk).on_hand


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

"""The phone-order form: the store's shipping rule applies unless staff type a charge, and a
row that cannot be ordered is marked as such."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from inventory.models import Product
from orders.models import Order
from tests.dashboard.test_order_new import form_data
from tests.factories import ProductFactory, staff_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    ProductFactory(sku="CAB-1", name="Braided cable", on_hand=10, unit_price="20.00")
    ProductFactory(
        sku="KET-1", on_hand=0, unit_price="30.00", backorder_policy=Product.BackorderPolicy.DENY
    )
    return client


@override_settings(SHIPPING_FLAT_RATE=Decimal("5.95"), SHIPPING_FREE_OVER=Decimal("100"))
@pytest.mark.parametrize(
    ("quantity", "typed", "charged"),
    [("2", "", "5.95"), ("6", "", "0.00"), ("2", "0", "0.00"), ("2", "12.50", "12.50")],
)
def test_the_store_shipping_rule_applies_unless_a_charge_is_typed(
    operations, quantity, typed, charged
):
    response = operations.post(
        reverse("dashboard:order_new"), form_data(("CAB-1", quantity), shipping_charge=typed)
    )
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.shipping_charge == Decimal(charged)
    assert order.amount_paid == Decimal(quantity) * 20 + Decimal(charged)


def test_the_form_says_an_empty_charge_means_the_store_rate(operations):
    html = operations.get(reverse("dashboard:order_new")).content.decode()
    assert 'placeholder="store rate"' in html
    assert "Leave empty to charge the store&#x27;s shipping rate; type 0 to ship free." in html


def test_a_row_that_cannot_be_ordered_is_marked(operations):
    data = form_data(("CAB-1", "1"), ("KET-1", "1"), preview="1")
    html = operations.post(reverse("dashboard:order_new"), data).content.decode()
    rows = html.split('<tr class="line-row')[1:]
    assert "cannot-order" not in rows[0].split(">")[0]
    assert "cannot-order" in rows[1].split(">")[0]
    assert "Not orderable" in rows[1]

"""A quote costs the same few queries however many lines it has."""

from __future__ import annotations

import datetime as dt

import pytest

from config.calendar import store_today
from inventory.services import PurchaseLineRequest, supplier_create
from orders.services import purchase_order_create
from storefront.selectors import storefront_quote
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db

# The products, their stock (read afresh), their waiting units, their incoming supply and the
# shipping rate table.
QUOTE_QUERIES = 5


@pytest.fixture
def skus() -> list[str]:
    """Ten products: in stock, backordered behind a queue, on a purchase order, refused."""
    supplier = supplier_create(name="Acme")
    found = []
    for n in range(10):
        product = ProductFactory(
            sku=f"Q-{n}",
            on_hand=n % 3,
            preferred_supplier=supplier,
            backorder_policy="deny" if n == 9 else "allow",
        )
        if n % 2 and n != 9:
            place_order((product, 3))
        found.append(product)
    purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(product, 5, store_today() + dt.timedelta(days=9))
               for product in found[1:9:2]],
        send=True,
    )  # fmt: skip
    return [product.sku for product in found]


@pytest.mark.parametrize("count", [1, 10])
def test_a_quote_costs_the_same_queries_for_1_and_10_lines(skus, count, django_assert_num_queries):
    lines = [(sku.lower(), 2) for sku in skus[:count]]

    with django_assert_num_queries(QUOTE_QUERIES):
        quote = storefront_quote(lines=lines)

    assert len(quote.lines) == count
    assert {line.status for line in quote.lines} <= {"in_stock", "backorder", "not_orderable"}
    if count == 10:
        assert {line.status for line in quote.lines} == {"in_stock", "backorder", "not_orderable"}
        assert any(line.eta_basis == "po" for line in quote.lines)

"""Placing an order costs a fixed number of queries, whatever its number of lines."""

from __future__ import annotations

import pytest

from inventory.models import Stock
from orders.models import Order
from orders.services import LineRequest, order_place
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

# savepoint (the test's transaction) + products with their stock locks (one statement),
# waiting units, customer, order,
# its number, lines, stock allocated (and the read of who subscribed to stock.changed), timeline
# event; the confirmation email's outbox row (one insert: what it says is read when it is sent)
# + release. Outermost, BEGIN and COMMIT replace the
# savepoint and its release.
IN_STOCK_QUERIES = 12


def place(customer, *lines: tuple[str, int]) -> Order:
    return order_place(
        customer_email=customer.email, lines=[LineRequest(sku, qty) for sku, qty in lines]
    )


def test_an_order_in_stock_costs_the_same_queries_for_1_and_3_lines(
    django_assert_num_queries,
):
    customer = CustomerFactory()
    products = [ProductFactory(on_hand=10) for _ in range(4)]

    with django_assert_num_queries(IN_STOCK_QUERIES):
        place(customer, (products[0].sku, 2))
    with django_assert_num_queries(IN_STOCK_QUERIES):
        order = place(customer, *((p.sku, 3) for p in products[1:]))

    assert [line.quantity_allocated for line in order.lines.all()] == [3, 3, 3]


def test_a_backordered_line_adds_one_read_of_incoming_supply(django_assert_num_queries):
    customer = CustomerFactory()
    in_stock = [ProductFactory(on_hand=10) for _ in range(2)]
    waiting = ProductFactory(on_hand=1)

    with django_assert_num_queries(IN_STOCK_QUERIES + 1):
        order = place(customer, (in_stock[0].sku, 1), (in_stock[1].sku, 1), (waiting.sku, 3))

    lines = {line.product_id: line for line in order.lines.all()}
    assert (lines[waiting.pk].quantity_allocated, lines[waiting.pk].quantity_backordered) == (1, 2)
    assert lines[waiting.pk].eta is not None
    assert Stock.objects.get(pk=waiting.pk).allocated == 1

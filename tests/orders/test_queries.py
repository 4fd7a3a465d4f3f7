"""Hot paths cost a fixed number of queries, whatever the size of the order or the queue."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Stock, StockMovement
from orders.models import Order, OrderLine
from orders.selectors import invariant_violations, order_list, product_queue
from orders.services import LineRequest, order_place, product_allocate
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def count_queries(func) -> int:
    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries)


def test_placing_1_or_20_lines_costs_the_same_queries():
    """Fully, partly and not available products mixed: one query per step, not per line."""
    customer = CustomerFactory()
    products = [ProductFactory(on_hand=(i + 1) % 3) for i in range(21)]

    def place(items):
        return lambda: order_place(
            customer_email=customer.email,
            lines=[LineRequest(sku=p.sku, quantity=2) for p in items],
        )

    one_line = count_queries(place(products[:1]))
    twenty_lines = count_queries(place(products[1:]))

    assert one_line == twenty_lines
    # customer, products with their stock locks (one statement), waiting units, incoming
    # supply, order, order number,
    # lines, stock allocated (and the read of who subscribed to stock.changed), timeline event;
    # the confirmation email's outbox row, one insert (what it says is read when it is sent);
    # and order_place's savepoint and its release in the test's transaction.
    assert twenty_lines == 13


def test_allocating_across_10000_waiting_lines_takes_at_most_45_queries():
    product = ProductFactory(on_hand=0)
    customer = CustomerFactory()
    start = timezone.now() - dt.timedelta(days=30)
    orders = Order.objects.bulk_create(
        Order(number=f"BULK-{i}", customer=customer, placed_at=start + dt.timedelta(seconds=i))
        for i in range(10_000)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            quantity=1 + i % 3,
            unit_price=product.unit_price,
            queued_at=order.placed_at,
        )
        for i, order in enumerate(orders)
    )
    waiting = sum(1 + i % 3 for i in range(10_000))
    Stock.objects.filter(pk=product.pk).update(on_hand=waiting - 5)
    StockMovement.objects.create(
        product=product, kind="receipt", quantity=waiting - 5, reason="Received"
    )

    with CaptureQueriesContext(connection) as ctx:
        result = product_allocate(product_id=product.pk)

    # SQLite caps a statement at 999 parameters, so Django splits the bulk inserts of the
    # 10,000 timeline events and 10,000 "your items are in" emails into ~200 statements
    # there; PostgreSQL sends one per batch of 2,000 (plus one read of the orders' webhook
    # subscriptions per batch).
    assert len(ctx.captured_queries) <= (45 if connection.vendor == "postgresql" else 300)
    assert result.units == waiting - 5
    assert list(
        product_queue(product_id=product.pk).values_list("quantity_backordered", flat=True)
    ) == [1, 3, 1]
    assert invariant_violations() == []


def test_order_list_costs_the_same_for_5_and_50_orders(django_assert_num_queries):
    product = ProductFactory(on_hand=10)
    for _ in range(5):
        order_place(customer_email=CustomerFactory().email, lines=[LineRequest(product.sku, 1)])
    with django_assert_num_queries(1):
        rows = [(o.number, o.customer.email, o.status) for o in order_list()]
    assert len(rows) == 5
    for _ in range(45):
        order_place(customer_email=CustomerFactory().email, lines=[LineRequest(product.sku, 1)])
    with django_assert_num_queries(1):
        rows = [(o.number, o.customer.email, o.status) for o in order_list()]
    assert len(rows) == 50
    assert {status for *_, status in rows} == {"open", "backordered"}


def test_product_queue_costs_one_query(django_assert_num_queries):
    product = ProductFactory(on_hand=0)
    for _ in range(30):
        order_place(customer_email=CustomerFactory().email, lines=[LineRequest(product.sku, 1)])
    with django_assert_num_queries(1):
        rows = [
            (line.order.number, line.order.customer.email)
            for line in product_queue(product_id=product.pk)
        ]
    assert len(rows) == 30

"""Storefronts racing through the API on PostgreSQL: no oversell, one order per key."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from inventory.models import Product, Stock
from orders.models import Order
from orders.selectors import invariant_violations
from storefront.models import IdempotencyRecord
from tests.factories import ProductFactory
from tests.orders.test_concurrency import run_clients

from .conftest import ApiClient, order_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_sixteen_storefront_clients_ordering_the_last_units_never_oversell(raw_key):
    product = ProductFactory(sku="LAST-1", on_hand=5, backorder_policy=Product.BackorderPolicy.DENY)
    statuses: list[int] = []
    lock = threading.Lock()

    def client(index: int, barrier: threading.Barrier) -> None:
        api = ApiClient(raw_key)
        body = order_body(("LAST-1", 1), external_id=f"SHOP-{index}")
        body["customer"]["email"] = f"buyer{index}@example.com"
        barrier.wait()
        response = api.post("/api/v1/orders/", body, **{"Idempotency-Key": f"key-{index}"})
        with lock:
            statuses.append(response.status_code)

    run_clients(16, client)

    assert Counter(statuses) == {201: 5, 400: 11}
    stock = Stock.objects.get(pk=product.pk)
    assert (stock.on_hand, stock.allocated) == (5, 5)
    assert Order.objects.count() == 5
    assert invariant_violations() == []


def test_eight_concurrent_requests_with_one_idempotency_key_make_one_order(raw_key):
    ProductFactory(sku="PHONE-1", on_hand=3)
    responses: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def client(index: int, barrier: threading.Barrier) -> None:
        api = ApiClient(raw_key)
        barrier.wait()
        response = api.post(
            "/api/v1/orders/", order_body(("PHONE-1", 2)), **{"Idempotency-Key": "same-key"}
        )
        with lock:
            responses.append((response.status_code, response.json()))

    run_clients(8, client)

    assert [status for status, _ in responses] == [201] * 8
    assert len({body["number"] for _, body in responses}) == 1
    assert all(body == responses[0][1] for _, body in responses)
    assert Order.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert Stock.objects.get(product__sku="PHONE-1").allocated == 2

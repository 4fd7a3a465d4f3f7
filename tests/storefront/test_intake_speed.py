"""Order intake through the API costs a fixed number of queries and answers what a read shows."""

from __future__ import annotations

import pytest

from orders.models import Order
from storefront.models import IdempotencyRecord
from tests.factories import ProductFactory

from .conftest import ApiClient, order_body

pytestmark = pytest.mark.django_db

# The key; then the request's transaction (a savepoint here, as the test runs in one; BEGIN
# in production): the Idempotency-Key's row (one insert that skips a key already there; no
# savepoint), products with their stock locks (one statement), waiting units, customer, order,
# its number, lines, stock allocated, who subscribed to webhooks (read once, for the stock
# change and the timeline event), timeline event, the confirmation email (one insert), the
# key's row completed (the answer is built from the lines just written, not read back), and
# the end of the transaction.
API_IN_STOCK_QUERIES = 15


def post(api: ApiClient, key: str, *lines: tuple[str, int], **overrides) -> dict:
    response = api.post(
        "/api/v1/orders/",
        order_body(*lines, external_id=f"SHOP-{key}", **overrides),
        **{"Idempotency-Key": key},
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_an_order_costs_the_same_queries_for_1_and_3_lines(api, django_assert_num_queries):
    skus = [ProductFactory(on_hand=10).sku for _ in range(4)]
    post(api, "warm-up", (skus[0], 1))  # the key's last use and the customer are recorded

    with django_assert_num_queries(API_IN_STOCK_QUERIES):
        post(api, "one", (skus[0], 1))
    with django_assert_num_queries(API_IN_STOCK_QUERIES):
        body = post(api, "three", *((sku, 2) for sku in skus[1:]))

    assert [line["quantity_allocated"] for line in body["lines"]] == [2, 2, 2]


def test_a_backordered_line_adds_one_query(api, django_assert_num_queries):
    in_stock = ProductFactory(on_hand=10).sku
    short = ProductFactory(on_hand=1).sku
    post(api, "warm-up", (in_stock, 1))

    with django_assert_num_queries(API_IN_STOCK_QUERIES + 1):
        body = post(api, "short", (in_stock, 1), (short, 3))

    assert body["status"] == "backordered"
    assert [(line["sku"], line["quantity_backordered"]) for line in body["lines"]] == [
        (in_stock, 0),
        (short, 2),
    ]


def test_a_replayed_order_costs_few_queries_and_places_nothing(api, django_assert_num_queries):
    sku = ProductFactory(on_hand=10).sku
    first = post(api, "again", (sku, 1))

    # the key; the transaction; the Idempotency-Key's row: insert skipped, the row read; the
    # end of the transaction
    with django_assert_num_queries(5):
        again = post(api, "again", (sku, 1))

    assert again == first
    assert Order.objects.count() == 1


@pytest.mark.parametrize(("on_hand", "status"), [(10, "open"), (1, "backordered")])
def test_the_answer_to_an_order_is_what_reading_it_shows(api, on_hand, status):
    """The answer is built from the order just written, not read back: it must agree."""
    in_stock = ProductFactory(on_hand=10).sku
    maybe_short = ProductFactory(on_hand=on_hand).sku

    placed = post(api, "7", (in_stock, 2), (maybe_short, 3), promised_business_days=3)
    read = api.get(f"/api/v1/orders/{placed['number']}/").json()
    stored = IdempotencyRecord.objects.get(key="7").response_body

    assert placed["status"] == status
    assert placed == read == stored

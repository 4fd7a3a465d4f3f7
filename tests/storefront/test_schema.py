"""Schemathesis against the API's own OpenAPI schema: no 500, every response as documented."""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from inventory.models import Product
from orders.services import LineRequest, order_place
from storefront.services import api_key_create, channel_create
from tests.factories import ProductFactory

EXAMPLES_PER_OPERATION = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def shop_key(db) -> str:
    channel = channel_create(name="Fuzz shop")
    for sku, on_hand, policy in [
        ("A", 3, Product.BackorderPolicy.ALLOW),
        ("B", 0, Product.BackorderPolicy.DENY),
    ]:
        ProductFactory(sku=sku, on_hand=on_hand, backorder_policy=policy)
    order = order_place(customer_email="a@example.com", lines=[LineRequest(sku="A", quantity=1)])
    order.channel = channel
    order.external_id = "X-1"
    order.save(update_fields=["channel", "external_id"])
    assert order.amount_paid == Decimal("25.00")
    return api_key_create(channel=channel)[1]


@pytest.fixture
def keep_test_connection():
    """Requests served in-process must not close the test's connection (as Django's test client
    does too), or PostgreSQL would lose the test's transaction after the first request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_api_answers_as_its_schema_says(shop_key, keep_test_connection):
    # In-process (WSGI), inside the test's transaction: generated orders vanish afterwards.
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    headers = {"Authorization": f"Bearer {shop_key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()

"""Shopify retrying a webhook while the first delivery is still being taken, on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from inventory.models import Stock
from orders.models import Order
from orders.selectors import invariant_violations
from storefront.models import IntakeRecord, SalesChannel
from storefront.services import channel_create
from tests.factories import ProductFactory
from tests.orders.test_concurrency import run_clients

from .intake import deliver, payload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECRET = "shpss_concurrent"  # noqa: S105 (a test signing secret)


def _deliver_together(channel: SalesChannel, webhook_ids: list[str]) -> list[str]:
    outcomes: list[str] = []
    lock = threading.Lock()

    def client(index: int, barrier: threading.Barrier) -> None:
        body = payload("shopify_orders_create.json")
        barrier.wait()
        response = deliver(
            f"/api/intake/shopify/{channel.pk}/",
            body,
            secret=SECRET,
            signature_header="X-Shopify-Hmac-Sha256",
            headers={
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Webhook-Id": webhook_ids[index],
            },
        )
        assert response.status_code == 200
        with lock:
            outcomes.append(response.json()["outcome"])

    run_clients(len(webhook_ids), client)
    return outcomes


@pytest.fixture
def channel() -> SalesChannel:
    channel = channel_create(name="Race Shop", kind=SalesChannel.Kind.SHOPIFY)
    channel.webhook_secret = SECRET
    channel.save()
    ProductFactory(sku="IPOD2008PINK", on_hand=5)
    ProductFactory(sku="IPOD2008BLACK", on_hand=5)
    return channel


def test_eight_redeliveries_of_one_webhook_at_once_make_one_order(channel):
    outcomes = _deliver_together(channel, ["same-webhook"] * 8)

    assert outcomes == ["created"] * 8  # the redeliveries answer what the first did
    assert Order.objects.count() == 1
    assert IntakeRecord.objects.count() == 1
    assert Stock.objects.get(product__sku="IPOD2008PINK").allocated == 1
    assert invariant_violations() == []


def test_one_order_under_eight_webhook_ids_at_once_makes_one_order(channel):
    outcomes = _deliver_together(channel, [f"webhook-{i}" for i in range(8)])

    assert Counter(outcomes) == {"created": 1, "duplicate": 7}
    assert Order.objects.count() == 1
    assert IntakeRecord.objects.filter(outcome="duplicate", order__isnull=False).count() == 7
    assert Stock.objects.get(product__sku="IPOD2008PINK").allocated == 1
    assert invariant_violations() == []

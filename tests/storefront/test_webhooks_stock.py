"""stock.changed: one event per product per committed change of its stock, to every channel
that subscribed, written in the causing transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from orders.models import OrderLine
from orders.services import (
    line_cancel,
    order_cancel,
    shipment_create,
    stock_adjust,
    stock_receive,
    stock_receive_and_allocate,
)
from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from storefront.services import channel_create
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscription(channel: SalesChannel) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        channel=channel, url="https://shop.example/hooks", event_types=["stock.changed"]
    )


def events() -> list[dict[str, Any]]:
    """(sku, data) of each stock.changed delivery, in the order written."""
    return [
        {"sku": d.payload["product"]["sku"], **d.payload["data"]}
        for d in WebhookDelivery.objects.filter(event_type="stock.changed").order_by("pk")
    ]


def receive_then_fail(product: Any, quantity: int) -> None:
    with transaction.atomic():
        stock_receive(product=product, quantity=quantity)
        raise RuntimeError


def test_a_receipt_sends_the_new_stock(subscription):
    lamp = ProductFactory(sku="LAMP", on_hand=0)

    stock_receive(product=lamp, quantity=5)

    assert events() == [
        {"sku": "LAMP", "on_hand": 5, "allocated": 0, "available": 5, "backorderable": True}
    ]
    delivery = WebhookDelivery.objects.get()
    assert delivery.payload["type"] == "stock.changed"
    assert delivery.payload["id"] == str(delivery.event_id)
    assert delivery.order_number == ""


def test_receiving_and_handing_out_in_one_transaction_is_one_event_with_the_end_state(
    subscription,
):
    lamp = ProductFactory(sku="LAMP", on_hand=0)
    place_order((lamp, 2))
    place_order((lamp, 1))
    WebhookDelivery.objects.all().delete()

    stock_receive_and_allocate(product=lamp, quantity=4)

    assert events() == [
        {"sku": "LAMP", "on_hand": 4, "allocated": 3, "available": 1, "backorderable": True}
    ]


def test_an_order_taking_stock_sends_one_event_per_product_not_per_line(subscription):
    lamp, shade, bulb = (ProductFactory(sku=sku, on_hand=3) for sku in ("LAMP", "SHADE", "BULB"))
    waiting = ProductFactory(sku="CORD", on_hand=0)
    WebhookDelivery.objects.all().delete()

    place_order((lamp, 1), (shade, 2), (bulb, 3), (waiting, 1))

    assert sorted((e["sku"], e["available"]) for e in events()) == [
        ("BULB", 0),
        ("LAMP", 2),
        ("SHADE", 1),
    ]


def test_several_changes_in_one_transaction_coalesce_per_product(subscription):
    lamp, shade = ProductFactory(sku="LAMP", on_hand=0), ProductFactory(sku="SHADE", on_hand=0)
    WebhookDelivery.objects.all().delete()

    with transaction.atomic():
        for _ in range(3):
            stock_receive(product=lamp, quantity=2)
        stock_receive(product=shade, quantity=1)
        stock_adjust(product=lamp, quantity=-1, reason="dropped one")

    assert [(e["sku"], e["on_hand"]) for e in events()] == [("LAMP", 5), ("SHADE", 1)]


@pytest.mark.django_db(transaction=True)
def test_shipping_adjusting_and_cancelling_each_send_an_event(subscription):
    lamp = ProductFactory(sku="LAMP", on_hand=4)
    order = place_order((lamp, 3))
    WebhookDelivery.objects.all().delete()

    shipment_create(order=order, quantities={order.lines.get().pk: 1})
    stock_adjust(product=lamp, quantity=2, reason="found two")
    line_cancel(
        line=OrderLine.objects.get(order=order), quantity=1, reason="asked", cause="customer"
    )
    order_cancel(order=order, reason="asked", cause="customer")

    assert [(e["on_hand"], e["allocated"], e["available"]) for e in events()] == [
        (3, 2, 1),
        (5, 2, 3),
        (5, 1, 4),
        (5, 0, 5),
    ]


def test_a_rolled_back_change_sends_nothing(subscription):
    lamp = ProductFactory(sku="LAMP", on_hand=0)

    with pytest.raises(RuntimeError):
        receive_then_fail(lamp, 5)

    assert events() == []


def test_a_product_first_changed_in_a_rolled_back_savepoint_is_still_sent(subscription):
    lamp, shade = ProductFactory(sku="LAMP", on_hand=0), ProductFactory(sku="SHADE", on_hand=0)

    with transaction.atomic():
        stock_receive(product=lamp, quantity=1)
        with pytest.raises(RuntimeError):
            receive_then_fail(shade, 7)
        stock_receive(product=shade, quantity=2)

    assert [(e["sku"], e["on_hand"]) for e in events()] == [("LAMP", 1), ("SHADE", 2)]


def test_every_subscribed_channel_gets_it_and_nobody_else(subscription):
    other = channel_create(name="Second Shop")
    WebhookSubscription.objects.create(
        channel=other, url="https://two.example/hooks", event_types=["stock.changed"]
    )
    WebhookSubscription.objects.create(
        channel=other, url="https://two.example/orders", event_types=["order.backordered"]
    )
    paused = channel_create(name="Paused Shop")
    SalesChannel.objects.filter(pk=paused.pk).update(is_active=False)
    WebhookSubscription.objects.create(
        channel=paused, url="https://three.example/hooks", event_types=["stock.changed"]
    )

    stock_receive(product=ProductFactory(sku="LAMP", on_hand=0), quantity=1)

    urls = WebhookDelivery.objects.values_list("subscription__url", flat=True)
    assert sorted(urls) == ["https://shop.example/hooks", "https://two.example/hooks"]
    assert len(set(WebhookDelivery.objects.values_list("event_id", flat=True))) == 1


def test_without_a_subscriber_a_stock_change_costs_one_query_more(
    channel, django_assert_num_queries
):
    lamp = ProductFactory(sku="LAMP", on_hand=0)

    # In and out of the savepoint, the stock lock, the update, the ledger row, whether anyone
    # is on the product's waitlist (an arrival), and the one more: the subscriptions read.
    with django_assert_num_queries(7):
        stock_receive(product=lamp, quantity=1)

    assert not WebhookDelivery.objects.exists()

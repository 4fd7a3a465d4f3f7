"""WooCommerce order webhooks become orders: signed, once per delivery, refused clearly."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from orders.models import Order, OrderEvent
from storefront.models import IntakeRecord, SalesChannel
from storefront.services import channel_create
from tests.factories import ProductFactory

from .intake import deliver, payload, sign

pytestmark = pytest.mark.django_db

SECRET = "wc-webhook-secret-727"  # noqa: S105 (a test signing secret)


@pytest.fixture
def shop() -> SalesChannel:
    channel = channel_create(name="Woo Shop", kind=SalesChannel.Kind.WOOCOMMERCE)
    channel.webhook_secret = SECRET
    channel.save()
    return channel


@pytest.fixture
def products() -> None:
    ProductFactory(sku="WOO-SINGLE-1", on_hand=10)
    ProductFactory(sku="SHIP-IDEA-BLK-M", on_hand=0)


def send(
    shop: SalesChannel,
    data: dict[str, Any] | bytes,
    *,
    topic: str = "order.created",
    delivery_id: str = "a1f3c9d2e8",
    secret: str | None = SECRET,
) -> Any:
    return deliver(
        f"/api/intake/woocommerce/{shop.pk}/",
        data,
        secret=secret,
        signature_header="X-WC-Webhook-Signature",
        headers={
            "X-WC-Webhook-Source": "https://example.com/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": topic.split(".")[1],
            "X-WC-Webhook-ID": "12",
            "X-WC-Webhook-Delivery-ID": delivery_id,
        },
    )


def test_order_created_takes_the_order_with_lines_customer_address_and_shipping(shop, products):
    response = send(shop, payload("woocommerce_order.json"))

    assert response.status_code == 200
    assert response.json()["outcome"] == "created"
    order = Order.objects.get(channel=shop, external_id="727")
    assert order.customer.email == "john.doe@example.com"
    assert order.customer.name == "John Doe"
    assert [(line.product.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("WOO-SINGLE-1", 2, Decimal("3.00")),
        ("SHIP-IDEA-BLK-M", 1, Decimal("12.00")),
    ]
    assert [line.quantity_backordered for line in order.lines.all()] == [0, 1]
    assert order.shipping_charge == Decimal("10.00")
    assert order.paid_at is not None
    assert (
        order.ship_to_name,
        order.ship_to_line1,
        order.ship_to_line2,
        order.ship_to_city,
        order.ship_to_region,
        order.ship_to_postal_code,
        order.ship_to_country,
        order.ship_to_phone,
    ) == (
        "John Doe",
        "969 Market",
        "Suite 200",
        "San Francisco",
        "CA",
        "94103",
        "US",
        "(555) 555-5555",
    )
    record = IntakeRecord.objects.get()
    assert (record.order, record.source, record.topic) == (
        order,
        "https://example.com/",
        "order.created",
    )


def test_the_ping_sent_when_the_webhook_is_saved_is_answered_200(shop):
    response = Client().post(
        f"/api/intake/woocommerce/{shop.pk}/",
        "webhook_id=12",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert IntakeRecord.objects.count() == 0


@pytest.mark.parametrize(
    ("secret", "tamper"),
    [(SECRET, True), ("another-secret", False), (None, False)],
    ids=["tampered-body", "wrong-secret", "no-signature"],
)
def test_a_bad_signature_is_refused_with_401_and_nothing_is_written(shop, products, secret, tamper):
    body = payload("woocommerce_order.json")
    raw = json.dumps(body).encode()
    headers = {"X-WC-Webhook-Topic": "order.created", "X-WC-Webhook-Delivery-ID": "d1"}
    if secret is not None:
        headers["X-WC-Webhook-Signature"] = sign(secret, raw)
    if tamper:
        raw = raw.replace(b'"quantity": 2', b'"quantity": 20', 1)

    response = Client().post(
        f"/api/intake/woocommerce/{shop.pk}/", raw, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert Order.objects.count() == 0
    assert IntakeRecord.objects.count() == 0


def test_a_redelivery_with_the_same_delivery_id_makes_no_second_order(shop, products):
    send(shop, payload("woocommerce_order.json"))
    again = send(shop, payload("woocommerce_order.json"))

    assert again.json()["redelivery"] is True
    assert Order.objects.count() == 1
    assert IntakeRecord.objects.count() == 1


def test_a_pending_order_is_waited_for_and_taken_when_it_becomes_processing(shop, products):
    body = payload("woocommerce_order.json")
    body.update(status="pending", date_paid=None, date_paid_gmt=None)
    assert send(shop, body, delivery_id="d-created").json()["outcome"] == "ignored"
    assert Order.objects.count() == 0

    body.update(status="processing", date_paid="2026-11-30T13:40:00")
    response = send(shop, body, topic="order.updated", delivery_id="d-paid")
    assert response.json()["outcome"] == "created"

    body["status"] = "completed"
    response = send(shop, body, topic="order.updated", delivery_id="d-completed")
    assert response.json()["outcome"] == "ignored"
    assert "changes made in the store since are not applied here" in response.json()["detail"]
    assert Order.objects.count() == 1


def test_an_order_updated_to_cancelled_cancels_the_order(shop, products):
    body = payload("woocommerce_order.json")
    send(shop, body, delivery_id="d1")
    body["status"] = "cancelled"

    response = send(shop, body, topic="order.updated", delivery_id="d2")

    assert response.json()["outcome"] == "cancelled"
    order = Order.objects.with_status().get()
    assert order.status == "cancelled"
    assert order.events.get(kind=OrderEvent.Kind.CANCELLED).data["cause"] == "shop"


def test_cash_on_delivery_is_cod_and_unpaid(shop, products):
    body = payload("woocommerce_order.json")
    body.update(payment_method="cod", payment_method_title="Cash on delivery", date_paid=None)
    body["date_paid_gmt"] = None

    send(shop, body)

    order = Order.objects.get()
    assert order.payment_method == Order.PaymentMethod.COD
    assert order.paid_at is None


def test_gift_cards_and_fees_such_as_tips_are_ignored_and_noted(shop, products):
    body = payload("woocommerce_order.json")
    body["line_items"].append(
        {
            "id": 400,
            "name": "Gift Card",
            "quantity": 1,
            "sku": "",
            "price": 50,
            "subtotal": "50.00",
            "meta_data": [{"id": 1, "key": "_pw_gift_card_number", "value": "ABCD"}],
        }
    )
    body["fee_lines"] = [{"id": 401, "name": "Tip", "total": "3.00", "total_tax": "0.00"}]

    response = send(shop, body)

    order = Order.objects.get()
    assert response.json()["detail"] == (
        f"Order {order.number} created. Ignored gift card 'Gift Card'. Ignored fee 'Tip' (3.00)."
    )
    assert order.lines.count() == 2


def test_line_items_without_a_sku_and_unknown_skus_are_refused(shop, products):
    body = payload("woocommerce_order.json")
    body["line_items"][0]["sku"] = ""
    body["line_items"][1]["sku"] = "NOT-HERE"

    response = send(shop, body)

    assert response.json()["outcome"] == "refused"
    assert "Line items without a SKU: 'Woo Single #1'." in response.json()["detail"]
    body["line_items"][0]["sku"] = "WOO-SINGLE-1"
    response = send(shop, body, delivery_id="d-second")
    assert "unknown SKU 'NOT-HERE'" in response.json()["detail"]
    assert Order.objects.count() == 0
    assert list(IntakeRecord.objects.values_list("outcome", flat=True)) == ["refused", "refused"]


def test_an_order_in_another_currency_is_refused_clearly(shop, products):
    body = payload("woocommerce_order.json")
    body["currency"] = "CAD"

    response = send(shop, body)

    assert response.json()["detail"].startswith(
        "The order is in CAD; this store takes orders in USD only"
    )
    assert Order.objects.count() == 0

"""Shopify order webhooks become orders: signed, once per delivery, refused clearly."""

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

SECRET = "shpss_3f1c0ffee"  # noqa: S105 (a test signing secret)
ORDER_ID = "820982911946154508"


@pytest.fixture
def shop() -> SalesChannel:
    channel = channel_create(name="Jsmith Shopify", kind=SalesChannel.Kind.SHOPIFY)
    channel.webhook_secret = SECRET
    channel.save()
    return channel


@pytest.fixture
def products() -> None:
    ProductFactory(sku="IPOD2008PINK", on_hand=5)
    ProductFactory(sku="IPOD2008BLACK", on_hand=0)


def send(
    shop: SalesChannel,
    data: dict[str, Any] | bytes,
    *,
    topic: str = "orders/create",
    webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    secret: str | None = SECRET,
    url: str | None = None,
) -> Any:
    return deliver(
        url or f"/api/intake/shopify/{shop.pk}/",
        data,
        secret=secret,
        signature_header="X-Shopify-Hmac-Sha256",
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Shop-Domain": "jsmith.myshopify.com",
            "X-Shopify-API-Version": "2025-10",
        },
    )


def test_orders_create_takes_the_order_with_lines_customer_address_and_shipping(shop, products):
    response = send(shop, payload("shopify_orders_create.json"))

    assert response.status_code == 200
    assert response.json()["outcome"] == "created"
    order = Order.objects.get(channel=shop, external_id=ORDER_ID)
    assert response.json()["order"] == order.number
    assert order.customer.email == "jon@example.com"
    assert order.customer.name == "John Smith"
    assert [(line.product.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("IPOD2008PINK", 1, Decimal("199.00")),
        ("IPOD2008BLACK", 1, Decimal("199.00")),
    ]
    assert [line.quantity_allocated for line in order.lines.all()] == [1, 0]
    assert order.shipping_charge == Decimal("10.00")
    assert order.payment_method == Order.PaymentMethod.CARD
    assert order.paid_at is not None
    assert (
        order.ship_to_name,
        order.ship_to_line1,
        order.ship_to_city,
        order.ship_to_region,
        order.ship_to_postal_code,
        order.ship_to_country,
        order.ship_to_phone,
    ) == (
        "Steve Shipper",
        "123 Shipping Street",
        "Shippington",
        "KY",
        "40003",
        "US",
        "555-555-SHIP",
    )
    record = IntakeRecord.objects.get()
    assert (
        record.topic,
        record.delivery_id,
        record.source,
        record.external_id,
        record.outcome,
    ) == (
        "orders/create",
        "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "jsmith.myshopify.com",
        ORDER_ID,
        "created",
    )
    assert record.order == order


def test_a_redelivery_with_the_same_webhook_id_makes_no_second_order(shop, products):
    first = send(shop, payload("shopify_orders_create.json"))
    again = send(shop, payload("shopify_orders_create.json"))

    assert again.status_code == 200
    assert again.json() == {**first.json(), "redelivery": True}
    assert Order.objects.count() == 1
    assert IntakeRecord.objects.count() == 1


def test_the_same_order_under_another_webhook_id_is_recorded_as_a_duplicate(shop, products):
    send(shop, payload("shopify_orders_create.json"), webhook_id="first")
    response = send(shop, payload("shopify_orders_create.json"), webhook_id="second")

    order = Order.objects.get()
    assert response.json()["outcome"] == "duplicate"
    assert IntakeRecord.objects.get(delivery_id="second").detail == (
        f"Already taken as order {order.number}."
    )


@pytest.mark.parametrize(
    ("secret", "tamper"),
    [(SECRET, True), ("another-secret", False), (None, False)],
    ids=["tampered-body", "wrong-secret", "no-signature"],
)
def test_a_bad_signature_is_refused_with_401_and_nothing_is_written(shop, products, secret, tamper):
    body = payload("shopify_orders_create.json")
    raw = json.dumps(body).encode()
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "w1"}
    if secret is not None:
        headers["X-Shopify-Hmac-Sha256"] = sign(secret, raw)
    if tamper:
        raw = raw.replace(b'"quantity": 1', b'"quantity": 9', 1)

    response = Client().post(
        f"/api/intake/shopify/{shop.pk}/", raw, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert "X-Shopify-Hmac-Sha256" in response.json()["detail"]
    assert Order.objects.count() == 0
    assert IntakeRecord.objects.count() == 0


def test_a_channel_without_a_secret_refuses_every_delivery(shop, products):
    shop.webhook_secret = ""
    shop.save()

    assert send(shop, payload("shopify_orders_create.json"), secret="").status_code == 401


def test_unknown_channels_and_channels_of_another_kind_are_404(shop):
    woo = channel_create(name="Woo Shop", kind=SalesChannel.Kind.WOOCOMMERCE)
    body = payload("shopify_orders_create.json")

    assert send(shop, body, url="/api/intake/shopify/999999/").status_code == 404
    assert send(shop, body, url="/api/intake/shopify/nobody/").status_code == 404
    assert send(shop, body, url=f"/api/intake/shopify/{woo.pk}/").status_code == 404


def test_the_channel_may_be_named_by_its_slug(shop, products):
    response = send(
        shop, payload("shopify_orders_create.json"), url="/api/intake/shopify/jsmith-shopify/"
    )

    assert response.json()["outcome"] == "created"


def test_a_get_is_refused_with_405(shop, client):
    assert client.get(f"/api/intake/shopify/{shop.pk}/").status_code == 405


def test_line_items_without_a_sku_are_refused_naming_them(shop, products):
    body = payload("shopify_orders_create.json")
    body["line_items"][1]["sku"] = ""
    body["line_items"][1]["title"] = "Engraving service"

    response = send(shop, body)

    assert response.json()["outcome"] == "refused"
    assert "Line items without a SKU: 'Engraving service'." in response.json()["detail"]
    assert Order.objects.count() == 0
    assert IntakeRecord.objects.get().outcome == "refused"


def test_gift_cards_and_tips_are_ignored_and_noted_on_the_record(shop, products):
    body = payload("shopify_orders_create.json")
    body["line_items"].append(
        {**body["line_items"][0], "sku": None, "gift_card": True, "title": "Gift Card $50"}
    )
    body["line_items"].append(
        {**body["line_items"][0], "sku": None, "product_id": None, "title": "Tip"}
    )

    response = send(shop, body)

    assert response.json()["outcome"] == "created"
    order = Order.objects.get()
    assert order.lines.count() == 2
    assert IntakeRecord.objects.get().detail == (
        f"Order {order.number} created. Ignored gift card 'Gift Card $50'. Ignored tip 'Tip'."
    )


def test_an_unknown_sku_is_refused_with_a_record(shop, products):
    body = payload("shopify_orders_create.json")
    body["line_items"][0]["sku"] = "NOT-HERE"

    response = send(shop, body)

    assert response.json()["outcome"] == "refused"
    assert "unknown SKU 'NOT-HERE'" in IntakeRecord.objects.get().detail
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("quantity", 3_000_000_000, "3,000,000,000 units is more than 1,000,000"),
        ("quantity", "99999999999999999999", "units is more than 1,000,000"),
        ("quantity", "1_000", "the quantity is not a whole number"),
        ("price", "1e30", "is more than 1,000,000"),
        ("price", "100000000000", "is more than 1,000,000"),
    ],
)
def test_an_amount_or_quantity_beyond_any_order_is_refused_not_a_server_error(
    shop, products, field, value, why
):
    body = payload("shopify_orders_create.json")
    body["line_items"][0][field] = value

    response = send(shop, body)

    assert response.status_code == 200
    assert response.json()["outcome"] == "refused"
    assert why in IntakeRecord.objects.get().detail
    assert Order.objects.count() == 0


@pytest.mark.parametrize("order_id", [{"id": 1}, [1], "  "])
def test_an_order_id_that_is_not_an_id_is_refused(shop, products, order_id):
    body = payload("shopify_orders_create.json")
    body["id"] = order_id

    response = send(shop, body)

    assert response.json()["outcome"] == "refused"
    assert "no id" in IntakeRecord.objects.get().detail
    assert Order.objects.count() == 0


def test_a_refused_delivery_sent_again_after_the_product_exists_is_taken(shop, products):
    body = payload("shopify_orders_create.json")
    body["line_items"][0]["sku"] = "NEW-1"
    assert send(shop, body).json()["outcome"] == "refused"
    ProductFactory(sku="NEW-1", on_hand=1)

    response = send(shop, body)

    assert response.json()["outcome"] == "created"
    assert IntakeRecord.objects.get().outcome == "created"


def test_an_order_in_another_currency_is_refused_clearly(shop, products):
    body = payload("shopify_orders_create.json")
    body["currency"] = "EUR"

    response = send(shop, body)

    assert response.json()["outcome"] == "refused"
    assert response.json()["detail"].startswith(
        "The order is in EUR; this store takes orders in USD only"
    )
    assert Order.objects.count() == 0


def test_a_test_order_is_ignored_with_a_record(shop, products):
    body = payload("shopify_orders_create.json")
    body["test"] = True

    response = send(shop, body)

    assert response.json()["outcome"] == "ignored"
    assert "Test order" in IntakeRecord.objects.get().detail
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("gateways", "status", "method", "paid"),
    [
        (["Cash on Delivery (COD)"], "pending", Order.PaymentMethod.COD, False),
        (["shopify_payments"], "authorized", Order.PaymentMethod.CARD, True),
        (["paypal"], "paid", Order.PaymentMethod.PAYPAL, True),
        (["manual"], "pending", Order.PaymentMethod.CARD, False),
    ],
)
def test_the_payment_gateway_and_financial_status_set_the_payment(
    shop, products, gateways, status, method, paid
):
    body = payload("shopify_orders_create.json")
    body["payment_gateway_names"] = gateways
    body["financial_status"] = status

    send(shop, body)

    order = Order.objects.get()
    assert order.payment_method == method
    assert (order.paid_at is not None) is paid


def test_a_voided_order_is_refused(shop, products):
    body = payload("shopify_orders_create.json")
    body["financial_status"] = "voided"

    assert "Financial status 'voided'" in send(shop, body).json()["detail"]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(("reason", "cause"), [("customer", "customer"), ("inventory", "shop")])
def test_orders_cancelled_cancels_the_order_through_the_cancel_service(
    shop, products, reason, cause
):
    send(shop, payload("shopify_orders_create.json"), webhook_id="create-1")
    cancelled = payload("shopify_orders_create.json")
    cancelled["cancel_reason"] = reason
    cancelled["cancelled_at"] = "2026-11-30T09:00:00-05:00"

    response = send(shop, cancelled, topic="orders/cancelled", webhook_id="cancel-1")

    assert response.json()["outcome"] == "cancelled"
    order = Order.objects.with_status().get()
    assert order.status == "cancelled"
    assert all(line.quantity_open == 0 for line in order.lines.all())
    event = order.events.get(kind=OrderEvent.Kind.CANCELLED)
    assert event.data["cause"] == cause
    assert event.data["reason"] == f"Cancelled in Shopify (reason: {reason})"


def test_cancelling_an_order_we_never_took_is_ignored_with_a_record(shop):
    response = send(shop, payload("shopify_orders_create.json"), topic="orders/cancelled")

    assert response.json()["outcome"] == "ignored"
    assert "nothing to cancel" in IntakeRecord.objects.get().detail


def test_a_signed_body_that_is_not_json_is_refused_with_a_record(shop):
    response = send(shop, b"<xml/>")

    assert response.json()["outcome"] == "refused"
    assert IntakeRecord.objects.get().detail == "The body is not JSON."


def test_other_topics_are_ignored(shop, products):
    response = send(shop, payload("shopify_orders_create.json"), topic="orders/updated")

    assert response.json()["outcome"] == "ignored"
    assert Order.objects.count() == 0


def test_lines_are_priced_after_their_discounts_and_one_sku_listed_twice_is_one_line(
    shop, products
):
    body = payload("shopify_orders_create.json")
    body["line_items"][0]["discount_allocations"] = [
        {"amount": "20.00", "discount_application_index": 0}
    ]
    body["line_items"][1]["sku"] = "IPOD2008PINK"
    body["line_items"][1]["quantity"] = 2

    send(shop, body)

    order = Order.objects.get()
    # (199.00 - 20.00) + 2 × 199.00 = 577.00 for 3 units
    assert [(line.product.sku, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("IPOD2008PINK", 3, Decimal("192.33"))
    ]

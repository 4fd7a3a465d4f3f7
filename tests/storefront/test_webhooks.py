"""Outbound webhooks: rows written with the change, delivered signed to a real HTTP server on
127.0.0.1, retried, failed for good, swept, re-sent with the same event id."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from orders.models import Order
from orders.services import line_cancel, shipment_create
from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from storefront.tasks import webhook_deliveries_drain_task
from storefront.webhooks import (
    webhook_deliveries_drain,
    webhook_deliveries_sweep,
    webhook_delivery_resend,
)
from tests.factories import ProductFactory, place_order
from tests.storefront.conftest import order_body
from tests.storefront.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db

SECRET = "whsec-test-0123456789"  # noqa: S105 - a test secret
State = WebhookDelivery.State


@pytest.fixture
def subscribed(channel: SalesChannel, webhook_server: WebhookServer) -> WebhookSubscription:
    SalesChannel.objects.filter(pk=channel.pk).update(webhook_secret=SECRET)
    return WebhookSubscription.objects.create(
        channel=channel,
        url=webhook_server.url,
        event_types=[
            "order.backordered",
            "line.cancelled",
            "order.cancelled",
            "shipment.created",
        ],
    )


def _channel_order(channel: SalesChannel, *items: tuple[Any, int]) -> Order:
    order = place_order(*items)
    Order.objects.filter(pk=order.pk).update(channel=channel, external_id=f"EXT-{order.pk}")
    return Order.objects.get(pk=order.pk)


def _verify(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What a consumer does: recompute the HMAC over "<t>.<body>" and compare."""
    parts = dict(p.split("=", 1) for p in headers["X-Backorder-Signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())
    assert abs(int(parts["t"]) - timezone.now().timestamp()) < 60
    return json.loads(body)


def test_an_api_order_with_backordered_lines_queues_a_signed_event_delivered_once(
    api, subscribed, webhook_server
):
    ProductFactory(sku="PHONE-1", on_hand=1)
    response = api.post("/api/v1/orders/", order_body(("PHONE-1", 3)), **{"Idempotency-Key": "k1"})
    assert response.status_code == 201, response.content

    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.PENDING
    assert delivery.event_type == "order.backordered"
    result = webhook_deliveries_drain()

    assert result.delivered == [delivery.pk]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        State.DELIVERED,
        1,
        200,
    )
    [received] = webhook_server.received
    payload = _verify(received.headers, received.body)
    assert received.headers["X-Backorder-Event-Id"] == str(delivery.event_id)
    assert payload["id"] == str(delivery.event_id)
    assert payload["type"] == "order.backordered"
    assert payload["order"] == {"number": response.json()["number"], "external_id": "SHOP-1001"}
    assert payload["data"]["lines"][0]["backordered"] == 2
    # A second drain finds nothing to send.
    assert webhook_deliveries_drain().claimed == 0
    assert len(webhook_server.received) == 1


def test_the_delivery_is_written_in_the_causing_transaction(channel, subscribed):
    phone = ProductFactory(on_hand=0)
    order = _channel_order(channel, (phone, 2))
    line = order.lines.get()

    def cancel_then_fail() -> None:
        with transaction.atomic():
            line_cancel(line=line, reason="changed their mind", quantity=1)
            assert WebhookDelivery.objects.filter(event_type="line.cancelled").count() == 1
            raise RuntimeError("the change fails after the event")

    with pytest.raises(RuntimeError):
        cancel_then_fail()

    assert not WebhookDelivery.objects.exists()
    line_cancel(line=line, reason="changed their mind", quantity=1)
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["line.cancelled"]


def test_events_of_types_not_subscribed_or_of_other_channels_write_nothing(channel, subscribed):
    phone = ProductFactory(on_hand=5)
    place_order((phone, 1))  # a phone order: no channel
    other = SalesChannel.objects.create(name="Other shop")
    order = _channel_order(other, (phone, 1))
    shipment_create(order=order, quantities={order.lines.get().pk: 1})
    assert not WebhookDelivery.objects.exists()


def test_a_cancelled_order_is_order_cancelled_and_one_drain_is_published_per_commit(
    channel, subscribed, django_capture_on_commit_callbacks
):
    phone, case = ProductFactory(on_hand=0), ProductFactory(on_hand=0)
    order = _channel_order(channel, (phone, 1), (case, 1))
    first, second = order.lines.order_by("pk")

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        line_cancel(line=first, reason="too slow")
        line_cancel(line=second, reason="too slow")

    assert list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "line.cancelled",
        "order.cancelled",
    ]
    drains = [c for c in callbacks if getattr(c, "task", None) is webhook_deliveries_drain_task]
    assert len(drains) == 1


def test_a_5xx_is_retried_later_then_delivered_with_the_same_event_id(
    channel, subscribed, webhook_server
):
    webhook_server.answers = [503]
    order = _channel_order(channel, (ProductFactory(on_hand=0), 1))
    line_cancel(line=order.lines.get(), reason="changed their mind")
    now = timezone.now()

    assert webhook_deliveries_drain(now=now).retrying
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        State.PENDING,
        1,
        503,
    )
    assert delivery.next_attempt_at == now + dt.timedelta(seconds=30)
    # Not due yet: nothing is sent.
    assert webhook_deliveries_drain(now=now + dt.timedelta(seconds=29)).claimed == 0

    assert webhook_deliveries_drain(now=now + dt.timedelta(seconds=31)).delivered
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (
        State.DELIVERED,
        2,
        200,
    )
    assert webhook_server.event_ids == [str(delivery.event_id)] * 2


@pytest.mark.parametrize(
    ("status", "state"), [(301, State.FAILED), (410, State.FAILED), (429, State.PENDING)]
)
def test_a_3xx_or_4xx_fails_for_good_except_408_and_429(
    channel, subscribed, webhook_server, status, state
):
    webhook_server.answers = [status]
    order = _channel_order(channel, (ProductFactory(on_hand=0), 1))
    line_cancel(line=order.lines.get(), reason="changed their mind")

    webhook_deliveries_drain()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.last_status_code) == (state, status)
    assert f"HTTP {status}" in delivery.last_error


def test_a_refused_connection_is_retried_and_the_last_attempt_fails(channel, subscribed, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    WebhookSubscription.objects.update(url=f"http://127.0.0.1:{closed_port}/hooks")
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    order = _channel_order(channel, (ProductFactory(on_hand=0), 1))
    line_cancel(line=order.lines.get(), reason="changed their mind")
    now = timezone.now()

    webhook_deliveries_drain(now=now)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == State.PENDING
    assert delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error

    webhook_deliveries_drain(now=now + dt.timedelta(minutes=5))
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.FAILED, 2)


def test_the_sweep_sends_a_row_whose_worker_died_mid_send(channel, subscribed, webhook_server):
    order = _channel_order(channel, (ProductFactory(on_hand=0), 1))
    line_cancel(line=order.lines.get(), reason="changed their mind")
    now = timezone.now()
    # A worker claimed it, then died before recording the outcome.
    WebhookDelivery.objects.update(state=State.SENDING, attempts=1, updated_at=now)

    assert webhook_deliveries_sweep(now=now + dt.timedelta(minutes=1)).claimed == 0
    assert webhook_server.received == []

    result = webhook_deliveries_sweep(now=now + dt.timedelta(minutes=6))

    delivery = WebhookDelivery.objects.get()
    assert result.delivered == [delivery.pk]
    assert (delivery.state, delivery.attempts) == (State.DELIVERED, 2)
    assert webhook_server.event_ids == [str(delivery.event_id)]


def test_the_sweep_sends_a_pending_row_whose_drain_was_never_published(
    channel, subscribed, webhook_server
):
    order = _channel_order(channel, (ProductFactory(on_hand=0), 1))
    line_cancel(line=order.lines.get(), reason="changed their mind")  # on_commit never ran

    webhook_deliveries_sweep()

    assert WebhookDelivery.objects.get().state == State.DELIVERED
    assert len(webhook_server.received) == 1


def test_resend_queues_the_same_event_again(channel, subscribed, webhook_server):
    order = _channel_order(channel, (ProductFactory(on_hand=0), 1))
    line_cancel(line=order.lines.get(), reason="changed their mind")
    webhook_deliveries_drain()
    delivery = WebhookDelivery.objects.get()

    webhook_delivery_resend(delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.state == State.PENDING
    webhook_deliveries_drain()

    assert WebhookDelivery.objects.count() == 1
    first, second = (json.loads(r.body) for r in webhook_server.received)
    assert first == second
    assert webhook_server.event_ids == [str(delivery.event_id)] * 2


def test_resend_of_a_queued_event_is_refused(channel, subscribed):
    order = _channel_order(channel, (ProductFactory(on_hand=0), 1))
    line_cancel(line=order.lines.get(), reason="changed their mind")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="already queued"):
        webhook_delivery_resend(delivery=WebhookDelivery.objects.get())

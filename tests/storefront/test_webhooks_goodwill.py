"""goodwill.granted: the store hears of each gesture (the discount code its checkout must
accept) in the grant's transaction, from the hourly rules and from staff alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orders.models import GoodwillGrant, GoodwillRule, Order
from orders.services import goodwill_apply, goodwill_grant
from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from storefront.webhooks import webhook_deliveries_drain
from tests.factories import ProductFactory, place_order, staff_in
from tests.orders.test_goodwill import MONDAY, at, credit_rule
from tests.storefront.test_webhooks import SECRET, _verify
from tests.storefront.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db

Gesture = GoodwillRule.Gesture


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def product():
    return ProductFactory(on_hand=0, unit_price=Decimal("80.00"))


@pytest.fixture
def subscribed(channel: SalesChannel, webhook_server: WebhookServer) -> WebhookSubscription:
    SalesChannel.objects.filter(pk=channel.pk).update(webhook_secret=SECRET)
    return WebhookSubscription.objects.create(
        channel=channel, url=webhook_server.url, event_types=["goodwill.granted"]
    )


def shop_order(
    product: Any, channel: SalesChannel | None, days_ago: int = 20, external_id: str = "SHOP-1001"
) -> Order:
    return place_order(
        (product, 1),
        placed_at=MONDAY - dt.timedelta(days=days_ago),
        channel=channel,
        external_id=external_id if channel else None,
    )


def granted() -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(event_type="goodwill.granted").order_by("pk"))


def test_the_hourly_rules_tell_the_store_the_code_it_must_accept(clock, product, subscribed):
    order = shop_order(product, subscribed.channel)
    credit_rule(gesture=Gesture.DISCOUNT_CODE, amount=Decimal("0"), discount_percent=10)

    [grant] = goodwill_apply(now=MONDAY)

    [delivery] = granted()
    assert (delivery.subscription, delivery.order_number) == (subscribed, order.number)
    assert delivery.payload == {
        "id": str(delivery.event_id),
        "type": "goodwill.granted",
        "created_at": "2026-11-02T17:00:00+00:00",
        "order": {"number": order.number, "external_id": "SHOP-1001"},
        "data": {
            "message": f"Goodwill (waiting longer than 10 days): {grant.customer_text}",
            "gesture": "discount_code",
            "value": "8.00",
            "currency": "USD",
            "discount_percent": 10,
            "code": grant.code,
            "granted_at": "2026-11-02T17:00:00+00:00",
            "reason": "waiting longer than 10 days",
        },
    }


def test_a_gesture_given_by_staff_is_told_too(clock, product, subscribed):
    order = shop_order(product, subscribed.channel, days_ago=0)
    manager = staff_in("Managers")

    goodwill_grant(order=order, rule=credit_rule(), actor=manager, now=at(1))

    [delivery] = granted()
    data = delivery.payload["data"]
    assert (data["gesture"], data["value"], data["code"], data["discount_percent"]) == (
        "store_credit",
        "10.00",
        "",
        None,
    )
    assert data["reason"] == f"given by {manager.get_username()}"
    assert data["granted_at"] == "2026-11-03T17:00:00+00:00"


def test_only_the_orders_channel_hears_of_it(clock, product, subscribed):
    other = SalesChannel.objects.create(name="Other shop")
    WebhookSubscription.objects.create(
        channel=other, url="https://other.example/hooks", event_types=["goodwill.granted"]
    )
    shop_order(product, None)  # typed in by staff: no channel, nobody to tell
    mine = shop_order(product, subscribed.channel)
    credit_rule()

    assert len(goodwill_apply(now=MONDAY)) == 2

    assert [(d.subscription, d.order_number) for d in granted()] == [(subscribed, mine.number)]


def test_a_rolled_back_grant_tells_nothing(clock, product, subscribed):
    shop_order(product, subscribed.channel)
    credit_rule()

    seen: list[int] = []

    def apply_then_fail() -> None:
        with transaction.atomic():
            goodwill_apply(now=MONDAY)
            seen.append(len(granted()))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        apply_then_fail()

    assert seen == [1]  # written with the grant...
    assert (GoodwillGrant.objects.count(), granted()) == (0, [])  # ...and gone with it


def test_a_grant_is_told_once_however_often_the_rules_run(clock, product, subscribed):
    shop_order(product, subscribed.channel)
    credit_rule()

    goodwill_apply(now=MONDAY)
    goodwill_apply(now=at(0, 1))

    assert len(granted()) == 1


def test_the_event_is_delivered_signed(clock, product, subscribed, webhook_server):
    order = shop_order(product, subscribed.channel)
    credit_rule()
    goodwill_apply(now=MONDAY)

    assert webhook_deliveries_drain().delivered == [granted()[0].pk]

    [received] = webhook_server.received
    assert received.headers["X-Backorder-Event-Type"] == "goodwill.granted"
    body = _verify(received.headers, received.body)
    assert (body["order"]["number"], body["data"]["value"]) == (order.number, "10.00")


def _queries(action: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries)


def test_telling_the_store_costs_one_insert_and_nothing_without_a_subscriber(
    clock, product, subscribed
):
    manager = staff_in("Managers")
    rule = credit_rule()
    orders = [
        shop_order(product, subscribed.channel, days_ago=0, external_id=f"SHOP-{n}")
        for n in range(3)
    ]

    def give(order: Order) -> int:
        return _queries(lambda: goodwill_grant(order=order, rule=rule, actor=manager, now=MONDAY))

    told = give(orders[0])
    WebhookSubscription.objects.filter(pk=subscribed.pk).update(event_types=["line.allocated"])
    not_wanted = give(orders[1])
    WebhookSubscription.objects.update(is_active=False)
    nobody = give(orders[2])

    # The subscriptions and the order were read for the timeline event before goodwill.granted
    # existed: the event adds the one insert of its delivery, and nothing when nobody wants it.
    assert (told - not_wanted, not_wanted - nobody) == (1, 1)
    assert len(granted()) == 1

"""waitlist.joined and waitlist.invited: the store hears of the demand for what it cannot sell,
in the transaction of the join or of the invitations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory.models import Product
from storefront.models import SalesChannel, WaitlistEntry, WebhookDelivery, WebhookSubscription
from storefront.waitlist.services import waitlist_invite_for_product, waitlist_join
from storefront.webhooks import webhook_deliveries_drain
from tests.factories import ProductFactory, receive
from tests.storefront.test_webhooks import SECRET, _verify
from tests.storefront.webhook_server import WebhookServer

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)
BOTH = ["waitlist.joined", "waitlist.invited"]


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lamp() -> Product:
    return ProductFactory(
        sku="LAMP-1", name="Desk Lamp", on_hand=0, backorder_policy=Product.BackorderPolicy.DENY
    )


@pytest.fixture
def subscribed(channel: SalesChannel, webhook_server: WebhookServer) -> WebhookSubscription:
    SalesChannel.objects.filter(pk=channel.pk).update(webhook_secret=SECRET)
    return WebhookSubscription.objects.create(
        channel=channel, url=webhook_server.url, event_types=BOTH
    )


@pytest.fixture
def other_shop() -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        channel=SalesChannel.objects.create(name="Other shop"),
        url="https://other.example/hooks",
        event_types=BOTH,
    )


def sent(event_type: str) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(event_type=event_type).order_by("pk"))


def test_a_storefronts_join_is_told_to_it_once_not_on_the_repeat(
    clock, api, lamp, subscribed, other_shop
):
    body = {"email": "Ann@Example.com", "product_url": "https://shop.example/lamp"}
    assert api.post("/api/v1/products/LAMP-1/waitlist/", body).status_code == 201
    assert api.post("/api/v1/products/LAMP-1/waitlist/", body).status_code == 200

    [delivery] = sent("waitlist.joined")
    assert (delivery.subscription, delivery.order_number) == (subscribed, "")
    assert delivery.payload == {
        "id": str(delivery.event_id),
        "type": "waitlist.joined",
        "created_at": "2026-11-02T15:00:00+00:00",
        "product": {"sku": "LAMP-1", "name": "Desk Lamp"},
        "data": {
            "email": "ann@example.com",
            "joined_at": "2026-11-02T15:00:00+00:00",
            "product_url": "https://shop.example/lamp",
        },
    }


def test_a_join_through_the_form_is_told_to_every_subscribed_channel(
    clock, lamp, subscribed, other_shop
):
    waitlist_join(product=lamp, email="bob@example.com")

    assert sorted(d.subscription.pk for d in sent("waitlist.joined")) == sorted(
        [subscribed.pk, other_shop.pk]
    )
    assert len({d.event_id for d in sent("waitlist.joined")}) == 1


def test_a_rolled_back_join_tells_nothing(clock, lamp, subscribed):
    seen: list[int] = []

    def join_then_fail() -> None:
        with transaction.atomic():
            waitlist_join(product=lamp, email="ann@example.com", channel=subscribed.channel)
            seen.append(len(sent("waitlist.joined")))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        join_then_fail()

    assert seen == [1]
    assert (WaitlistEntry.objects.count(), sent("waitlist.joined")) == (0, [])


def test_an_invitation_batch_is_one_event_per_channel_listing_whom_it_may_see(
    clock, lamp, subscribed, other_shop
):
    for email, channel in [
        ("ann@example.com", subscribed.channel),
        ("bob@example.com", None),
        ("cat@example.com", other_shop.channel),
        ("dan@example.com", subscribed.channel),
    ]:
        waitlist_join(product=lamp, email=email, channel=channel, product_url="https://s.example/l")
        clock.shift(dt.timedelta(minutes=1))
    receive(lamp, 3)

    result = waitlist_invite_for_product(product=lamp)
    waitlist_invite_for_product(product=lamp)  # again: nobody new is told

    assert [e.email for e in result.invited] == [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
    ]
    mine, theirs = (
        [d for d in sent("waitlist.invited") if d.subscription == s]
        for s in (subscribed, other_shop)
    )
    assert [d.payload["data"] for d in mine] == [
        {
            "invited_at": "2026-11-02T15:04:00+00:00",
            "shoppers": [
                {
                    "email": "ann@example.com",
                    "joined_at": "2026-11-02T15:00:00+00:00",
                    "product_url": "https://s.example/l",
                },
                {
                    "email": "bob@example.com",
                    "joined_at": "2026-11-02T15:01:00+00:00",
                    "product_url": "https://s.example/l",
                },
            ],
        }
    ]
    assert mine[0].payload["product"] == {"sku": "LAMP-1", "name": "Desk Lamp"}
    assert [[s["email"] for s in d.payload["data"]["shoppers"]] for d in theirs] == [
        ["bob@example.com", "cat@example.com"]
    ]
    assert mine[0].event_id != theirs[0].event_id


def test_rolled_back_invitations_tell_nothing(clock, lamp, subscribed):
    waitlist_join(product=lamp, email="ann@example.com")
    receive(lamp, 1)
    seen: list[int] = []

    def invite_then_fail() -> None:
        with transaction.atomic():
            waitlist_invite_for_product(product=lamp)
            seen.append(len(sent("waitlist.invited")))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        invite_then_fail()

    assert seen == [1]
    assert sent("waitlist.invited") == []
    assert WaitlistEntry.objects.get().invited_at is None


def test_the_events_are_delivered_signed(clock, lamp, subscribed, webhook_server):
    waitlist_join(product=lamp, email="ann@example.com", channel=subscribed.channel)
    receive(lamp, 1)
    waitlist_invite_for_product(product=lamp)

    assert len(webhook_deliveries_drain().delivered) == 2

    bodies = [_verify(r.headers, r.body) for r in webhook_server.received]
    assert [b["type"] for b in bodies] == ["waitlist.joined", "waitlist.invited"]
    assert bodies[1]["data"]["shoppers"][0]["email"] == "ann@example.com"


def _queries(action: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries)


def test_telling_the_store_costs_one_read_and_one_insert(clock, lamp, subscribed):
    def join(email: str) -> int:
        return _queries(lambda: waitlist_join(product=lamp, email=email))

    def invite() -> int:
        receive(lamp, 1)
        return _queries(lambda: waitlist_invite_for_product(product=lamp))

    told = (join("ann@example.com"), invite())
    WebhookSubscription.objects.filter(pk=subscribed.pk).update(event_types=["stock.changed"])
    not_wanted = (join("bob@example.com"), invite())

    # A join was five statements (savepoint, the address's entry, the product's check, the
    # insert, release): the subscriptions' read is added when nobody wants the event, and the
    # delivery's insert when one does. The invitations add the same two.
    assert not_wanted[0] == 6
    assert (told[0] - not_wanted[0], told[1] - not_wanted[1]) == (1, 1)
    assert len(sent("waitlist.joined")) == len(sent("waitlist.invited")) == 1

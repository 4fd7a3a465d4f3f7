"""Every answer a customer gives to a delay notice reaches the storefront as consent.answered."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from compliance.models import DelayNotice
from compliance.services import consent_answer, rule_run
from orders.models import Order
from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=10, tzinfo=NY)


@pytest.fixture
def notice(channel: SalesChannel) -> DelayNotice:
    """A channel's order whose lamp waits 40 days (a substitute is in stock): a notice is out."""
    WebhookSubscription.objects.create(
        channel=channel,
        url="https://shop.example/hooks",
        event_types=["consent.answered", "order.cancelled"],
    )
    with time_machine.travel(at("2026-01-05"), tick=False):
        spare = ProductFactory(sku="LAMP-2", on_hand=5, name="Silver lamp")
        lamp = ProductFactory(sku="LAMP-1", on_hand=0, lead_time_days=40, substitutes=[spare])
        order = place_order((lamp, 1))
        Order.objects.filter(pk=order.pk).update(channel=channel, external_id="SHOP-7")
        rule_run(order_ids=[order.pk])
    return DelayNotice.objects.get(order=order)


def answered(order_id: int) -> list[dict]:
    return [
        delivery.payload
        for delivery in WebhookDelivery.objects.filter(event_type="consent.answered").order_by("pk")
        if delivery.order_number == Order.objects.get(pk=order_id).number
    ]


@pytest.mark.parametrize("choice", ["wait_until", "wait_indefinitely", "cancel", "substitute"])
def test_each_answer_sends_consent_answered_with_the_choice(notice, choice):
    extra = {}
    if choice == "substitute":
        line = notice.order.lines.get()
        extra = {"substitute_sku": "LAMP-2", "line_id": line.pk}

    with time_machine.travel(at("2026-01-06"), tick=False):
        consent_answer(notice=notice, choice=choice, **extra)

    [payload] = answered(notice.order_id)
    assert payload["type"] == "consent.answered"
    assert payload["order"]["external_id"] == "SHOP-7"
    assert payload["data"]["choice"] == choice
    assert payload["data"]["notice"] == notice.pk


def test_cancelling_sends_the_answer_and_the_cancellation(notice):
    with time_machine.travel(at("2026-01-06"), tick=False):
        consent_answer(notice=notice, choice="cancel")

    types = set(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert types == {"consent.answered", "order.cancelled"}


def test_cancelling_after_agreeing_to_wait_whatever_the_date_is_a_second_answer(notice):
    with time_machine.travel(at("2026-01-06"), tick=False):
        consent_answer(notice=notice, choice="wait_indefinitely")
    with time_machine.travel(at("2026-01-20"), tick=False):
        consent_answer(notice=notice, choice="cancel")

    assert [p["data"]["choice"] for p in answered(notice.order_id)] == [
        "wait_indefinitely",
        "cancel",
    ]

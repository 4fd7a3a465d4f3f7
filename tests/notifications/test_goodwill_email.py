"""A goodwill gesture is told in the customer's next email about the order, once, and the
grant records when."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from notifications.models import Notification
from notifications.services import notification_send
from orders.models import GoodwillRule
from orders.services import goodwill_apply, goodwill_rule_create
from tests.factories import ProductFactory, place_order, receive

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)
Kind = Notification.Kind
THANKS = "As thanks for waiting: $10.00 store credit."


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def send(notification: Notification) -> Notification:
    notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.state == Notification.State.SENT
    return notification


def test_the_next_email_tells_the_gesture_once_and_records_when(clock):
    phone, case = ProductFactory(on_hand=0), ProductFactory(on_hand=0)
    order = place_order((phone, 1), (case, 1))
    confirmation = send(Notification.objects.get(order=order, kind=Kind.ORDER_CONFIRMATION))
    goodwill_rule_create(
        name="Ten days",
        trigger=GoodwillRule.Trigger.LONG_WAIT,
        wait_days=10,
        gesture=GoodwillRule.Gesture.STORE_CREDIT,
        amount=Decimal("10.00"),
        monthly_budget=Decimal("100.00"),
    )
    clock.move_to(MONDAY + dt.timedelta(days=12))
    [grant] = goodwill_apply()

    receive(phone, 1)  # one of the two items arrives: the customer hears of it
    clock.shift(dt.timedelta(minutes=5))
    first = send(Notification.objects.get(order=order, kind=Kind.ITEMS_ALLOCATED))
    receive(case, 1)  # then the other: no second mention
    second = send(
        Notification.objects.filter(order=order, kind=Kind.ITEMS_ALLOCATED).order_by("pk").last()
    )
    grant.refresh_from_db()

    assert THANKS not in confirmation.body_text
    assert first.body_text.count(THANKS) == 1
    assert "As thanks for waiting:</strong> $10.00 store credit." in first.body_html
    assert second.pk != first.pk
    assert "thanks for waiting" not in second.body_text
    assert grant.told_at == MONDAY + dt.timedelta(days=12, minutes=5)
    assert sum(m.body.count("As thanks for waiting") for m in mail.outbox) == 1


def test_a_gesture_waits_for_an_email_and_staff_emails_never_carry_it(clock, settings):
    settings.STAFF_BACKORDER_ALERTS = True
    settings.STAFF_NOTIFICATION_EMAILS = ["ops@shop.example"]
    product = ProductFactory(on_hand=0)
    order = place_order((product, 1), placed_at=MONDAY - dt.timedelta(days=20))
    goodwill_rule_create(
        name="Upgrade",
        trigger=GoodwillRule.Trigger.LONG_WAIT,
        wait_days=10,
        gesture=GoodwillRule.Gesture.SHIPPING_UPGRADE,
        amount=Decimal("7.00"),
        monthly_budget=Decimal("100.00"),
    )
    [grant] = goodwill_apply()
    staff = send(Notification.objects.get(order=order, kind=Kind.STAFF_BACKORDER_ALERT))
    assert "thanks for waiting" not in staff.body_text
    grant.refresh_from_db()
    assert grant.told_at is None

    confirmation = send(Notification.objects.get(order=order, kind=Kind.ORDER_CONFIRMATION))

    assert "As thanks for waiting: a free upgrade to express shipping." in confirmation.body_text

"""Goodwill on long waits: which waiting orders earn a gesture, once each, within the month's
budget (store time), and what the timeline records."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from inventory.models import PurchaseOrderLine
from inventory.services import PurchaseLineRequest, supplier_create
from orders.goodwill.selectors import goodwill_budget_used, goodwill_rules_usage
from orders.models import GoodwillGrant, GoodwillRule, Order, OrderEvent
from orders.services import (
    goodwill_apply,
    goodwill_rule_create,
    goodwill_rule_update,
    purchase_order_create,
    purchase_order_line_reschedule,
)
from orders.tasks import goodwill_apply_task
from storefront.models import SalesChannel
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db

# Monday 2 November 2026, noon in New York (the store's zone).
MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)
Gesture = GoodwillRule.Gesture
Trigger = GoodwillRule.Trigger


def at(days: int, hours: int = 0) -> dt.datetime:
    return MONDAY + dt.timedelta(days=days, hours=hours)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def product():
    return ProductFactory(on_hand=0)


def waiting_order(product, placed_days_ago: int = 0, **kwargs) -> Order:
    return place_order(
        (product, 1), placed_at=MONDAY - dt.timedelta(days=placed_days_ago), **kwargs
    )


def credit_rule(**kwargs) -> GoodwillRule:
    fields = {
        "name": "Ten days",
        "trigger": Trigger.LONG_WAIT,
        "wait_days": 10,
        "gesture": Gesture.STORE_CREDIT,
        "amount": Decimal("10.00"),
        "monthly_budget": Decimal("100.00"),
    } | kwargs
    return goodwill_rule_create(**fields)


def test_a_wait_longer_than_n_store_days_earns_the_gesture_and_a_timeline_event(clock, product):
    order = waiting_order(product)
    rule = credit_rule()

    assert goodwill_apply(now=at(10)) == []  # ten days: not longer than ten
    [grant] = goodwill_apply(now=at(11))

    assert (grant.order, grant.rule, grant.gesture, grant.value) == (
        order,
        rule,
        Gesture.STORE_CREDIT,
        Decimal("10.00"),
    )
    assert grant.told_at is None
    event = order.events.get(kind=OrderEvent.Kind.GOODWILL)
    assert event.message == "Goodwill (waiting longer than 10 days): $10.00 store credit"
    assert event.data["grant"] == grant.pk


def test_the_wait_is_counted_in_store_days(clock, product):
    # Placed 23:30 in New York on 1 November (04:30 UTC on the 2nd): a store date of the 1st.
    place_order((product, 1), placed_at=dt.datetime(2026, 11, 2, 4, 30, tzinfo=dt.UTC))
    credit_rule(wait_days=3)

    # 5 November, 21:00 in New York (02:00 UTC on the 6th): four store days after the 1st.
    assert len(goodwill_apply(now=dt.datetime(2026, 11, 6, 2, 0, tzinfo=dt.UTC))) == 1


def test_orders_no_longer_waiting_earn_nothing(clock):
    in_stock = ProductFactory(on_hand=5)
    place_order((in_stock, 1), placed_at=at(-30))
    credit_rule()

    assert goodwill_apply(now=MONDAY) == []


def test_an_order_gets_one_gesture_however_many_rules_and_runs(clock, product):
    order = waiting_order(product, placed_days_ago=20)
    credit_rule()
    credit_rule(name="Five days", wait_days=5, gesture=Gesture.SHIPPING_UPGRADE)

    assert len(goodwill_apply(now=MONDAY)) == 1
    assert goodwill_apply(now=at(1)) == []
    assert GoodwillGrant.objects.filter(order=order).count() == 1
    assert order.events.filter(kind=OrderEvent.Kind.GOODWILL).count() == 1


def test_the_monthly_budget_stops_grants_and_a_new_store_month_restores_it(clock, product):
    oldest, middle, newest = (waiting_order(product, placed_days_ago=d) for d in (40, 35, 30))
    rule = credit_rule(monthly_budget=Decimal("25.00"))

    granted = goodwill_apply(now=at(1))

    assert [g.order for g in granted] == [oldest, middle]  # the longest waits first
    assert goodwill_budget_used(now=at(1)) == Decimal("20.00")
    # 30 November, 22:00 in New York is 1 December in UTC: still November's budget.
    assert goodwill_apply(now=dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)) == []
    [december] = goodwill_apply(now=dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC))
    assert december.order == newest
    [usage] = goodwill_rules_usage(now=dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC))
    assert (usage.rule, usage.used, usage.grants, usage.left) == (
        rule,
        Decimal("10.00"),
        1,
        Decimal("15.00"),
    )


def test_an_eta_moved_later_earns_the_gesture_a_first_or_earlier_date_does_not(clock, product):
    supplier = supplier_create(name="Acme", lead_time_days=14)
    purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(product, 5, MONDAY.date() + dt.timedelta(days=10))],
        send=True,
    )
    order = waiting_order(product)
    goodwill_rule_create(
        name="Slipped",
        trigger=Trigger.ETA_MOVED,
        wait_days=7,  # ignored by this trigger
        gesture=Gesture.SHIPPING_UPGRADE,
        amount=Decimal("6.50"),
        monthly_budget=Decimal("50"),
    )
    line = PurchaseOrderLine.objects.get(product=product)
    purchase_order_line_reschedule(
        line=line, expected_date=MONDAY.date() + dt.timedelta(days=5), reason="Early"
    )
    assert goodwill_apply(now=at(1)) == []

    purchase_order_line_reschedule(
        line=line, expected_date=MONDAY.date() + dt.timedelta(days=20), reason="Supplier late"
    )
    [grant] = goodwill_apply(now=at(1))

    assert (grant.order, grant.value, grant.reason) == (order, Decimal("6.50"), "ETA moved later")
    assert grant.customer_text == "a free upgrade to express shipping"
    assert GoodwillRule.objects.get().wait_days is None


def test_a_discount_code_is_unique_and_a_percentage_counts_its_share_of_the_order(clock):
    product = ProductFactory(on_hand=0, unit_price=Decimal("80.00"))
    first = place_order((product, 1), placed_at=at(-20))
    place_order((product, 2), placed_at=at(-19))
    credit_rule(gesture=Gesture.DISCOUNT_CODE, amount=Decimal("0"), discount_percent=10)

    grants = goodwill_apply(now=MONDAY)

    assert [g.value for g in grants] == [Decimal("8.00"), Decimal("16.00")]
    assert all(re.fullmatch(r"THANKS-[A-Z2-9]{6}", g.code) for g in grants)
    assert grants[0].code != grants[1].code
    assert grants[0].order == first
    assert grants[0].customer_text == f"code {grants[0].code} for 10% off your next order"


def test_a_rule_for_one_channel_leaves_other_orders_alone(clock, product):
    shop = SalesChannel.objects.create(name="Shopify store")
    from_shop = waiting_order(product, placed_days_ago=20, channel=shop)
    waiting_order(product, placed_days_ago=20)
    credit_rule(channel=shop)

    assert [g.order for g in goodwill_apply(now=MONDAY)] == [from_shop]


def test_inactive_rules_grant_nothing(clock, product):
    waiting_order(product, placed_days_ago=20)
    rule = credit_rule()
    goodwill_rule_update(rule=rule, is_active=False)

    assert goodwill_apply(now=MONDAY) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"wait_days": None}, "wait_days"),
        ({"amount": Decimal("0")}, "amount"),
        ({"gesture": Gesture.DISCOUNT_CODE, "amount": Decimal("0")}, "amount"),
        ({"monthly_budget": Decimal("-1")}, "monthly_budget"),
    ],
)
def test_a_rule_that_cannot_work_is_refused(fields, field):
    with pytest.raises(ValidationError) as refused:
        credit_rule(**fields)

    assert field in refused.value.message_dict
    assert not GoodwillRule.objects.exists()


def test_the_hourly_task_applies_the_rules(clock, product):
    waiting_order(product, placed_days_ago=20)
    credit_rule()

    assert goodwill_apply_task.delay().get() == 1


def test_beat_applies_the_rules_every_hour():
    from django.conf import settings

    from config import celery_app

    entry = settings.CELERY_BEAT_SCHEDULE["goodwill"]
    assert entry["task"] == goodwill_apply_task.name
    assert entry["task"] in celery_app.tasks

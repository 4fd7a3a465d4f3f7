"""Goodwill given by hand from the order page: one gesture per order, by an active rule, within
its budget for the month, to an order still waiting; the timeline says who gave it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from orders.goodwill.selectors import goodwill_budget_used
from orders.models import GoodwillGrant, GoodwillRule, Order, OrderEvent
from orders.services import goodwill_apply, goodwill_grant, goodwill_rule_update
from tests.factories import ProductFactory, place_order, staff_in
from tests.orders.test_goodwill import MONDAY, at, credit_rule, waiting_order

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
def manager():
    return staff_in("Managers")


def refusal(**kwargs) -> str:
    with pytest.raises(ValidationError) as refused:
        goodwill_grant(**kwargs)
    return " ".join(refused.value.messages)


def test_a_manager_gives_the_gesture_and_the_timeline_says_who(clock, product, manager):
    order = waiting_order(product)  # placed today: by hand, no wait is too short
    rule = credit_rule()

    grant = goodwill_grant(order=order, rule=rule, actor=manager, now=at(1))

    assert (grant.order, grant.rule, grant.gesture, grant.value, grant.granted_at) == (
        order,
        rule,
        Gesture.STORE_CREDIT,
        Decimal("10.00"),
        at(1),
    )
    assert grant.reason == f"given by {manager.get_username()}"
    assert grant.told_at is None  # the next email tells the customer
    event = order.events.get(kind=OrderEvent.Kind.GOODWILL)
    assert event.actor == manager
    assert event.message == f"Goodwill (given by {manager.get_username()}): $10.00 store credit"
    assert event.data["grant"] == grant.pk
    assert goodwill_budget_used(now=at(1), rule_id=rule.pk) == Decimal("10.00")


def test_a_percentage_off_costs_its_share_of_the_order_and_gets_a_code(clock, product, manager):
    order = waiting_order(product)
    rule = credit_rule(name="Sorry", gesture=Gesture.DISCOUNT_CODE, discount_percent=15)

    grant = goodwill_grant(order=order, rule=rule, actor=manager)

    assert grant.value == Decimal("12.00")  # 15% of $80.00
    assert grant.code.startswith("THANKS-")
    assert grant.granted_at == MONDAY


def test_an_order_already_given_goodwill_is_refused_with_what_it_got(clock, product, manager):
    order = waiting_order(product, placed_days_ago=20)
    rule = credit_rule()
    goodwill_apply(now=MONDAY)

    message = refusal(order=order, rule=credit_rule(name="Other"), actor=manager, now=at(1))

    assert message == (
        f"{order.number} already received goodwill on 2 Nov 2026: $10.00 store credit."
    )
    assert GoodwillGrant.objects.get(order=order).rule == rule
    assert order.events.filter(kind=OrderEvent.Kind.GOODWILL).count() == 1


def test_giving_twice_gives_once(clock, product, manager):
    order = waiting_order(product)
    rule = credit_rule()
    goodwill_grant(order=order, rule=rule, actor=manager)

    assert "already received goodwill" in refusal(order=order, rule=rule, actor=manager)
    assert GoodwillGrant.objects.filter(order=order).count() == 1


def test_a_gesture_beyond_the_budget_left_this_month_is_refused(clock, product, manager):
    waiting_order(product, placed_days_ago=20)
    order = waiting_order(product)
    rule = credit_rule(monthly_budget=Decimal("15.00"))
    goodwill_apply(now=MONDAY)  # the older order: $10 of $15

    message = refusal(order=order, rule=rule, actor=manager, now=at(1))

    assert message == (
        "The rule “Ten days” has $5.00 left of this month's budget; this gesture costs $10.00."
    )
    assert not GoodwillGrant.objects.filter(order=order).exists()
    # A new calendar month (store time) brings a new budget.
    december = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
    assert goodwill_grant(order=order, rule=rule, actor=manager, now=december).value == 10


def test_an_inactive_rule_gives_nothing(clock, product, manager):
    order = waiting_order(product)
    rule = goodwill_rule_update(rule=credit_rule(), is_active=False)

    assert refusal(order=order, rule=rule, actor=manager) == (
        "The goodwill rule “Ten days” is not active."
    )
    assert not GoodwillGrant.objects.exists()


def test_an_order_with_nothing_waiting_gets_nothing(clock, manager):
    order: Order = place_order((ProductFactory(on_hand=5), 1))
    rule = credit_rule()

    assert refusal(order=order, rule=rule, actor=manager) == (
        f"Nothing is waiting on {order.number}: goodwill is for customers who wait."
    )
    assert not order.events.filter(kind=OrderEvent.Kind.GOODWILL).exists()

"""Edges of the Mail Order Rule (16 CFR 435) and of the engine that applies it, on a fixed
clock in the store's time zone, in the style of test_rule.py (whose helpers this reuses)."""

from __future__ import annotations

import datetime as dt

import pytest

from compliance.models import OrderCompliance
from compliance.services import rule_run
from orders.models import Order, OrderEvent
from tests.compliance.test_rule import date, lamp, on, order_for, rule, supply

pytestmark = pytest.mark.django_db

State = OrderCompliance.State


# --- one bad order never stops the engine ------------------------------------------------------


def test_one_order_that_breaks_the_engine_does_not_stop_the_run():
    with on("2026-01-05", 9):
        product = lamp()
        supply(product, "2026-03-20")
        no_date_yet = lamp(name="Floor Lamp")
    with on("2026-01-05"):
        bad = order_for((no_date_yet, 1))
        good = order_for((product, 1))
    # A ship-by date at the end of the calendar (typed before input had bounds); the item has
    # no date, so the engine looks 30 days past it, beyond the last date there is.
    Order.objects.filter(pk=bad.pk).update(promised_ship_date=dt.date.max)

    with on("2026-01-30"):
        assert rule_run(order_ids=[bad.pk, good.pk]) == 2

    # The good order was evaluated after the bad one failed: it got its deadline and notice.
    compliance = rule(good)
    assert compliance.deadline == date("2026-02-04")
    assert compliance.state == State.NOTICE_SENT
    # The bad one's failure is on its record, for staff to see.
    [failure] = OrderEvent.objects.filter(
        order=bad, kind=OrderEvent.Kind.MAIL_ORDER_RULE, data__failure__isnull=False
    )
    assert failure.message.startswith("The Mail Order Rule could not be applied to this order")
    assert "OverflowError" in failure.data["failure"]
    assert not OrderCompliance.objects.filter(order=bad, deadline__isnull=False).exists()

    # The next run records the same failure once, not once an hour.
    with on("2026-01-30", 11):
        rule_run(order_ids=[bad.pk, good.pk])
    assert OrderEvent.objects.filter(order=bad, data__failure__isnull=False).count() == 1

"""Edges of the Mail Order Rule (16 CFR 435) and of the engine that applies it, on a fixed
clock in the store's time zone, in the style of test_rule.py (whose helpers this reuses)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from compliance.models import DelayNotice, OrderCompliance
from compliance.services import rule_run
from orders.models import Order, OrderEvent, Refund
from orders.services import LineRequest, order_place, shipment_create
from tests.compliance.test_rule import date, lamp, on, order_for, rule, supply
from tests.factories import CustomerFactory

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


# --- exemptions per line: later issues of a subscription ------------------------------------


def _subscription_order(*, first_issue_waits: bool) -> Order:
    customer = CustomerFactory(email="jane@example.com", name="Jane Doe")
    issue_one = lamp(
        sku="MAG-1", name="Garden Monthly, issue 1", on_hand=0 if first_issue_waits else 1
    )
    issue_two = lamp(sku="MAG-2", name="Garden Monthly, issue 2")
    return order_place(
        customer_email=customer.email,
        lines=[
            LineRequest(sku=issue_one.sku, quantity=1),
            LineRequest(sku=issue_two.sku, quantity=1, later_subscription_issue=True),
        ],
    )


def test_a_later_subscription_issue_is_exempt_while_the_first_issue_stays_covered():
    with on("2026-01-05"):
        order = _subscription_order(first_issue_waits=False)
        rule_run()
    with on("2026-01-06"):
        shipment_create(order=order)
    with on("2026-03-10"):
        rule_run()

    # The first issue shipped; issue 2 (no date yet) never made the order late.
    assert rule(order).state == State.SHIPPED
    assert not DelayNotice.objects.filter(order=order).exists()
    assert order.lines.get(product__sku="MAG-2").quantity_backordered == 1
    assert not Refund.objects.filter(order=order).exists()


def test_the_first_issue_of_a_subscription_is_covered():
    with on("2026-01-05"):
        order = _subscription_order(first_issue_waits=True)
        rule_run()
    # Issue 1 has no date: the customer is told about issue 1, and only about it.
    notice = DelayNotice.objects.get(order=order)
    assert notice.delay_reason.startswith("Garden Monthly, issue 1:")
    assert "issue 2" not in notice.delay_reason
    with on("2026-03-07", 0, 30):
        rule_run()

    # No answer by T + 30: issue 1 is cancelled under the rule; issue 2 still waits.
    assert rule(order).state == State.CANCELLED
    assert order.lines.get(product__sku="MAG-1").quantity_cancelled == 1
    assert order.lines.get(product__sku="MAG-2").quantity_backordered == 1


def test_an_order_of_later_issues_only_is_exempt():
    with on("2026-01-05"):
        customer = CustomerFactory()
        issue = lamp(sku="MAG-3")
        order = order_place(
            customer_email=customer.email,
            lines=[{"sku": issue.sku, "quantity": 1, "later_subscription_issue": True}],
        )
        rule_run()

    assert rule(order).state == State.EXEMPT
    assert order.lines.get().later_subscription_issue is True


def test_later_subscription_issue_must_be_true_or_false():
    issue = lamp(sku="MAG-4")
    with pytest.raises(ValidationError, match="later_subscription_issue must be true or false"):
        order_place(
            customer_email="jane@example.com",
            lines=[{"sku": issue.sku, "quantity": 1, "later_subscription_issue": "yes"}],
        )

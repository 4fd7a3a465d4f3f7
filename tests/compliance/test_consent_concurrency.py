"""A customer's click on the status page races staff shipping the same order, on PostgreSQL:
exactly one of them wins, the other is refused with a message, and nothing deadlocks."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from compliance.models import ConsentAnswer, DelayNotice, OrderCompliance
from compliance.services import consent_answer, order_cancel_before_shipment, rule_run
from orders.models import Order, Refund
from orders.selectors import invariant_violations
from orders.services import shipment_create
from tests.factories import ProductFactory, place_order, receive
from tests.orders.test_concurrency import Outcomes, run_clients

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 12


def orders_in_stock_after_a_notice(count: int) -> list[Order]:
    """Orders whose (branch L) notice went out, then whose stock arrived: ready to ship, and
    the customer may still cancel before it ships. Each order has two products, so shipping
    and cancelling both lock several stock rows."""
    orders = []
    for _ in range(count):
        lamp = ProductFactory(unit_price=Decimal("40.00"), on_hand=0, lead_time_days=None)
        shade = ProductFactory(unit_price=Decimal("10.00"), on_hand=0, lead_time_days=None)
        order = place_order((lamp, 1), (shade, 2))
        rule_run(order_ids=[order.pk])
        receive(lamp, 1)
        receive(shade, 2)
        rule_run(order_ids=[order.pk])
        orders.append(order)
    return orders


def race(order: Order, customer, outcomes: Outcomes) -> None:
    def client(index: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        if index == 0:
            outcomes.call("customer", customer)
        else:
            outcomes.call("ship", lambda: shipment_create(order=order, carrier="UPS"))

    run_clients(2, client)


def assert_one_winner(order: Order, outcomes: Outcomes) -> None:
    order.refresh_from_db()
    line_totals = [(line.quantity_shipped, line.quantity_cancelled) for line in order.lines.all()]
    shipped = all(cancelled == 0 and shipped > 0 for shipped, cancelled in line_totals)
    cancelled = all(shipped == 0 and cancelled > 0 for shipped, cancelled in line_totals)
    assert shipped != cancelled, line_totals
    assert Refund.objects.filter(order=order).exists() == cancelled
    state = OrderCompliance.objects.get(order=order).state
    assert state == (
        OrderCompliance.State.CANCELLED if cancelled else OrderCompliance.State.SHIPPED
    )


def test_cancel_before_it_ships_races_shipping_and_one_wins():
    orders = orders_in_stock_after_a_notice(ROUNDS)
    outcomes = Outcomes()

    for order in orders:
        race(order, lambda order=order: order_cancel_before_shipment(order_id=order.pk), outcomes)
        rule_run(order_ids=[order.pk])
        assert_one_winner(order, outcomes)

    assert outcomes.unexpected == []
    assert outcomes.counts["customer"] + outcomes.counts["ship"] == ROUNDS
    assert outcomes.counts["customer refused"] + outcomes.counts["ship refused"] == ROUNDS
    assert invariant_violations() == []


def test_an_answer_to_the_notice_races_shipping_and_one_wins():
    orders = []
    for _ in range(ROUNDS):
        lamp = ProductFactory(unit_price=Decimal("40.00"), on_hand=0, lead_time_days=None)
        shade = ProductFactory(unit_price=Decimal("10.00"), on_hand=1, lead_time_days=None)
        order = place_order((lamp, 1), (shade, 1))
        rule_run(order_ids=[order.pk])
        orders.append(order)
    outcomes = Outcomes()

    for order in orders:
        notice = DelayNotice.objects.get(order=order)
        race(order, lambda notice=notice: consent_answer(notice=notice, choice="cancel"), outcomes)

    # Staff ship the shade in stock; the customer cancels what has not shipped. Both may win,
    # in either order: nothing deadlocks, and what shipped is never cancelled.
    assert outcomes.unexpected == []
    assert outcomes.counts["customer"] == ROUNDS
    assert ConsentAnswer.objects.count() == ROUNDS
    for order in orders:
        for line in order.lines.all():
            assert line.quantity_shipped + line.quantity_cancelled == line.quantity
    assert invariant_violations() == []

"""The rule engine cancels orders at their deadline while staff ship and receive the same
products, on PostgreSQL: the engine takes the stock rows before the order, as shipping and
receiving do, so nothing deadlocks and every unit ends up shipped or cancelled, once."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance.models import OrderCompliance
from compliance.services import order_rule_evaluate
from inventory.models import Product
from orders.models import Order, Refund
from orders.selectors import invariant_violations
from orders.services import shipment_create
from tests.factories import ProductFactory, place_order, receive
from tests.orders.test_concurrency import Outcomes, run_clients

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 12
# Far past any deadline, consent window or renewal the engine could have set for these orders.
LONG_AFTER = dt.timedelta(days=120)


def late_order() -> tuple[Order, Product, Product]:
    """An order with one product in stock (allocated, ready to ship) and one waiting for a
    delivery that has not been scheduled."""
    lamp = ProductFactory(unit_price=Decimal("40.00"), on_hand=1, lead_time_days=None)
    shade = ProductFactory(unit_price=Decimal("10.00"), on_hand=0, lead_time_days=None)
    return place_order((lamp, 1), (shade, 1)), lamp, shade


def test_the_engine_cancelling_at_the_deadline_races_shipping_and_receiving():
    rounds = [late_order() for _ in range(ROUNDS)]
    later = timezone.now() + LONG_AFTER
    outcomes = Outcomes()

    for order, _, shade in rounds:

        def client(index: int, barrier: threading.Barrier, order=order, shade=shade) -> None:
            barrier.wait()
            if index == 0:
                outcomes.call("engine", lambda: order_rule_evaluate(order_id=order.pk, now=later))
            elif index == 1:
                outcomes.call("ship", lambda: shipment_create(order=order, carrier="UPS"))
            else:
                outcomes.call("receive", lambda: receive(shade, 1))

        run_clients(3, client)

    assert outcomes.unexpected == []
    assert outcomes.counts["engine"] == ROUNDS
    assert outcomes.counts["receive"] == ROUNDS
    assert outcomes.counts["ship"] + outcomes.counts["ship refused"] == ROUNDS
    engine_cancelled = 0
    for order, _, _ in rounds:
        order.refresh_from_db()
        lines = list(order.lines.all())
        for line in lines:
            assert line.quantity_shipped + line.quantity_cancelled == line.quantity, line
        cancelled_any = any(line.quantity_cancelled for line in lines)
        engine_cancelled += cancelled_any
        assert Refund.objects.filter(order=order).exists() == cancelled_any
        assert OrderCompliance.objects.get(order=order).state in (
            OrderCompliance.State.CANCELLED,
            OrderCompliance.State.SHIPPED,
        )
    # Whatever did not ship in time was cancelled by the engine, with the refund owed.
    assert engine_cancelled >= ROUNDS - outcomes.counts["ship"]
    assert invariant_violations() == []


def test_the_engine_cancelling_a_discontinued_item_races_shipping_the_rest():
    rounds = []
    for _ in range(ROUNDS):
        order, lamp, shade = late_order()
        Product.objects.filter(pk=shade.pk).update(is_discontinued=True)
        rounds.append((order, lamp, shade))
    outcomes = Outcomes()

    for order, _, shade in rounds:

        def client(index: int, barrier: threading.Barrier, order=order, shade=shade) -> None:
            barrier.wait()
            if index == 0:
                outcomes.call("engine", lambda: order_rule_evaluate(order_id=order.pk))
            elif index == 1:
                outcomes.call("ship", lambda: shipment_create(order=order, carrier="UPS"))
            else:
                outcomes.call("receive", lambda: receive(shade, 1))

        run_clients(3, client)

    assert outcomes.unexpected == []
    assert outcomes.counts["engine"] == ROUNDS
    assert outcomes.counts["ship"] == ROUNDS  # the lamp in stock ships on time
    for order, lamp, shade in rounds:
        lamp_line = order.lines.get(product=lamp)
        assert lamp_line.quantity_shipped == 1
        shade_line = order.lines.get(product=shade)
        # Either the delivery reached the shade before the engine (and it shipped or waits
        # allocated), or the engine cancelled it as discontinued with the refund owed.
        assert shade_line.quantity_cancelled == Refund.objects.filter(order=order).count()
    assert invariant_violations() == []

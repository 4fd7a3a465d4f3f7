"""Order.holds_stock, stored by every service that changes a line's allocated units: set on
every order holding allocated units, cleared once it holds none (unless another product's
line still waits, which a concurrent allocation could be serving)."""

from functools import partial

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from config.calendar import store_today
from dashboard.shipping.selectors import ready_to_ship
from orders.models import Order, OrderLine
from orders.selectors import holds_stock_unflagged, invariant_violations
from orders.services import (
    Cancellation,
    allocation,
    fifo,
    line_cancel,
    line_substitute,
    lines_cancel_batch,
    order_cancel,
    product_allocate,
    shipment_create,
    stock_adjust,
    stock_receive,
    stock_receive_and_allocate,
)
from tests.factories import ProductFactory, place_order, receive

pytestmark = pytest.mark.django_db


def holds(*orders: Order) -> list[bool]:
    stored = dict(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("pk", "holds_stock")
    )
    return [stored[o.pk] for o in orders]


def test_placing_stores_whether_the_order_took_stock():
    lamp = ProductFactory(on_hand=1)
    served = place_order((lamp, 1))
    waiting = place_order((lamp, 2))

    assert holds(served, waiting) == [True, False]
    assert served.holds_stock is True
    assert invariant_violations() == []


def test_allocating_marks_the_orders_served():
    lamp = ProductFactory(on_hand=0)
    first, second, third = (place_order((lamp, 2)) for _ in range(3))

    receive(lamp, 3)

    assert holds(first, second, third) == [True, True, False]
    assert invariant_violations() == []


@pytest.mark.parametrize("set_based", [False, True], ids=["portable walk", "set-based"])
def test_both_allocation_paths_mark_the_orders_served(set_based, monkeypatch):
    if set_based and connection.vendor != "postgresql":
        pytest.skip("the set-based statement runs on PostgreSQL")
    monkeypatch.setattr(allocation, "hand_out", partial(fifo.hand_out, set_based=set_based))
    lamp = ProductFactory(on_hand=0)
    first, second, third = (place_order((lamp, 2)) for _ in range(3))
    stock_receive(product=lamp, quantity=3)

    result = product_allocate(product_id=lamp.pk)

    assert result.units_by_order == {first.pk: 2, second.pk: 1}
    assert holds(first, second, third) == [True, True, False]
    assert invariant_violations() == []


def test_receiving_against_the_queue_marks_the_orders_served():
    lamp = ProductFactory(on_hand=0)
    order = place_order((lamp, 1))

    result = stock_receive_and_allocate(product=lamp, quantity=1)

    assert result.allocation is not None
    assert result.allocation.units == 1
    assert holds(order) == [True]


def test_taking_stock_back_clears_orders_left_with_none():
    lamp = ProductFactory(on_hand=3)
    cable = ProductFactory(on_hand=5)
    bulb = ProductFactory(on_hand=0)
    only_lamp = place_order((lamp, 1))
    lamp_and_cable = place_order((lamp, 1), (cable, 1))
    lamp_and_bulb = place_order((lamp, 1), (bulb, 1))

    stock_adjust(product=lamp, quantity=-3, reason="Water damage")

    # The last one waits for bulbs, which another transaction could be handing out: it
    # stays flagged (the ship list checks its lines) until it ships or is cancelled.
    assert holds(only_lamp, lamp_and_cable, lamp_and_bulb) == [False, True, True]
    assert invariant_violations() == []


def test_shipping_everything_allocated_clears_the_fact_and_a_part_keeps_it():
    lamp = ProductFactory(on_hand=4)
    whole = place_order((lamp, 2))
    part = place_order((lamp, 2))
    line = part.lines.get()

    shipment_create(order=whole)
    shipment_create(order=part, quantities={line.pk: 1})

    assert holds(whole, part) == [False, True]
    assert invariant_violations() == []


def test_cancelling_clears_the_order_and_hands_its_units_on():
    lamp = ProductFactory(on_hand=2)
    cancelled = place_order((lamp, 2))
    waiting = place_order((lamp, 2))

    order_cancel(order=cancelled, reason="Changed mind")

    assert holds(cancelled, waiting) == [False, True]
    assert invariant_violations() == []


def test_cancelling_a_line_or_a_batch_keeps_orders_with_other_allocated_lines():
    lamp = ProductFactory(on_hand=5)
    cable = ProductFactory(on_hand=5)
    two_lines = place_order((lamp, 1), (cable, 1))
    one_line = place_order((lamp, 1))

    line_cancel(line=two_lines.lines.get(product=lamp), reason="Not needed")
    lines_cancel_batch(
        cancellations=[
            Cancellation(
                order_id=one_line.pk,
                quantities={one_line.lines.get().pk: 1},
                reason="Not needed",
                cause="customer",
            )
        ]
    )

    assert holds(two_lines, one_line) == [True, False]
    assert invariant_violations() == []


def test_cancelling_a_line_leaves_the_flag_while_another_products_line_waits():
    lamp = ProductFactory(on_hand=1)
    bulb = ProductFactory(on_hand=0)
    order = place_order((lamp, 1), (bulb, 1))

    line_cancel(line=order.lines.get(product=lamp), reason="Not needed")
    assert holds(order) == [True]
    assert ready_to_ship(today=store_today()).count() == 0

    order_cancel(order=order, reason="Changed mind")
    assert holds(order) == [False]


def test_a_substitute_from_stock_marks_the_order():
    lamp = ProductFactory(on_hand=0)
    other_lamp = ProductFactory(on_hand=3)
    order = place_order((lamp, 2))
    assert holds(order) == [False]

    line_substitute(line=order.lines.get(), substitute=other_lamp, reason="Customer agreed")

    assert holds(order) == [True]
    assert invariant_violations() == []


def test_allocating_again_changes_nothing():
    lamp = ProductFactory(on_hand=1)
    order = place_order((lamp, 1))

    product_allocate(product_id=lamp.pk)

    assert holds(order) == [True]
    assert holds_stock_unflagged() == []


def test_check_invariants_catches_an_order_holding_stock_unflagged(capsys):
    lamp = ProductFactory(on_hand=1)
    served = place_order((lamp, 1))
    Order.objects.filter(pk=served.pk).update(holds_stock=False)

    with pytest.raises(CommandError, match="1 invariant violation"):
        call_command("check_invariants")

    err = capsys.readouterr().err
    assert f"{served.number}: holds allocated units but is not flagged as holding stock." in err
    assert OrderLine.objects.filter(order=served, quantity_allocated=1).exists()

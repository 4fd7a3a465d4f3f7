"""The ship-by date stored on each order (what the lists sort, filter and count by) is always
its Mail Order Rule record's: after the engine sets a deadline, a supplier's date slips and a
notice goes out, the customer consents to the delay or cancels, and the order ships."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from compliance.models import ConsentAnswer, DelayNotice, OrderCompliance
from compliance.selectors import ship_by_date, ship_by_mismatches
from compliance.services import consent_answer, rule_run
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from notifications.services import notification_send
from orders.models import Order
from orders.services import (
    product_allocate,
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
    shipment_create,
)
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
State = OrderCompliance.State


@contextmanager
def on(day: str) -> Iterator[None]:
    """A step at 10:00 store time on `day`; the outbox then sends what is due."""
    moment = dt.datetime.fromisoformat(day).replace(hour=10, tzinfo=NY)
    with time_machine.travel(moment, tick=False):
        yield
        for pk in Notification.objects.filter(
            state=Notification.State.PENDING, send_after__lte=timezone.now()
        ).values_list("pk", flat=True):
            notification_send(notification_id=pk)


def stored(order: Order) -> dt.date | None:
    return Order.objects.values_list("ship_by", flat=True).get(pk=order.pk)


def assert_in_step(*orders: Order) -> None:
    """Each order's stored date is its rule record's, and no order anywhere disagrees."""
    for order in orders:
        assert stored(order) == ship_by_date(OrderCompliance.objects.get(order=order))
    assert ship_by_mismatches() == []
    call_command("check_invariants")


def test_the_stored_ship_by_date_follows_the_engine_a_delay_answer_and_a_reschedule():
    with on("2026-01-05"):
        lamp = ProductFactory(unit_price=Decimal("40.00"), on_hand=0, lead_time_days=None)
        po = purchase_order_create(
            supplier=supplier_create(name="Lamps Inc"),
            lines=[PurchaseLineRequest(lamp, 10, dt.date(2026, 1, 20))],
            send=True,
        )
        jane = place_order((lamp, 1), customer=CustomerFactory(email="jane@example.com"))
        ravi = place_order((lamp, 1), customer=CustomerFactory(email="ravi@example.com"))
        assert stored(jane) is None  # the engine has not seen it yet
        rule_run()
    # T: 30 days after payment.
    assert stored(jane) == stored(ravi) == dt.date(2026, 2, 4)
    assert_in_step(jane, ravi)

    po_line = po.lines.get()
    with on("2026-01-30"):
        purchase_order_line_reschedule(
            line=po_line, expected_date=dt.date(2026, 2, 19), reason="The supplier's ship is late"
        )
        rule_run()
    assert OrderCompliance.objects.get(order=jane).state == State.NOTICE_SENT
    assert_in_step(jane, ravi)

    with on("2026-01-31"):
        consent_answer(
            notice=DelayNotice.objects.get(order=jane), choice=ConsentAnswer.Choice.WAIT_UNTIL
        )
        consent_answer(
            notice=DelayNotice.objects.get(order=ravi), choice=ConsentAnswer.Choice.CANCEL
        )
    jane_rule = OrderCompliance.objects.get(order=jane)
    assert jane_rule.state == State.CONSENTED
    assert stored(jane) == jane_rule.consented_until > dt.date(2026, 2, 4)
    assert stored(ravi) is None  # cancelled: held to no date
    assert_in_step(jane, ravi)

    with on("2026-02-19"):
        purchase_order_line_receive(line=po_line, quantity=10)
        product_allocate(product_id=lamp.pk)
    with on("2026-02-20"):
        shipment_create(order=Order.objects.get(pk=jane.pk))
        rule_run()
    assert OrderCompliance.objects.get(order=jane).state == State.SHIPPED
    assert stored(jane) is None
    assert_in_step(jane, ravi)


def test_check_invariants_names_an_order_whose_stored_date_disagrees(capsys):
    lamp = ProductFactory(on_hand=0)
    order = place_order((lamp, 1))
    rule_run()
    Order.objects.filter(pk=order.pk).update(ship_by=dt.date(2030, 1, 1))

    with pytest.raises(CommandError, match="1 invariant violation"):
        call_command("check_invariants")

    deadline = OrderCompliance.objects.get(order=order).deadline
    assert (
        f"{order.number}: ship-by date stored as 2030-01-01 but its rule record says {deadline}."
        in capsys.readouterr().err
    )

"""Supplier reliability: every receipt against a purchase-order line is measured against the
date first promised, and a supplier's scorecard sums those measures up."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from inventory.models import PurchaseOrder, PurchaseReceipt
from inventory.selectors import supplier_scorecards
from inventory.services import PurchaseLineRequest, supplier_create
from orders.services import (
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
)
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

# Noon in New York: the store day and the UTC day agree.
MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def day(n: int) -> dt.date:
    return MONDAY.date() + dt.timedelta(days=n)


def on_day(clock, n: int) -> None:
    clock.move_to(MONDAY + dt.timedelta(days=n))


@pytest.fixture
def supplier():
    return supplier_create(name="Acme Lighting", email="orders@acme.example", lead_time_days=10)


def sent_line(supplier, expected: dt.date, quantity: int = 10):
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(ProductFactory(on_hand=0), quantity, expected)],
        send=True,
    )
    return po.lines.get()


def test_a_receipt_records_its_slip_against_the_first_promise_and_the_moves(clock, supplier):
    line = sent_line(supplier, day(10))
    on_day(clock, 3)
    purchase_order_line_reschedule(line=line, expected_date=day(14), reason="Factory closed")
    purchase_order_line_reschedule(line=line, expected_date=day(16), reason="Port strike")

    on_day(clock, 15)
    purchase_order_line_receive(line=line, quantity=4)
    on_day(clock, 17)
    purchase_order_line_receive(line=line, quantity=6)

    line.refresh_from_db()
    assert (line.promised_date, line.expected_date, line.reschedule_count) == (day(10), day(16), 2)
    receipts = list(
        PurchaseReceipt.objects.order_by("id").values_list(
            "quantity", "received_on", "slip_days", "slip_days_expected", "date_moves"
        )
    )
    # 5 days after the first promise but a day before the moved date; then 7 and 1 late.
    assert receipts == [(4, day(15), 5, -1, 2), (6, day(17), 7, 1, 2)]


def test_an_early_receipt_slips_negatively_and_a_refused_one_records_nothing(clock, supplier):
    line = sent_line(supplier, day(10), quantity=3)
    on_day(clock, 8)
    with pytest.raises(ValidationError, match="only 3"):
        purchase_order_line_receive(line=line, quantity=4)
    assert not PurchaseReceipt.objects.exists()

    purchase_order_line_receive(line=line, quantity=3)

    receipt = PurchaseReceipt.objects.get()
    assert (receipt.slip_days, receipt.on_time, receipt.supplier) == (-2, True, supplier)


def test_the_scorecard_sums_up_each_supplier_over_its_window(clock, supplier):
    supplier_create(name="Brightside", lead_time_days=7)
    # Acme: five lines promised on day 10, arriving 2 early, on time, 1, 3 and 9 days late.
    for slip in (-2, 0, 1, 3, 9):
        on_day(clock, 0)
        line = sent_line(supplier, day(10))
        if slip > 0:
            on_day(clock, 5)
            purchase_order_line_reschedule(line=line, expected_date=day(10 + slip), reason="Late")
        on_day(clock, 10 + slip)
        purchase_order_line_receive(line=line, quantity=10 if slip != 3 else 6)
    # A cancelled order counts in the fill rate: ordered, never received.
    on_day(clock, 0)
    cancelled = sent_line(supplier, day(12), quantity=20).purchase_order
    purchase_order_cancel(purchase_order=cancelled, reason="Supplier cannot confirm a date")
    # Still due later: not part of the fill rate yet.
    sent_line(supplier, day(60))
    on_day(clock, 20)

    acme, bright = supplier_scorecards(today=day(20))

    assert (acme.name, acme.receipts, acme.on_time_percent) == ("Acme Lighting", 5, 40)
    assert (acme.median_slip, acme.p90_slip) == (Decimal("1.0"), 9)
    # 46 of 70 units ordered on closed or due lines; 3 moves over 6 lines.
    assert (acme.units_received, acme.units_ordered, acme.fill_percent) == (46, 70, 66)
    assert acme.average_date_moves == Decimal("0.5")
    assert (bright.name, bright.receipts, bright.on_time_percent, bright.median_slip) == (
        "Brightside",
        0,
        None,
        None,
    )
    assert bright.fill_percent is None
    # Outside a 5-day window only the last receipt (day 19) remains.
    [windowed] = supplier_scorecards(today=day(20), days=5, supplier_ids=[supplier.pk])
    assert windowed.slips == (9,)
    assert PurchaseOrder.objects.get(pk=cancelled.pk).status == PurchaseOrder.Status.CANCELLED


def test_the_scorecard_reads_in_three_queries(clock, supplier, django_assert_num_queries):
    for n in range(4):
        line = sent_line(supplier_create(name=f"Supplier {n}"), day(2))
        on_day(clock, 2)
        purchase_order_line_receive(line=line, quantity=10)
        on_day(clock, 0)

    with django_assert_num_queries(3):
        cards = supplier_scorecards(today=day(5))

    assert [card.receipts for card in cards] == [0, 1, 1, 1, 1]

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from inventory.models import LowStockAlert, PurchaseOrder, Stock, StockMovement
from inventory.selectors import incoming_supply
from inventory.services import PurchaseLineRequest, supplier_create
from orders.selectors import product_replenishment, store_today
from orders.services import (
    low_stock_alerts_record,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_cancel,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
    purchase_order_send,
    purchase_orders_from_suggestions,
)
from tests.factories import ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def supplier():
    return supplier_create(name="Acme Lighting", email="orders@acme.example", lead_time_days=10)


def in_days(days: int) -> dt.date:
    return store_today() + dt.timedelta(days=days)


def test_a_draft_is_not_incoming_until_sent(supplier):
    lamp = ProductFactory()
    po = purchase_order_create(supplier=supplier, lines=[PurchaseLineRequest(lamp, 5, in_days(7))])
    assert (po.number, po.status) == (f"PO-{po.pk:06d}", "draft")
    assert incoming_supply(product_ids=[lamp.pk]) == {}

    purchase_order_send(purchase_order=po)

    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SENT
    assert po.sent_at is not None
    [supply] = incoming_supply(product_ids=[lamp.pk])[lamp.pk]
    assert (supply.quantity, supply.expected_date, supply.reference) == (5, in_days(7), po.number)
    with pytest.raises(ValidationError, match="not a draft"):
        purchase_order_send(purchase_order=po)


def test_receiving_partly_then_fully(supplier, django_capture_on_commit_callbacks):
    lamp = ProductFactory(on_hand=0)
    po = purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(lamp, 5, in_days(7))], send=True
    )
    line = po.lines.get()
    staff = UserFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        movement = purchase_order_line_receive(line=line, quantity=2, actor=staff)
    assert len(callbacks) == 1
    assert (movement.kind, movement.quantity, movement.reference, movement.created_by) == (
        "receipt",
        2,
        po.number,
        staff,
    )
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.PARTIALLY_RECEIVED
    assert incoming_supply(product_ids=[lamp.pk])[lamp.pk][0].quantity == 3

    purchase_order_line_receive(line=line, quantity=3)
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.RECEIVED
    assert Stock.objects.get(pk=lamp.pk).on_hand == 5
    assert incoming_supply(product_ids=[lamp.pk]) == {}


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (6, "only 5 of .* outstanding; cannot receive 6"),
        (0, "whole number above zero"),
        (-2, "whole number above zero"),
    ],
)
def test_bad_receipts_are_refused_and_change_nothing(supplier, quantity, message):
    lamp = ProductFactory(on_hand=1)
    po = purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(lamp, 5, in_days(7))], send=True
    )
    with pytest.raises(ValidationError, match=message):
        purchase_order_line_receive(line=po.lines.get(), quantity=quantity)
    assert Stock.objects.get(pk=lamp.pk).on_hand == 1
    assert po.lines.get().quantity_received == 0
    assert StockMovement.objects.filter(product=lamp).count() == 1


def test_receiving_on_a_cancelled_or_draft_po_is_refused(supplier):
    lamp = ProductFactory()
    draft = purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(lamp, 2, in_days(3))]
    )
    with pytest.raises(ValidationError, match="is a draft"):
        purchase_order_line_receive(line=draft.lines.get(), quantity=1)

    sent = purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(lamp, 2, in_days(3))], send=True
    )
    purchase_order_cancel(purchase_order=sent, reason="Ordered by mistake")
    sent.refresh_from_db()
    assert sent.status == PurchaseOrder.Status.CANCELLED
    with pytest.raises(ValidationError, match="is cancelled; receive without a PO instead"):
        purchase_order_line_receive(line=sent.lines.get(), quantity=1)


def test_cancelling_a_partly_received_po_keeps_what_arrived(supplier):
    lamp, desk = ProductFactory(), ProductFactory()
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(lamp, 4, in_days(3)), PurchaseLineRequest(desk, 2, in_days(3))],
        send=True,
    )
    purchase_order_line_receive(line=po.lines.get(product=lamp), quantity=1)

    purchase_order_cancel(purchase_order=po, reason="Supplier discontinued the range")

    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.RECEIVED
    assert incoming_supply(product_ids=[lamp.pk, desk.pk]) == {}
    assert Stock.objects.get(pk=lamp.pk).on_hand == 1


def test_cancelling_one_line(supplier):
    lamp, desk = ProductFactory(), ProductFactory()
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(lamp, 4, in_days(3)), PurchaseLineRequest(desk, 2, in_days(3))],
        send=True,
    )
    with pytest.raises(ValidationError, match="needs a reason"):
        purchase_order_line_cancel(line=po.lines.get(product=lamp), reason="")
    purchase_order_line_cancel(line=po.lines.get(product=lamp), reason="Out of production")
    assert list(incoming_supply(product_ids=[lamp.pk, desk.pk])) == [desk.pk]
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SENT


def test_rescheduling_needs_a_reason_and_is_recorded(supplier):
    lamp = ProductFactory()
    po = purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(lamp, 4, in_days(3))], send=True
    )
    line = po.lines.get()
    with pytest.raises(ValidationError, match="needs a reason"):
        purchase_order_line_reschedule(line=line, expected_date=in_days(9), reason=" ")

    purchase_order_line_reschedule(line=line, expected_date=in_days(9), reason="Port strike")

    event = po.events.latest("id")
    assert event.data == {
        "old": in_days(3).isoformat(),
        "new": in_days(9).isoformat(),
        "reason": "Port strike",
    }


def test_bad_purchase_orders_are_refused(supplier):
    lamp = ProductFactory(is_discontinued=True)
    with pytest.raises(ValidationError) as excinfo:
        purchase_order_create(
            supplier=supplier, lines=[PurchaseLineRequest(lamp, 0, in_days(3))], send=True
        )
    assert excinfo.value.messages == [
        f"Line 1 ({lamp.sku}): quantity must be at least 1.",
        f"Line 1 ({lamp.sku}): the product is discontinued.",
    ]
    assert PurchaseOrder.objects.count() == 0


# --- replenishment -----------------------------------------------------------------------


def test_replenishment_projects_and_suggests(supplier):
    lamp = ProductFactory(
        on_hand=2, reorder_point=5, safety_stock=2, reorder_quantity=10, preferred_supplier=supplier
    )
    place_order((lamp, 6))  # 2 allocated, 4 backordered
    purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(lamp, 3, in_days(4))], send=True
    )

    row = product_replenishment().get(pk=lamp.pk)

    # projected = on hand 2 + incoming 3 - allocated 2 - backordered 4 = -1
    assert (row.on_hand, row.allocated, row.available, row.backordered, row.incoming) == (
        2,
        2,
        0,
        4,
        3,
    )
    assert row.projected == -1
    # refill to reorder point + safety stock (7) from -1 needs 8; at least the reorder quantity
    assert row.suggested_quantity == 10


def test_no_suggestion_when_projected_is_healthy():
    healthy = ProductFactory(on_hand=20, reorder_point=5, safety_stock=2, reorder_quantity=10)
    assert product_replenishment().get(pk=healthy.pk).suggested_quantity == 0


def test_low_stock_alerts_once_per_product_per_day():
    low = ProductFactory(on_hand=1, reorder_point=5, reorder_quantity=10)
    ProductFactory(on_hand=50, reorder_point=5)

    assert low_stock_alerts_record() == 1
    assert low_stock_alerts_record() == 0

    alert = LowStockAlert.objects.get()
    assert (alert.product, alert.date, alert.suggested_quantity) == (low, store_today(), 10)


def test_suggestions_become_one_draft_po_per_supplier(supplier):
    other = supplier_create(name="Birch & Co", lead_time_days=20)
    lamp = ProductFactory(
        on_hand=0, reorder_point=3, reorder_quantity=5, preferred_supplier=supplier
    )
    shade = ProductFactory(
        on_hand=0, reorder_point=2, reorder_quantity=4, preferred_supplier=supplier
    )
    chair = ProductFactory(
        on_hand=0,
        reorder_point=1,
        reorder_quantity=2,
        preferred_supplier=other,
        lead_time_days=None,
    )

    pos = purchase_orders_from_suggestions(product_ids=[lamp.pk, shade.pk, chair.pk])

    assert [(po.supplier.name, po.status) for po in pos] == [
        ("Acme Lighting", "draft"),
        ("Birch & Co", "draft"),
    ]
    lines = {line.product: line for po in pos for line in po.lines.all()}
    assert (lines[lamp].quantity_ordered, lines[shade].quantity_ordered) == (5, 4)
    assert lines[chair].expected_date == in_days(20)


def test_suggestions_without_a_supplier_are_refused():
    orphan = ProductFactory(on_hand=0, reorder_point=3, reorder_quantity=5)
    with pytest.raises(ValidationError, match="no preferred supplier"):
        purchase_orders_from_suggestions(product_ids=[orphan.pk])
    assert PurchaseOrder.objects.count() == 0

"""Services say what they did: screens render the result instead of reading the timeline."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from config.calendar import store_today
from inventory.models import PurchaseOrderLine, Stock
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import OrderEvent
from orders.services import (
    purchase_order_create,
    purchase_order_line_reschedule,
    stock_receive_and_allocate,
)
from tests.factories import CustomerFactory, ProductFactory, place_order

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_receipt_says_which_orders_got_how_many_units():
    lamp = ProductFactory(sku="LAMP-1")
    first = place_order((lamp, 2))
    second = place_order((lamp, 2))
    third = place_order((lamp, 1))

    result = stock_receive_and_allocate(product=lamp, quantity=3, reference="DELIVERY-7")

    assert result.movement.quantity == 3
    assert result.movement.reference == "DELIVERY-7"
    assert result.allocation is not None
    assert result.allocation.units_by_order == {first.pk: 2, second.pk: 1}
    assert (result.allocation.orders, result.allocation.lines_filled) == (2, 1)
    assert third.lines.get().quantity_allocated == 0
    assert Stock.objects.get(pk=lamp.pk).allocated == 3


@pytest.mark.django_db
def test_a_receipt_against_a_purchase_line_of_another_product_is_refused():
    lamp, shade = ProductFactory(), ProductFactory()
    supplier = supplier_create(name="Acme")
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(lamp, 5, store_today() + dt.timedelta(days=5))],
        send=True,
    )

    with pytest.raises(ValidationError, match="another product"):
        stock_receive_and_allocate(product=shade, quantity=1, purchase_line=po.lines.get())

    assert Stock.objects.get(pk=shade.pk).on_hand == 0
    assert PurchaseOrderLine.objects.get(purchase_order=po).quantity_received == 0


@pytest.mark.django_db
def test_a_reschedule_says_how_many_customers_dates_moved():
    lamp = ProductFactory(lead_time_days=60)
    supplier = supplier_create(name="Acme")
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(lamp, 10, store_today() + dt.timedelta(days=5))],
        send=True,
    )
    alice = CustomerFactory()
    place_order((lamp, 1), customer=alice)
    place_order((lamp, 1), customer=alice)
    place_order((lamp, 1))

    result = purchase_order_line_reschedule(
        line=po.lines.get(),
        expected_date=store_today() + dt.timedelta(days=9),
        reason="Supplier late",
    )

    assert result.line.expected_date == store_today() + dt.timedelta(days=9)
    assert (result.etas.lines, len(result.etas.order_ids), result.etas.customers) == (3, 3, 2)
    again = purchase_order_line_reschedule(
        line=po.lines.get(),
        expected_date=store_today() + dt.timedelta(days=9, weeks=1),
        reason="Later still",
    )
    assert again.etas.customers == 2


def _view_modules() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not {"tests", ".venv", "migrations", "bench"}.intersection(path.relative_to(ROOT).parts)
        and ("views" in path.stem or "views" in path.relative_to(ROOT).parts[:-1])
    ]


# Selectors that let a view guess what a service wrote by reading events after a watermark.
WATERMARK_READERS = {
    "last_event_id",
    "latest_order_event_id",
    "allocation_event_ids",
    "eta_change_customers",
}


def test_no_view_reads_order_events_to_learn_what_a_service_did():
    views = _view_modules()
    assert any(path.parts[-2:] == ("receiving", "views.py") for path in views)
    offenders = []
    for path in views:
        for node in ast.walk(ast.parse(path.read_text())):
            name = (
                node.id
                if isinstance(node, ast.Name)
                else node.attr
                if isinstance(node, ast.Attribute)
                else node.name
                if isinstance(node, ast.alias)
                else None
            )
            if name == OrderEvent.__name__ or name in WATERMARK_READERS:
                offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')} {name}")
    assert offenders == []

"""Purchase-order lines from before the reliability record get their first promised date and
their count of date moves from their own history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("inventory", "0004_stock_changed_feed_index")]


@pytest.mark.django_db(transaction=True)
def test_migrating_reads_the_first_promise_and_the_moves_from_the_po_history() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    supplier = apps.get_model("inventory", "Supplier").objects.create(name="Acme")
    product = apps.get_model("inventory", "Product").objects.create(
        sku="LAMP-1", name="Lamp", unit_price=Decimal("1.00")
    )
    po = apps.get_model("inventory", "PurchaseOrder").objects.create(
        number="PO-000001", supplier=supplier, status="sent"
    )
    line_model = apps.get_model("inventory", "PurchaseOrderLine")
    moved = line_model.objects.create(
        purchase_order=po, product=product, quantity_ordered=5, expected_date=dt.date(2026, 3, 20)
    )
    kept = line_model.objects.create(
        purchase_order=po, product=product, quantity_ordered=2, expected_date=dt.date(2026, 3, 9)
    )
    event_model = apps.get_model("inventory", "PurchaseOrderEvent")
    for old, new in (("2026-03-09", "2026-03-14"), ("2026-03-14", "2026-03-20")):
        event_model.objects.create(
            purchase_order=po, line=moved, message="moved", data={"old": old, "new": new}
        )
    event_model.objects.create(
        purchase_order=po, line=kept, message="Received", data={"quantity": 1}
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from inventory.models import PurchaseOrderLine

    lines = PurchaseOrderLine.objects.in_bulk([moved.pk, kept.pk])
    assert (lines[moved.pk].promised_date, lines[moved.pk].reschedule_count) == (
        dt.date(2026, 3, 9),
        2,
    )
    assert (lines[kept.pk].promised_date, lines[kept.pk].reschedule_count) == (
        dt.date(2026, 3, 9),
        0,
    )

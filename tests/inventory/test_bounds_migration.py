"""A lead time saved before the bound existed is brought within it, so its quotes work again."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("inventory", "0002_supply_and_eta")]


@pytest.mark.django_db(transaction=True)
def test_migrating_clamps_absurd_lead_times_to_a_year() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    supplier = apps.get_model("inventory", "Supplier").objects.create(
        name="Forever", lead_time_days=2147483647
    )
    product_model = apps.get_model("inventory", "Product")
    absurd = product_model.objects.create(
        sku="SLOW-1", name="Slow", unit_price=Decimal("1.00"), lead_time_days=2147483647
    )
    fine = product_model.objects.create(
        sku="OK-1", name="Fine", unit_price=Decimal("1.00"), lead_time_days=30
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    # Forward to the latest migrations, the state every other test expects.
    executor.migrate(executor.loader.graph.leaf_nodes())

    from inventory.models import Product, Supplier

    assert Supplier.objects.get(pk=supplier.pk).lead_time_days == 365
    assert Product.objects.get(pk=absurd.pk).lead_time_days == 365
    assert Product.objects.get(pk=fine.pk).lead_time_days == 30

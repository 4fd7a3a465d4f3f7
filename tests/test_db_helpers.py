"""config.db.update_rows: many rows, each to its own values, in one statement."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from config.db import update_rows
from inventory.models import Product, Stock
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_update_rows_writes_each_rows_own_values_and_nothing_else(django_assert_num_queries):
    lamp, shade, bulb = ProductFactory(sku="LAMP"), ProductFactory(sku="SHADE"), ProductFactory()
    lamp.name, lamp.unit_price = "Desk lamp", Decimal("19.99")
    shade.name, shade.unit_price = "Linen shade", Decimal("7.50")
    shade.sku = "NOT-SAVED"  # not a listed field

    with django_assert_num_queries(1):
        assert update_rows([lamp, shade], ["name", "unit_price"]) == 2

    stored = {p.pk: (p.sku, p.name, p.unit_price) for p in Product.objects.all()}
    assert stored[lamp.pk] == ("LAMP", "Desk lamp", Decimal("19.99"))
    assert stored[shade.pk] == ("SHADE", "Linen shade", Decimal("7.50"))
    assert stored[bulb.pk] == (bulb.sku, bulb.name, bulb.unit_price)


def test_update_rows_sets_auto_now_fields_it_is_given():
    stock = ProductFactory(on_hand=3).stock
    long_ago = timezone.now() - dt.timedelta(days=30)
    Stock.objects.filter(pk=stock.pk).update(updated_at=long_ago)
    stock.on_hand = 5

    update_rows([stock], ["on_hand", "updated_at"])

    stock.refresh_from_db()
    assert stock.on_hand == 5
    assert stock.updated_at > long_ago + dt.timedelta(days=29)


def test_update_rows_splits_what_the_database_cannot_take_in_one_statement(
    monkeypatch, django_assert_num_queries
):
    products = ProductFactory.create_batch(40)
    for n, product in enumerate(products):
        product.name = f"Renamed {n}"
    # As a database taking the parameters of 7 rows per statement would.
    monkeypatch.setattr(connection.ops, "bulk_batch_size", lambda fields, objs: 7)

    with django_assert_num_queries(6):
        assert update_rows(products, ["name"]) == 40

    names = dict(Product.objects.values_list("pk", "name"))
    assert [names[p.pk] for p in products] == [f"Renamed {n}" for n in range(40)]
    assert update_rows([], ["name"]) == 0


def test_update_rows_falls_back_on_an_sqlite_without_update_from(monkeypatch):
    stock = ProductFactory(on_hand=3).stock
    long_ago = timezone.now() - dt.timedelta(days=30)
    Stock.objects.filter(pk=stock.pk).update(updated_at=long_ago)
    stock.on_hand = 8
    # As SQLite 3.31 (Django's oldest) would be: no UPDATE … FROM.
    monkeypatch.setattr("config.db.sqlite3.sqlite_version_info", (3, 31, 1))

    assert update_rows([stock], ["on_hand", "updated_at"]) == 1

    stock.refresh_from_db()
    assert (stock.on_hand, stock.updated_at > long_ago) == (8, True)

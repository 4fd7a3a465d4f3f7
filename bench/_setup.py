"""Shared setup for benchmark scripts: Django bootstrap, a throwaway database, data, output.

Call `bootstrap()` before importing any model; it configures Django and refuses anything
but PostgreSQL. `bench_database()` creates a fresh database (Django's test-database
machinery, under a bench-only name) and drops it afterwards, so real data is never touched.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def bootstrap() -> None:
    """Put the project on sys.path, set up Django, and exit unless the database is PostgreSQL."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit(
            f"bench: needs PostgreSQL, but the database is {connection.vendor}. "
            "Set DATABASE_URL=postgres://USER@HOST:5432/NAME."
        )


@contextmanager
def bench_database(*, keep: bool = False) -> Iterator[str]:
    """Create an empty, migrated database for the run and drop it at the end.

    The name is `test_NAME_bench` (`test_NAME` when NAME already ends in "bench"), so
    neither the real database nor a test database kept by pytest (`test_NAME`) is touched;
    `BENCH_DATABASE_SUFFIX` in the environment is appended to it.
    With `keep` the database is `…_kept`: an existing one is reused (migrated forward) and left
    in place afterwards.
    """
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    test = connection.settings_dict.setdefault("TEST", {})
    test["NAME"] = f"test_{old_name}" if old_name.endswith("bench") else f"test_{old_name}_bench"
    if keep:
        # A name of its own, so a run without `keep` never drops the kept data.
        test["NAME"] += "_kept"
    elif suffix := os.environ.get("BENCH_DATABASE_SUFFIX", ""):
        # Runs side by side (the test suite's processes) each get a database of their own.
        test["NAME"] += f"_{suffix}"
    name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=keep, serialize=False
    )
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=keep)


def emit(name: str, value: Any, digits: int = 4) -> None:
    """Print one figure per line: `<name> <value>`."""
    if isinstance(value, float):
        value = f"{value:.{digits}f}"
    print(f"{name} {value}", flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def product_make(*, sku: str, name: str = "", **fields: Any) -> Any:
    """A product (backorders allowed) created through the inventory service."""
    from inventory.models import Product
    from inventory.services import product_create

    return product_create(
        sku=sku,
        name=name or sku,
        unit_price=Decimal("10.00"),
        backorder_policy=Product.BackorderPolicy.ALLOW,
        **fields,
    )


def queue_make(
    *,
    product: Any,
    lines: int,
    seed: int,
    customers: int | None = None,
    priority_share: float = 0.05,
    start: dt.datetime | None = None,
) -> int:
    """Give `product` a queue of `lines` waiting lines, one per order, bulk-created.

    Quantities are 1 to 3 units, a share of orders are priority orders, customers repeat,
    queued_at increases line by line, one second apart, the last one a second ago by default
    (orders placed and paid just now: no shipment deadline near, so the Mail Order Rule engine
    leaves them be). Returns the total units backordered.
    """
    from django.db import transaction
    from django.utils import timezone

    from orders.models import Customer, Order, OrderLine

    rng = random.Random(seed)
    customers = customers or max(1, lines // 3)
    start = start or timezone.now() - dt.timedelta(seconds=lines)
    tag = product.sku.lower()
    with transaction.atomic():
        people = Customer.objects.bulk_create(
            Customer(email=f"{tag}-c{i}@bench.example", name=f"Customer {i}")
            for i in range(customers)
        )
        placed = [start + dt.timedelta(seconds=i) for i in range(lines)]
        priority = [rng.random() < priority_share for _ in range(lines)]
        orders = Order.objects.bulk_create(
            (
                Order(
                    number=f"{tag[:8]}-{i:07d}",
                    customer=people[rng.randrange(customers)],
                    placed_at=placed[i],
                    paid_at=placed[i],
                    amount_paid=Decimal("0"),
                    is_priority=priority[i],
                )
                for i in range(lines)
            ),
            batch_size=5000,
        )
        rows = OrderLine.objects.bulk_create(
            (
                OrderLine(
                    order=orders[i],
                    product=product,
                    quantity=rng.randint(1, 3),
                    unit_price=product.unit_price,
                    priority=int(priority[i]),
                    queued_at=placed[i],
                )
                for i in range(lines)
            ),
            batch_size=5000,
        )
    return sum(row.quantity for row in rows)


def receive_without_allocating(*, product_id: int, quantity: int) -> None:
    """Put units on hand (a receipt under the stock lock) without handing them out."""
    from django.db import transaction

    from inventory.locks import lock_stock
    from inventory.models import StockMovement
    from inventory.stock import stock_movement_record

    with transaction.atomic():
        stock = lock_stock(product_id=product_id)
        stock_movement_record(
            stock=stock,
            kind=StockMovement.Kind.RECEIPT,
            quantity=quantity,
            reason="Bench receipt",
            reference="bench",
        )


class Snapshot:
    """The state of one product's rows, restorable after each measured run.

    Restores every stored column of the product's rows in `models` (by default its OrderLine
    and Stock rows: whatever the services write, today's columns or tomorrow's) and deletes
    every row of `event_models` (by default OrderEvent) written since the snapshot, in one
    transaction, then VACUUM ANALYZEs those tables.
    """

    def __init__(
        self,
        *,
        product_id: int,
        models: tuple[type, ...] = (),
        event_models: tuple[type, ...] = (),
    ) -> None:
        from django.db import connection

        from inventory.models import Stock
        from orders.models import OrderEvent, OrderLine

        self.product_id = product_id
        self.tag = f"bench_snap_{product_id}"
        self.models = models or (OrderLine, Stock)
        self.event_models = event_models or (OrderEvent,)
        self.watermarks = [
            (model, model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
            for model in self.event_models
        ]
        self.tables: list[tuple[str, str, str, list[str]]] = []
        with connection.cursor() as cursor:
            for model in self.models:
                table = model._meta.db_table
                copy = f"{self.tag}_{table}"
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {copy} AS "  # noqa: S608
                    f"SELECT * FROM {table} WHERE product_id = %s",
                    [product_id],
                )
                pk = model._meta.pk.column
                columns = [
                    f.column
                    for f in model._meta.concrete_fields
                    if not f.primary_key and not getattr(f, "generated", False)
                ]
                self.tables.append((table, copy, pk, columns))

    def changed(self, model: type, columns: tuple[str, ...]) -> int:
        """How many of the product's `model` rows differ from the snapshot in `columns`."""
        from django.db import connection

        table, copy, pk, _ = next(t for t in self.tables if t[0] == model._meta.db_table)
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {table} t JOIN {copy} s "  # noqa: S608
                f"ON t.{pk} = s.{pk} WHERE {differs}"
            )
            return cursor.fetchone()[0]

    def restore(self) -> None:
        from django.db import connection, transaction

        with transaction.atomic(), connection.cursor() as cursor:
            for table, copy, pk, columns in self.tables:
                assign = ", ".join(f"{c} = s.{c}" for c in columns)
                differs = " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in columns)
                cursor.execute(
                    f"UPDATE {table} t SET {assign} FROM {copy} s "  # noqa: S608
                    f"WHERE t.{pk} = s.{pk} AND ({differs})"
                )
            for model, watermark in self.watermarks:
                model.objects.filter(pk__gt=watermark).delete()
        vacuum_analyze(
            tuple(table for table, *_ in self.tables)
            + tuple(model._meta.db_table for model, _ in self.watermarks)
        )


def vacuum_analyze(tables: tuple[str, ...] = ()) -> None:
    """VACUUM ANALYZE (outside any transaction) so each run starts from the same table state."""
    from django.db import connection

    tables = tables or ("orders_orderline", "orders_orderevent", "inventory_stock")
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")


def line_allocations(*, product_id: int) -> list[tuple[int, int]]:
    """(line id, units allocated) for every line of the product, by id."""
    from orders.models import OrderLine

    return list(
        OrderLine.objects.filter(product_id=product_id)
        .order_by("id")
        .values_list("id", "quantity_allocated")
    )


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call (time.perf_counter) and its result."""
    import time

    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result

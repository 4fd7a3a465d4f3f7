"""Dashboard benchmark: every staff list, first page and deepest, against a big shop.

1,000,000 orders with 3,000,000 lines over 180 days across 300 products (a few best-sellers
take most lines), built set-based in PostgreSQL (INSERT … SELECT over generate_series, one
statement per table, no ORM per row; about ten minutes at full size): older orders are mostly
shipped, recent ones a mix of waiting, allocated and shipped; some lines are cancelled (with
refunds owed). Stock rows agree with the lines (allocated = the sum of the lines' allocated
units). 200 purchase orders (600 lines). Each order has its "placed" event and its compliance
record, and each order with shipped units its shipment. Columns a statement does not name take
their model default, so a new field does not break the build.

Measured through the Django test client as a superuser: each page once to warm up, then RUNS
times: median milliseconds, queries (CaptureQueriesContext, one run), the slowest query's
milliseconds and all queries' milliseconds (the database's share), one figure per line:

  dashboard.orders_first_ms 41.2
  dashboard.orders_deepest_ms 44.0

Pages: the overview (served from its cache while nothing changes; `overview_computed_ms` is
what computing its figures costs, as on the first visit after an order changed), the orders
list (default sort, and sorted by order number and by ship-by date; deepest = its last page
through the keyset's ?last=1, plus a page in the middle reached by cursor), the queue, the
products board, the ready-to-ship list, purchase orders, the compliance screen. Deepest for
the lists paged by number is their last page. Target: under 200 ms each. BENCH_EXPLAIN=1 prints
EXPLAIN (ANALYZE, BUFFERS) of the slowest queries of a page that misses it.

Run (creates and drops its own database):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_dashboard_bench \\
      .venv/bin/python bench/dashboard.py [--smoke | --orders N]

`--smoke` builds 3,000 orders and times each page once (seconds, for CI). `--keep` keeps the
database afterwards and, when it already holds orders, times its pages without building again
(to iterate on one page: `--keep --pages ship,products`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402

ORDERS = 1_000_000
SMOKE_ORDERS = 3_000
LINES_PER_ORDER = 3
PRODUCTS = 300
SUPPLIERS = 10
PURCHASE_ORDERS = 200
DAYS = 180
RUNS = 5
TARGET_MS = 200.0

TABLES = (
    "orders_customer",
    "orders_order",
    "orders_orderline",
    "orders_orderevent",
    "orders_shipment",
    "orders_shipmentline",
    "orders_refund",
    "inventory_product",
    "inventory_stock",
    "inventory_purchaseorder",
    "inventory_purchaseorderline",
    "compliance_ordercompliance",
)


def insert_select(
    model: Any, values: Mapping[str, str], tail: str, params: Sequence[Any] = ()
) -> int:
    """INSERT INTO model's table (…) SELECT <values> <tail>: `values` maps field names to SQL
        expressions over `tail`'s rows; every other column takes the model's default (NULL where
        nullable, now() for auto timestamps), written as literals so `params` are only those of
    `values` and `tail`, in order. Returns the rows inserted."""
    from django.db import connection, models
    from psycopg import sql as psycopg_sql

    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.GeneratedField):
            continue
        if field.primary_key and field.name not in values and field.attname not in values:
            continue
        sql = values.get(field.name, values.get(field.attname))
        if sql is None:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                sql = "now()"
            elif field.has_default() or (not field.null and field.empty_strings_allowed):
                default = field.get_db_prep_save(field.get_default(), connection)
                literal = psycopg_sql.Literal(default).as_string(connection.connection)
                sql = literal.replace("%", "%%")
            elif field.null:
                sql = "NULL"
            else:
                raise ValueError(f"{model.__name__}.{field.name} needs a value in the bench.")
        columns.append(connection.ops.quote_name(field.column))
        expressions.append(sql)
    statement = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "
        f"({', '.join(columns)}) SELECT {', '.join(expressions)} {tail}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        return int(cursor.rowcount)


def populate(*, orders: int) -> dict[str, int]:
    """Build the shop set-based. Returns row counts (and lines by state)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from compliance.models import DATED_STATE_VALUES, OrderCompliance
    from inventory.models import Product, PurchaseOrder, PurchaseOrderLine, Stock, Supplier
    from orders.models import (
        Customer,
        Order,
        OrderEvent,
        OrderLine,
        Refund,
        Shipment,
        ShipmentLine,
    )
    from orders.selectors import store_today

    now = timezone.now()
    today = store_today(now)
    start = now - dt.timedelta(days=DAYS)
    customers = max(10, orders // 33)
    counts: dict[str, int] = {}
    with transaction.atomic():
        suppliers = Supplier.objects.bulk_create(
            Supplier(name=f"Supplier {i:02d}", lead_time_days=(7, 10, 14, 21, 30)[i % 5])
            for i in range(SUPPLIERS)
        )
        products = Product.objects.bulk_create(
            Product(
                sku=f"SKU-{i:05d}",
                name=f"Product {i}",
                unit_price=5 + (i * 37) % 295,
                preferred_supplier=suppliers[i % SUPPLIERS],
                lead_time_days=None if i % 3 else (5, 14, 21)[i % 9 // 3],
                reorder_point=(0, 5, 10, 20)[i % 4],
            )
            for i in range(PRODUCTS)
        )
        first_product = min(p.pk for p in products)
        counts["customers"] = insert_select(
            Customer,
            {"email": "'c' || g || '@bench.example'", "name": "'Customer ' || g"},
            "FROM generate_series(1, %s) AS g",
            [customers],
        )
        first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True)[0]
        seconds = DAYS * 86400
        placed = f"%s::timestamptz + ((g - 1) * {seconds}.0 / %s) * interval '1 second'"
        counts["orders"] = insert_select(
            Order,
            {
                "number": "'BD-' || lpad(g::text, 8, '0')",
                "customer": f"{first_customer} + (g::bigint * 7919) %% {customers}",
                "placed_at": placed,
                "paid_at": placed,
                "is_priority": "(g %% 50 = 0)",
                "ship_preference": (
                    "CASE WHEN g %% 10 = 0 THEN 'ship_complete' ELSE 'ship_available' END"
                ),
            },
            "FROM generate_series(1, %s) AS g",
            [start, orders, start, orders, orders],
        )
        # Each line: a product skewed to the best-sellers, a quantity, and a state by the
        # order's age (r in [0, 1) decides): shipped, allocated, partly shipped, cancelled or
        # waiting. Columns are derived in one pass over orders × 3.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                CREATE TEMP TABLE bench_lines ON COMMIT DROP AS
                SELECT o.id AS order_id, o.placed_at,
                       %s + floor(power(random(), 2.5) * %s)::int AS product_id,
                       (ARRAY[1, 1, 1, 2, 2, 3, 5])[1 + floor(random() * 7)::int] AS quantity,
                       random() AS r, (o.placed_at < %s) AS old
                FROM orders_order o CROSS JOIN generate_series(1, %s) AS k
                """,
                [first_product, PRODUCTS, now - dt.timedelta(days=30), LINES_PER_ORDER],
            )
            cursor.execute(
                """
                ALTER TABLE bench_lines ADD COLUMN state text;
                UPDATE bench_lines SET state = CASE
                    WHEN old THEN CASE WHEN r < 0.9 THEN 'shipped'
                                       WHEN r < 0.95 THEN 'cancelled' ELSE 'waiting' END
                    ELSE CASE WHEN r < 0.3 THEN 'shipped' WHEN r < 0.5 THEN 'allocated'
                              WHEN r < 0.55 AND quantity > 1 THEN 'partial'
                              WHEN r < 0.6 THEN 'cancelled' ELSE 'waiting' END
                END
                """
            )
            cursor.execute("SELECT state, count(*) FROM bench_lines GROUP BY state")
            for state, number in cursor.fetchall():
                counts[f"lines_{state}"] = number
        counts["lines"] = insert_select(
            OrderLine,
            {
                "order": "b.order_id",
                "product": "b.product_id",
                "quantity": "b.quantity",
                "unit_price": "p.unit_price",
                "quantity_allocated": "CASE WHEN b.state = 'allocated' THEN b.quantity ELSE 0 END",
                "quantity_shipped": (
                    "CASE WHEN b.state = 'shipped' THEN b.quantity "
                    "WHEN b.state = 'partial' THEN 1 ELSE 0 END"
                ),
                "quantity_cancelled": "CASE WHEN b.state = 'cancelled' THEN b.quantity ELSE 0 END",
                "priority": "0",
                "queued_at": "b.placed_at",
                "last_allocated_at": "CASE WHEN b.state = 'allocated' THEN b.placed_at END",
                "eta": (
                    "CASE WHEN b.state IN ('waiting', 'partial') "
                    "THEN %s::date + (1 + floor(b.r * 1000)::int %% 45) END"
                ),
                "eta_source": (
                    "CASE WHEN b.state IN ('waiting', 'partial') THEN "
                    "CASE WHEN floor(b.r * 1000)::int %% 2 = 0 THEN 'po' ELSE 'lead_time' END "
                    "ELSE '' END"
                ),
            },
            "FROM bench_lines b JOIN inventory_product p ON p.id = b.product_id "
            "ORDER BY b.order_id",
            [today],
        )
        counts["stock"] = insert_select(
            Stock,
            {
                "product": "p.id",
                "allocated": "coalesce(s.allocated, 0)",
                "on_hand": (
                    "coalesce(s.allocated, 0) + CASE WHEN coalesce(s.waiting, 0) > 0 THEN 0 "
                    "ELSE p.id %% 60 END"
                ),
            },
            "FROM inventory_product p LEFT JOIN (SELECT product_id, "
            "sum(quantity_allocated) AS allocated, sum(quantity_backordered) AS waiting "
            "FROM orders_orderline GROUP BY product_id) s ON s.product_id = p.id",
        )
        counts["shipments"] = insert_select(
            Shipment,
            {
                "order": "o.id",
                "carrier": "'UPS'",
                "tracking_number": "'1Z' || lpad(o.id::text, 12, '0')",
                "shipped_at": "least(now(), o.placed_at + (1 + o.id %% 5) * interval '1 day')",
            },
            "FROM orders_order o WHERE EXISTS (SELECT 1 FROM orders_orderline l "
            "WHERE l.order_id = o.id AND l.quantity_shipped > 0) ORDER BY o.id",
        )
        insert_select(
            ShipmentLine,
            {"shipment": "s.id", "order_line": "l.id", "quantity": "l.quantity_shipped"},
            "FROM orders_shipment s JOIN orders_orderline l ON l.order_id = s.order_id "
            "AND l.quantity_shipped > 0",
        )
        counts["refunds"] = insert_select(
            Refund,
            {
                "order": "l.order_id",
                "order_line": "l.id",
                "amount": "l.unit_price * l.quantity_cancelled",
                "reason": "'Cancelled'",
                "vested_at": "l.queued_at",
                "due_date": "(l.queued_at + interval '7 days')::date",
                "issued_at": (
                    "CASE WHEN l.queued_at < now() - interval '10 days' "
                    "THEN l.queued_at + interval '2 days' END"
                ),
            },
            "FROM orders_orderline l WHERE l.quantity_cancelled > 0",
        )
        insert_select(
            OrderEvent,
            {
                "order": "o.id",
                "kind": "%s",
                "message": "'Placed'",
                "data": "'{}'::jsonb",
                "created_at": "o.placed_at",
            },
            "FROM orders_order o ORDER BY o.id",
            [OrderEvent.Kind.PLACED],
        )
        state = OrderCompliance.State
        insert_select(
            OrderCompliance,
            {
                "order": "o.id",
                "state": (
                    f"CASE WHEN a.cancelled = a.lines THEN '{state.CANCELLED}' "
                    f"WHEN a.done = a.lines THEN '{state.SHIPPED}' ELSE '{state.ON_TIME}' END"
                ),
                "properly_completed_at": "o.placed_at",
                "deadline": "(o.placed_at + interval '30 days')::date",
                "basis": "%s",
            },
            "FROM orders_order o JOIN (SELECT order_id, count(*) AS lines, "
            "count(*) FILTER (WHERE quantity_cancelled = quantity) AS cancelled, "
            "count(*) FILTER (WHERE quantity_shipped + quantity_cancelled = quantity) AS done "
            "FROM orders_orderline GROUP BY order_id) a ON a.order_id = o.id",
            [OrderCompliance.Basis.THIRTY_DAYS],
        )
        # Each order's ship-by date, stored on it as the rule's services store it.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE orders_order o SET ship_by = coalesce(c.consented_until, c.deadline) "
                "FROM compliance_ordercompliance c WHERE c.order_id = o.id AND c.state = ANY(%s)",
                [list(DATED_STATE_VALUES)],
            )
            # And whether it holds allocated stock, as the allocation services store it.
            cursor.execute(
                "UPDATE orders_order o SET holds_stock = true WHERE EXISTS (SELECT 1 FROM "
                "orders_orderline l WHERE l.order_id = o.id AND l.quantity_allocated > 0)"
            )
        pos = PurchaseOrder.objects.bulk_create(
            PurchaseOrder(
                number=f"PO-{i + 1:06d}",
                supplier=suppliers[i % SUPPLIERS],
                status=(["sent"] * 5 + ["received"] * 3 + ["draft", "cancelled"])[i % 10],
                sent_at=now - dt.timedelta(days=1 + i % 60),
            )
            for i in range(PURCHASE_ORDERS)
        )
        PurchaseOrderLine.objects.bulk_create(
            PurchaseOrderLine(
                purchase_order=po,
                product=products[(i * 7 + k) % 30],
                quantity_ordered=(10, 25, 50, 100)[k],
                quantity_received=(10, 25, 50, 100)[k] if po.status == "received" else 0,
                expected_date=today + dt.timedelta(days=(i + k * 11) % 65 - 5),
                is_cancelled=po.status == "cancelled",
            )
            for i, po in enumerate(pos)
            for k in range(3)
        )
    return counts


def measure(client: Any, url: str, runs: int) -> tuple[list[float], list[dict[str, str]], Any]:
    """(ms of each run, the queries of the last run, the last response) after one warm-up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    timings: list[float] = []
    queries: list[dict[str, str]] = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            began = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - began) * 1000)
        queries = list(ctx.captured_queries)
    return timings, queries, response


def deepest(response: Any, url: str) -> str:
    """The URL of a list's last page: the keyset's "Last" link, else ?page=<last number>."""
    try:
        page = response.context["page"]
    except (KeyError, TypeError):
        return ""
    if hasattr(page, "last_href"):
        return url.split("?")[0] + page.last_href if page.last_href else ""
    paginator = getattr(page, "paginator", None)
    if paginator is None or paginator.num_pages < 2:
        return ""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}page={paginator.num_pages}"


def middle(client: Any, url: str, steps: int) -> str:
    """A page reached by following "Next" `steps` times from `url` (keyset lists only)."""
    for _ in range(steps):
        response = client.get(url)
        href = response.context["page"].next_href
        if not href:
            break
        url = url.split("?")[0] + href
    return url


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def pages() -> list[tuple[str, str]]:
    from django.urls import reverse

    orders = reverse("dashboard:orders")
    return [
        ("overview", reverse("dashboard:overview")),
        ("orders", orders),
        ("orders_by_number", f"{orders}?sort=number"),
        ("orders_by_ship_by", f"{orders}?sort=ship_by"),
        ("orders_backordered", f"{orders}?backordered=1"),
        ("queue", reverse("dashboard:queue")),
        ("products", reverse("dashboard:products")),
        ("ship", reverse("dashboard:ship")),
        ("purchase_orders", reverse("dashboard:purchase_orders")),
        ("compliance", reverse("dashboard:compliance")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="3,000 orders, one run per page")
    parser.add_argument("--orders", type=int, default=ORDERS)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database; reuse its data if built"
    )
    parser.add_argument("--pages", default="", help="comma-separated page names to time")
    args = parser.parse_args()
    size = SMOKE_ORDERS if args.smoke else args.orders
    runs = 1 if args.smoke else RUNS

    _setup.bootstrap()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()
    # Whitenoise warns that collectstatic has not run: irrelevant to these timings.
    warnings.filterwarnings("ignore", message="No directory at")
    with override_settings(DEBUG=False), _setup.bench_database(keep=args.keep) as db_name:
        from orders.models import Order

        _setup.emit("dashboard.database", db_name)
        if not Order.objects.exists():
            seconds, counts = _setup.timed(lambda: populate(orders=size))
            _setup.vacuum_analyze(TABLES)
            _setup.emit("dashboard.populate_seconds", seconds, 1)
            for name, count in counts.items():
                _setup.emit(f"dashboard.{name}", count)

        user, _ = get_user_model().objects.get_or_create(
            username="bench",
            defaults={"email": "bench@bench.example", "is_staff": True, "is_superuser": True},
        )
        client = Client()
        client.force_login(user)
        missed: list[tuple[str, list[dict[str, str]]]] = []
        worst = 0.0
        chosen = {name for name in args.pages.split(",") if name}
        for name, url in pages():
            if chosen and name not in chosen:
                continue
            first = client.get(url)
            targets = [("first", url)]
            last = deepest(first, url)
            if last:
                targets.append(("deepest", last))
            if name == "orders" and hasattr(first.context["page"], "next_href"):
                targets.append(("page_30", middle(client, url, 29)))
            for where, target in targets:
                timings, queries, response = measure(client, target, runs)
                ms = _setup.median(timings)
                worst = max(worst, ms)
                slowest = max((float(q["time"]) for q in queries), default=0.0) * 1000
                # The database's share, beside the wall time: on a busy machine the rest is
                # Python waiting for a core.
                in_database = sum(float(q["time"]) for q in queries) * 1000
                label = f"dashboard.{name}_{where}"
                _setup.emit(f"{label}_ms", ms, 1)
                _setup.emit(f"{label}_queries", len(queries))
                _setup.emit(f"{label}_slowest_query_ms", slowest, 1)
                _setup.emit(f"{label}_database_ms", in_database, 1)
                if response.status_code != 200:
                    _setup.emit(f"{label}_status", response.status_code)
                rows = len(re.findall(rb"<tr data-row", response.content))
                if rows:
                    _setup.emit(f"{label}_rows", rows)
                if ms >= TARGET_MS:
                    missed.append((f"{name}_{where}", queries))
        if not chosen or "overview" in chosen:
            # The overview above is served from its cache (nothing changes between runs); this
            # is what the first visit after an order changes costs: the figures computed anew.
            from dashboard.overview.selectors import overview_compute

            computed = [_setup.timed(overview_compute)[0] * 1000 for _ in range(runs)]
            _setup.emit("dashboard.overview_computed_ms", _setup.median(computed), 1)
        _setup.emit("dashboard.slowest_page_ms", worst, 1)
        _setup.emit("dashboard.pages_over_target", len(missed))
        _setup.emit("dashboard.loadavg_1m", os.getloadavg()[0], 2)
        if os.environ.get("BENCH_EXPLAIN") == "1":
            for name, queries in missed:
                for query in sorted(queries, key=lambda q: -float(q["time"]))[:3]:
                    print(f"\n--- {name}: {float(query['time']) * 1000:.1f} ms\n{query['sql']}")
                    print(explain(query["sql"]), flush=True)


if __name__ == "__main__":
    main()

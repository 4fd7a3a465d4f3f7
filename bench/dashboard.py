"""Dashboard benchmark: the four busiest staff screens against a shop-sized database.

100,000 orders with 300,000 lines over 180 days across 300 products (a few best-sellers take
most lines), bulk-created with the ORM's bulk_create (no services: this measures reading):
older orders are mostly shipped, recent ones are a mix of waiting, allocated and shipped; a
few lines are cancelled (with refunds owed). Stock rows agree with the lines (allocated = the
sum of the lines' allocated units; nothing available while a line waits). 200 purchase orders
(600 lines) are open, received or cancelled. Each order has its timeline's "placed" event, its
compliance record and, when shipped, its shipment.

Measured through the Django test client logged in as a superuser, each page once to warm up
and then RUNS times: the median milliseconds, the queries (CaptureQueriesContext, one run)
and the slowest query's milliseconds, one figure per line:

  dashboard.overview_ms 123

Pages: the overview (/dashboard/), the queue (/dashboard/queue/), the products board
(/dashboard/products/) and the orders list (/dashboard/orders/). Target: under 200 ms each.
With BENCH_EXPLAIN=1, the slowest queries of a page that misses the target are printed with
their EXPLAIN (ANALYZE, BUFFERS) plan.

Run (never touches real data: it creates and drops its own database; about 2 minutes):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_dashboard_bench \\
      .venv/bin/python bench/dashboard.py

(A database name of its own, so it never clobbers another bench running at the same time.)
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402

ORDERS = 100_000
LINES = 300_000
PRODUCTS = 300
SUPPLIERS = 10
CUSTOMERS = 30_000
PURCHASE_ORDERS = 200
DAYS = 180
RUNS = 5
TARGET_MS = 200.0
SEED = 20250301
BATCH = 5000

PAGES = [
    ("overview", "dashboard:overview"),
    ("queue", "dashboard:queue"),
    ("products", "dashboard:products"),
    ("orders", "dashboard:orders"),
]


def lines_per_order(rng: random.Random) -> list[int]:
    """1 to 5 lines per order (mostly 2–4), adding up to exactly LINES."""
    counts = [rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5)) for _ in range(ORDERS)]
    difference = LINES - sum(counts)
    step = 1 if difference > 0 else -1
    i = 0
    while difference:
        j = i % ORDERS
        if 1 <= counts[j] + step <= 5:
            counts[j] += step
            difference -= step
        i += 1
    return counts


def populate(rng: random.Random) -> dict[str, int]:
    """Bulk-create the shop. Returns counts by line state."""
    from django.db import transaction
    from django.utils import timezone

    from compliance.models import OrderCompliance
    from inventory.models import (
        Product,
        PurchaseOrder,
        PurchaseOrderLine,
        Stock,
        Supplier,
    )
    from orders.models import (
        Customer,
        EtaSource,
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
    states = {"waiting": 0, "allocated": 0, "shipped": 0, "cancelled": 0, "partial": 0}
    with transaction.atomic():
        suppliers = Supplier.objects.bulk_create(
            Supplier(name=f"Supplier {i:02d}", lead_time_days=rng.choice((7, 10, 14, 21, 30)))
            for i in range(SUPPLIERS)
        )
        products = Product.objects.bulk_create(
            Product(
                sku=f"SKU-{i:05d}",
                name=f"Product {i}",
                unit_price=Decimal(rng.randint(5, 300)),
                preferred_supplier=suppliers[i % SUPPLIERS],
                lead_time_days=None if i % 3 else rng.choice((5, 14, 21)),
                reorder_point=rng.choice((0, 5, 10, 20)),
                safety_stock=rng.choice((0, 2, 5)),
                reorder_quantity=rng.choice((0, 10, 25, 50)),
                is_preorder=i % 97 == 0,
                release_date=today + dt.timedelta(days=20) if i % 97 == 0 else None,
                is_discontinued=i % 101 == 50,
            )
            for i in range(PRODUCTS)
        )
        # A few best-sellers take most lines (Zipf-like weights).
        weights = [1 / (rank + 1) ** 0.9 for rank in range(PRODUCTS)]
        customers = Customer.objects.bulk_create(
            (Customer(email=f"c{i}@bench.example", name=f"Customer {i}") for i in range(CUSTOMERS)),
            batch_size=BATCH,
        )
        placed = sorted(
            start + dt.timedelta(seconds=rng.uniform(0, DAYS * 86400)) for _ in range(ORDERS)
        )
        orders = [
            Order(
                number=f"BD-{i + 1:07d}",
                customer=customers[rng.randrange(CUSTOMERS)],
                placed_at=placed[i],
                paid_at=placed[i],
                is_priority=rng.random() < 0.02,
                ship_preference=(
                    Order.ShipPreference.SHIP_COMPLETE
                    if rng.random() < 0.1
                    else Order.ShipPreference.SHIP_AVAILABLE
                ),
            )
            for i in range(ORDERS)
        ]
        counts = lines_per_order(rng)
        line_rows: list[Any] = []
        allocated_by_product: dict[int, int] = {}
        waiting_products: set[int] = set()
        for order, count in zip(orders, counts, strict=True):
            age_days = (now - order.placed_at).days
            chosen = rng.choices(products, weights=weights, k=count)
            total = Decimal("0")
            for product in chosen:
                quantity = rng.choice((1, 1, 1, 2, 2, 3, 5))
                roll = rng.random()
                allocated = shipped = cancelled = 0
                if age_days > 30:
                    kind = "shipped" if roll < 0.9 else "cancelled" if roll < 0.95 else "waiting"
                else:
                    kind = (
                        "shipped"
                        if roll < 0.3
                        else "allocated"
                        if roll < 0.5
                        else "partial"
                        if roll < 0.55
                        else "cancelled"
                        if roll < 0.6
                        else "waiting"
                    )
                if product.is_discontinued and kind == "waiting":
                    kind = "cancelled"
                if kind == "shipped":
                    shipped = quantity
                elif kind == "allocated":
                    allocated = quantity
                elif kind == "cancelled":
                    cancelled = quantity
                elif kind == "partial":
                    if quantity == 1:
                        kind = "waiting"
                    else:
                        shipped = 1
                states[kind] += 1
                if allocated:
                    allocated_by_product[product.pk] = (
                        allocated_by_product.get(product.pk, 0) + allocated
                    )
                waiting = quantity - allocated - shipped - cancelled
                if waiting:
                    waiting_products.add(product.pk)
                eta = eta_source = None
                if waiting:
                    eta = today + dt.timedelta(days=rng.randint(1, 45))
                    eta_source = rng.choice((EtaSource.PURCHASE_ORDER, EtaSource.LEAD_TIME))
                total += product.unit_price * quantity
                line_rows.append(
                    OrderLine(
                        order=order,
                        product=product,
                        quantity=quantity,
                        unit_price=product.unit_price,
                        quantity_allocated=allocated,
                        quantity_shipped=shipped,
                        quantity_cancelled=cancelled,
                        priority=int(order.is_priority),
                        queued_at=order.placed_at,
                        last_allocated_at=order.placed_at if allocated else None,
                        eta=eta,
                        eta_source=eta_source or "",
                    )
                )
            order.amount_paid = order.amount_captured = total
        # Lines point at the orders' objects, which have their ids once created.
        Order.objects.bulk_create(orders, batch_size=BATCH)
        lines = OrderLine.objects.bulk_create(line_rows, batch_size=BATCH)

        Stock.objects.bulk_create(
            Stock(
                product=product,
                allocated=allocated_by_product.get(product.pk, 0),
                on_hand=allocated_by_product.get(product.pk, 0)
                + (0 if product.pk in waiting_products else rng.randint(0, 60)),
            )
            for product in products
        )

        by_order: dict[int, list[Any]] = {}
        for line in lines:
            by_order.setdefault(line.order_id, []).append(line)
        shipped_orders = [
            order for order in orders if any(x.quantity_shipped for x in by_order[order.pk])
        ]
        shipments = Shipment.objects.bulk_create(
            (
                Shipment(
                    order=order,
                    carrier="UPS",
                    tracking_number=f"1Z{order.pk:012d}",
                    shipped_at=min(now, order.placed_at + dt.timedelta(days=rng.randint(1, 5))),
                )
                for order in shipped_orders
            ),
            batch_size=BATCH,
        )
        ShipmentLine.objects.bulk_create(
            (
                ShipmentLine(shipment=shipment, order_line=line, quantity=line.quantity_shipped)
                for shipment in shipments
                for line in by_order[shipment.order_id]
                if line.quantity_shipped
            ),
            batch_size=BATCH,
        )
        Refund.objects.bulk_create(
            (
                Refund(
                    order_id=line.order_id,
                    order_line=line,
                    amount=line.unit_price * line.quantity_cancelled,
                    reason="Cancelled",
                    vested_at=line.queued_at,
                    due_date=(line.queued_at + dt.timedelta(days=7)).date(),
                    issued_at=line.queued_at + dt.timedelta(days=2)
                    if (now - line.queued_at).days > 10
                    else None,
                )
                for line in lines
                if line.quantity_cancelled
            ),
            batch_size=BATCH,
        )
        OrderEvent.objects.bulk_create(
            (
                OrderEvent(order=order, kind=OrderEvent.Kind.PLACED, message="Placed", data={})
                for order in orders
            ),
            batch_size=BATCH,
        )

        def compliance_state(order: Any) -> str:
            rows = by_order[order.pk]
            if all(x.quantity_cancelled == x.quantity for x in rows):
                return OrderCompliance.State.CANCELLED
            if all(x.quantity_shipped + x.quantity_cancelled == x.quantity for x in rows):
                return OrderCompliance.State.SHIPPED
            return OrderCompliance.State.ON_TIME

        OrderCompliance.objects.bulk_create(
            (
                OrderCompliance(
                    order=order,
                    state=compliance_state(order),
                    properly_completed_at=order.placed_at,
                    deadline=(order.placed_at + dt.timedelta(days=30)).date(),
                    basis=OrderCompliance.Basis.THIRTY_DAYS,
                )
                for order in orders
            ),
            batch_size=BATCH,
        )

        pos = PurchaseOrder.objects.bulk_create(
            PurchaseOrder(
                number=f"PO-{i + 1:06d}",
                supplier=suppliers[i % SUPPLIERS],
                status=rng.choice(
                    [PurchaseOrder.Status.SENT] * 5
                    + [PurchaseOrder.Status.RECEIVED] * 3
                    + [PurchaseOrder.Status.DRAFT, PurchaseOrder.Status.CANCELLED]
                ),
                sent_at=now - dt.timedelta(days=rng.randint(1, 60)),
            )
            for i in range(PURCHASE_ORDERS)
        )
        PurchaseOrderLine.objects.bulk_create(
            PurchaseOrderLine(
                purchase_order=po,
                product=rng.choices(products, weights=weights)[0],
                quantity_ordered=(ordered := rng.choice((10, 25, 50, 100))),
                quantity_received=ordered if po.status == PurchaseOrder.Status.RECEIVED else 0,
                expected_date=today + dt.timedelta(days=rng.randint(-5, 60)),
                is_cancelled=po.status == PurchaseOrder.Status.CANCELLED,
            )
            for po in pos
            for _ in range(3)
        )
    return states


def measure(client: Any, url: str) -> tuple[list[float], list[dict[str, str]], int, bytes]:
    """(ms of each run, the queries of the last run, status, body) after one warm-up."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    timings: list[float] = []
    queries: list[dict[str, str]] = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as ctx:
            began = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - began) * 1000)
        queries = list(ctx.captured_queries)
    return timings, queries, response.status_code, response.content


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    _setup.bootstrap()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    # Whitenoise warns that collectstatic has not run: irrelevant to these timings.
    warnings.filterwarnings("ignore", message="No directory at")
    rng = random.Random(SEED)
    with override_settings(DEBUG=False), _setup.bench_database() as db_name:
        _setup.emit("dashboard.database", db_name)
        seconds, states = _setup.timed(lambda: populate(rng))
        _setup.vacuum_analyze(
            (
                "orders_order",
                "orders_orderline",
                "orders_orderevent",
                "orders_shipment",
                "orders_shipmentline",
                "orders_refund",
                "orders_customer",
                "inventory_product",
                "inventory_stock",
                "inventory_purchaseorder",
                "inventory_purchaseorderline",
                "compliance_ordercompliance",
            )
        )
        _setup.emit("dashboard.populate_seconds", seconds, 1)
        _setup.emit("dashboard.orders", ORDERS)
        _setup.emit("dashboard.lines", LINES)
        _setup.emit("dashboard.products", PRODUCTS)
        for state, count in states.items():
            _setup.emit(f"dashboard.lines_{state}", count)

        user = get_user_model().objects.create_superuser(
            "bench", "bench@bench.example", "bench-password"
        )
        client = Client()
        client.force_login(user)
        missed: list[tuple[str, list[dict[str, str]]]] = []
        for name, url_name in PAGES:
            timings, queries, status, body = measure(client, reverse(url_name))
            ms = _setup.median(timings)
            slowest = max((float(q["time"]) for q in queries), default=0.0) * 1000
            _setup.emit(f"dashboard.{name}_ms", ms, 1)
            _setup.emit(f"dashboard.{name}_queries", len(queries))
            _setup.emit(f"dashboard.{name}_slowest_query_ms", slowest, 1)
            _setup.emit(f"dashboard.{name}_runs_ms", " ".join(f"{t:.1f}" for t in timings))
            if status != 200:
                _setup.emit(f"dashboard.{name}_status", status)
            if b"This screen is being built." in body:
                _setup.emit(f"dashboard.{name}_stub", True)
            _setup.emit(f"dashboard.{name}_target_met", ms < TARGET_MS)
            if ms >= TARGET_MS:
                missed.append((name, queries))
        _setup.emit("dashboard.loadavg_1m", os.getloadavg()[0], 2)
        if os.environ.get("BENCH_EXPLAIN") == "1":
            for name, queries in missed:
                for query in sorted(queries, key=lambda q: -float(q["time"]))[:3]:
                    print(f"\n--- {name}: {float(query['time']) * 1000:.1f} ms\n{query['sql']}")
                    print(explain(query["sql"]), flush=True)


if __name__ == "__main__":
    main()

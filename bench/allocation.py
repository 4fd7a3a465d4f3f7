"""Allocation benchmark: a big restock, and its allocation step against one SQL statement.

One product (backorders allowed, 14-day lead time, so every waiting line has a real ETA date,
computed once before measuring) with 10,000 waiting lines of 1 to 3 units, one per order,
placed and paid over the last hours (so the Mail Order Rule engine, on as deployed, has no
deadline to act on), receives 20,000 units. Each figure is the median of 3 runs with the
product's rows restored in between. Measured:

  (a) the allocation step: orders.services._allocate_locked under the product's stock lock
      (inventory.locks.lock_stock) inside transaction.atomic(): the lines, the stock row and
      the timeline events (one per order served), without the event subscribers (the outbox
      side is measured in (d)): wall seconds and queries; also with the subscribers;
  (b) the same allocation as ONE hand-written SQL statement in the same run (window running
      sum over the queue, data-modifying CTE that updates the lines and the stock row): the
      limit the step is compared with (target: at most 2x);
  (c) the same answer: per-line allocations of (a), (b), (d) and of the portable path
      (orders.services.fifo.hand_out(set_based=False), the Python walk used on SQLite,
      run once) agree line by line, and the portable path writes the same events;
  (d) the whole restock: orders.services.stock_receive_and_allocate (receipt, allocation,
      ETA refresh of the lines still waiting, timeline events, outbox rows, webhook and rule
      engine hand-over) up to and including its commit (target: under 5 s), then the
      after-commit hand-over on its own (the hooks that publish tasks, to an in-memory broker:
      no worker runs, so no email is sent); queries, rows written per table, tasks handed
      over, peak Python memory (tracemalloc, in a run of its own).

Run (never touches real data: it creates and drops its own database):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_bench \\
      .venv/bin/python bench/allocation.py [--smoke]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Tasks go to an in-memory broker: the after-commit hand-over is measured without a worker
# sending thousands of emails in this process (as it would with tasks run in-process).
os.environ.update(
    {
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
)

from bench import _setup  # noqa: E402

SIZES = {
    # lines waiting, units received, runs
    "full": (10_000, 20_000, 3),
    "smoke": (500, 1_000, 1),
}
LEAD_TIME_DAYS = 14
# 20,119 units backordered at full size: the receipt runs out mid-queue, so a line is split.
SEED = 20250107
TARGET_RATIO = 2.0
TARGET_RESTOCK_SECONDS = 5.0

# The whole allocation in one statement. `queue` is the waiting lines in queue order with
# a running sum of what they wait for; a line gets what is left after everyone ahead of it.
ALLOCATE_SQL = """
WITH stock AS (
    SELECT product_id, on_hand - allocated AS available
    FROM inventory_stock
    WHERE product_id = %(product_id)s
    FOR UPDATE
),
queue AS (
    SELECT id, quantity_backordered AS backordered,
           sum(quantity_backordered) OVER (ORDER BY priority DESC, queued_at, id) AS running
    FROM orders_orderline
    WHERE product_id = %(product_id)s AND quantity_backordered > 0
),
alloc AS (
    SELECT q.id,
           greatest(0, least(q.backordered, s.available - (q.running - q.backordered)))::int
               AS units
    FROM queue q CROSS JOIN stock s
),
lines AS (
    UPDATE orders_orderline l
    SET quantity_allocated = l.quantity_allocated + a.units, last_allocated_at = %(now)s
    FROM alloc a
    WHERE l.id = a.id AND a.units > 0
    RETURNING a.units
)
UPDATE inventory_stock
SET allocated = allocated + (SELECT coalesce(sum(units), 0) FROM lines), updated_at = %(now)s
WHERE product_id = %(product_id)s
RETURNING (SELECT count(*) FROM lines), (SELECT coalesce(sum(units), 0) FROM lines)
"""


@dataclass
class Run:
    """One measured call: wall seconds, queries, and what it handed out."""

    seconds: float
    queries: int
    lines: int
    units: int
    allocations: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Committed:
    """One transaction: up to and including its commit, then the after-commit hand-over."""

    seconds: float
    # CPU time of this process alone (the database's work is not in it): on a loaded machine
    # the wall figures stretch with the load, this much less
    cpu_seconds: float
    queries: int
    handover_seconds: float
    handover_queries: int
    tasks: Counter[str]
    result: Any
    allocations: list[tuple[int, int]] = field(default_factory=list)


def models_written() -> dict[str, type]:
    """The tables a restock writes rows into (besides updating lines and the stock row)."""
    from inventory.models import StockMovement
    from notifications.models import Notification
    from orders.models import OrderEvent
    from storefront.models import WebhookDelivery

    return {
        "events": OrderEvent,
        "notifications": Notification,
        "stock_movements": StockMovement,
        "webhook_deliveries": WebhookDelivery,
    }


def project_allocate(product_id: int, *, subscribers: bool) -> Run:
    """The allocation step alone: lock the stock row, hand units out, in one transaction
    (timed up to its commit; with the subscribers, their after-commit hooks are left out)."""
    from django.test.utils import override_settings
    from django.utils import timezone

    from inventory.locks import lock_stock
    from orders.services import _allocate_locked

    overrides = {} if subscribers else {"ORDER_EVENT_SUBSCRIBERS": []}
    with override_settings(**overrides):
        run = committed(
            lambda: _allocate_locked(stock=lock_stock(product_id=product_id), now=timezone.now())
        )
    return Run(run.seconds, run.queries, run.result.lines, run.result.units)


def sql_allocate(product_id: int) -> Run:
    """The single statement, in its own transaction."""
    from django.db import connection, transaction
    from django.utils import timezone

    def run() -> tuple[int, int]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(ALLOCATE_SQL, {"product_id": product_id, "now": timezone.now()})
            lines, units = cursor.fetchone()
        return lines, units

    seconds, (lines, units) = _setup.timed(run)
    return Run(seconds, 1, lines, units)


def portable_allocate(product_id: int) -> tuple[Run, list[tuple[int, str, Any]]]:
    """The portable (SQLite) walk on PostgreSQL, with the events it writes."""
    from django.db import transaction
    from django.utils import timezone

    from inventory.locks import lock_stock
    from inventory.models import Product
    from orders.services.fifo import hand_out

    def run() -> Any:
        with transaction.atomic():
            stock = lock_stock(product_id=product_id)
            return hand_out(
                product_id=product_id,
                sku=Product.objects.get(pk=product_id).sku,
                available=stock.on_hand - stock.allocated,
                now=timezone.now(),
                set_based=False,
            )

    seconds, handout = _setup.timed(run)
    return Run(seconds, 0, handout.lines, handout.units), allocation_events()


def allocation_events() -> list[tuple[int, str, Any]]:
    """(order, message, data) of the ALLOCATED events (of the one run since the last
    restore), in the order written."""
    from orders.models import OrderEvent

    return list(
        OrderEvent.objects.filter(kind=OrderEvent.Kind.ALLOCATED)
        .order_by("id")
        .values_list("order_id", "message", "data")
    )


def committed(fn: Any) -> Committed:
    """Call `fn` in a transaction of its own; time it up to and including the commit, then the
    after-commit hooks apart: a first hook marks the commit, a last one the end."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    marks: dict[str, float] = {}
    tasks: Counter[str] = Counter()

    def mark(name: str) -> Any:
        def now() -> None:
            marks[name] = time.perf_counter()
            marks[f"{name}_cpu"] = time.process_time()

        return now

    with CaptureQueriesContext(connection) as ctx:
        began, began_cpu = time.perf_counter(), time.process_time()
        with transaction.atomic():
            transaction.on_commit(mark("committed"))
            result = fn()
            for _, hook, _ in connection.run_on_commit:
                task = getattr(hook, "task", None)
                if task is not None:
                    tasks[task.name] += 1
            transaction.on_commit(mark("handed_over"))
        queries_to_commit = len(ctx.captured_queries)
    return Committed(
        seconds=marks["committed"] - began,
        cpu_seconds=marks["committed_cpu"] - began_cpu,
        queries=queries_to_commit,
        handover_seconds=marks["handed_over"] - marks["committed"],
        handover_queries=len(ctx.captured_queries) - queries_to_commit,
        tasks=tasks,
        result=result,
    )


def restock(product: Any, quantity: int) -> Committed:
    """stock_receive_and_allocate as the receiving screen calls it."""
    from orders.services import stock_receive_and_allocate

    return committed(
        lambda: stock_receive_and_allocate(
            product=product, quantity=quantity, reason="Bench restock"
        )
    )


def peak_memory_mb(fn: Any) -> float:
    """Peak Python memory (tracemalloc) of one call, in MB."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1_000_000


def runs_text(values: list[float]) -> str:
    return " ".join(f"{v:.4f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--smoke", action="store_true", help="a small size that runs in seconds")
    args = parser.parse_args()
    lines, received, runs = SIZES["smoke" if args.smoke else "full"]

    _setup.bootstrap()
    from django.conf import settings
    from django.db import reset_queries
    from django.test.utils import override_settings

    from orders.models import OrderLine
    from orders.services import product_eta_refresh

    # DEBUG=True (local settings) would log every query for the whole run; the counted
    # runs still capture theirs through CaptureQueriesContext.
    with override_settings(DEBUG=False), _setup.bench_database() as db_name:
        _setup.emit("allocation.database", db_name)
        _setup.emit("allocation.mail_order_rule_enabled", settings.MAIL_ORDER_RULE_ENABLED)
        _setup.emit("allocation.notify_on_allocation", settings.NOTIFY_ON_ALLOCATION)
        product = _setup.product_make(sku="BENCH-ALLOC", lead_time_days=LEAD_TIME_DAYS)
        backordered = _setup.queue_make(product=product, lines=lines, seed=SEED)
        # Lines are placed with an ETA: give them theirs (from the lead time) before measuring.
        etas_set = product_eta_refresh(product_id=product.pk)
        written = models_written()
        # Warm-up, not measured: a small product's restock loads what the first run would.
        warm = _setup.product_make(sku="BENCH-WARM", lead_time_days=LEAD_TIME_DAYS)
        _setup.queue_make(product=warm, lines=20, seed=SEED)
        restock(warm, 40)
        # Before the receipt: each run starts from here.
        snapshot = _setup.Snapshot(product_id=product.pk, event_models=tuple(written.values()))
        _setup.vacuum_analyze()
        _setup.emit("allocation.lines_waiting", lines)
        _setup.emit("allocation.units_backordered", backordered)
        _setup.emit("allocation.units_received", received)
        _setup.emit("allocation.etas_set_before", etas_set)

        def received_not_allocated() -> None:
            snapshot.restore()
            _setup.receive_without_allocating(product_id=product.pk, quantity=received)

        def measured(fn: Any) -> Run:
            received_not_allocated()
            run = fn()
            run.allocations = _setup.line_allocations(product_id=product.pk)
            reset_queries()
            return run

        # (a) the allocation step, without and with the event subscribers; (b) one statement
        step = [
            measured(lambda: project_allocate(product.pk, subscribers=False)) for _ in range(runs)
        ]
        step_events = allocation_events()
        with_subscribers = [
            measured(lambda: project_allocate(product.pk, subscribers=True)) for _ in range(runs)
        ]
        sql = [measured(lambda: sql_allocate(product.pk)) for _ in range(runs)]
        # (c) the portable walk, once
        received_not_allocated()
        portable, portable_events = portable_allocate(product.pk)
        portable.allocations = _setup.line_allocations(product_id=product.pk)

        # (d) the whole restock
        restocks: list[Committed] = []
        rows: dict[str, int] = {}
        for _ in range(runs):
            snapshot.restore()
            restocks.append(restock(product, received))
            restocks[-1].allocations = _setup.line_allocations(product_id=product.pk)
            rows = {
                name: model.objects.filter(pk__gt=watermark).count()
                for (model, watermark), name in zip(snapshot.watermarks, written, strict=True)
            }
            rows["lines_updated"] = snapshot.changed(
                OrderLine, ("quantity_allocated", "eta", "eta_source", "eta_reference")
            )
            reset_queries()
        snapshot.restore()
        restock_peak = peak_memory_mb(lambda: restock(product, received))
        snapshot.restore()

        reference = step[0].allocations
        identical = all(
            allocations == reference
            for allocations in [r.allocations for r in [*step, *with_subscribers, *sql, portable]]
            + [r.allocations for r in restocks]
        )
        events_identical = portable_events == step_events
        differing = sum(1 for a, b in zip(reference, sql[0].allocations, strict=True) if a != b)
        quantities = dict(
            OrderLine.objects.filter(product_id=product.pk).values_list("id", "quantity")
        )
        lines_partial = sum(1 for pk, units in reference if 0 < units < quantities[pk])

        step_seconds = _setup.median([r.seconds for r in step])
        sql_seconds = _setup.median([r.seconds for r in sql])
        ratio = step_seconds / sql_seconds
        restock_seconds = _setup.median([r.seconds for r in restocks])
        _setup.emit("allocation.step_seconds", step_seconds)
        _setup.emit("allocation.step_queries", int(_setup.median([r.queries for r in step])))
        _setup.emit("allocation.sql_seconds", sql_seconds)
        _setup.emit("allocation.ratio", ratio, 2)
        _setup.emit(
            "allocation.step_with_subscribers_seconds",
            _setup.median([r.seconds for r in with_subscribers]),
        )
        _setup.emit(
            "allocation.step_with_subscribers_queries",
            int(_setup.median([r.queries for r in with_subscribers])),
        )
        _setup.emit("allocation.portable_seconds", portable.seconds)
        _setup.emit("allocation.restock_seconds", restock_seconds)
        _setup.emit(
            "allocation.restock_cpu_seconds", _setup.median([r.cpu_seconds for r in restocks])
        )
        _setup.emit("allocation.restock_queries", int(_setup.median([r.queries for r in restocks])))
        _setup.emit(
            "allocation.restock_handover_seconds",
            _setup.median([r.handover_seconds for r in restocks]),
        )
        _setup.emit(
            "allocation.restock_handover_queries",
            int(_setup.median([r.handover_queries for r in restocks])),
        )
        _setup.emit(
            "allocation.restock_tasks_handed_over",
            " ".join(f"{name}={count}" for name, count in sorted(restocks[0].tasks.items()))
            or "none",
        )
        _setup.emit("allocation.restock_peak_mb", restock_peak, 2)
        for name, count in rows.items():
            _setup.emit(f"allocation.rows_{name}", count)
        _setup.emit("allocation.lines_allocated", step[0].lines)
        _setup.emit("allocation.lines_partial", lines_partial)
        _setup.emit("allocation.units_allocated", step[0].units)
        _setup.emit("allocation.identical", identical)
        _setup.emit("allocation.events_identical", events_identical)
        if not identical:
            _setup.emit("allocation.lines_differing_from_sql", differing)
        _setup.emit("allocation.step_seconds_runs", runs_text([r.seconds for r in step]))
        _setup.emit("allocation.sql_seconds_runs", runs_text([r.seconds for r in sql]))
        _setup.emit("allocation.restock_seconds_runs", runs_text([r.seconds for r in restocks]))
        _setup.emit("allocation.loadavg_1m", os.getloadavg()[0], 2)
        _setup.emit("allocation.target_ratio_met", ratio <= TARGET_RATIO)
        _setup.emit("allocation.target_restock_met", restock_seconds < TARGET_RESTOCK_SECONDS)
        if not identical or not events_identical or step[0].units != sql[0].units:
            sys.exit("bench: the allocations differ (see allocation.identical).")


if __name__ == "__main__":
    main()

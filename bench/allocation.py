"""Allocation benchmark: the project's allocation step against one hand-written SQL statement.

One product (backorders allowed, 14-day lead time, so every waiting line has a real ETA date,
computed once before measuring) with 10,000 waiting lines of 1 to 3 units receives 20,000
units. Measured, each the median of 3 runs with the lines and stock reset in between:

  (a) the allocation step: orders.services._allocate_locked under the product's stock lock
      (inventory.locks.lock_stock) inside transaction.atomic(), as the single statement runs
      in its own transaction and locks the stock row: wall seconds, queries, peak Python
      memory (tracemalloc, in separate runs so its overhead stays out of the timings; also
      at 2,500 lines, to show the peak is bounded by one batch, not by the queue);
  (b) the same allocation as ONE SQL statement (window running sum over the queue,
      data-modifying CTE that updates the lines and the stock row);
  (c) both give identical per-line allocations;
  (d) as an extra figure, the whole orders.services.product_allocate (the allocation step,
      then the ETA refresh of the lines still waiting): seconds, queries, ETAs changed.

Run (never touches real data: it creates and drops its own database):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_bench \
      .venv/bin/python bench/allocation.py
"""

from __future__ import annotations

import os
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402

LINES = 10_000
SMALL_LINES = 2_500
RECEIVED = 20_000
RUNS = 3
LEAD_TIME_DAYS = 14
# 20,119 units backordered: the receipt runs out mid-queue, so a line is split.
SEED = 20250107
TARGET_QUERIES = 40
TARGET_RATIO = 10.0

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


def allocation_step(product_id: int) -> Any:
    """The allocation step alone: lock the stock row, hand units out, in one transaction."""
    from django.db import transaction
    from django.utils import timezone

    from inventory.locks import lock_stock
    from orders.services import _allocate_locked

    with transaction.atomic():
        stock = lock_stock(product_id=product_id)
        return _allocate_locked(stock=stock, now=timezone.now())


def project_allocate(product_id: int) -> tuple[float, int, int, int]:
    """(seconds, queries, lines given units, units) for one allocation step."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        seconds, result = _setup.timed(lambda: allocation_step(product_id))
    return seconds, len(ctx.captured_queries), result.lines, result.units


def product_allocate_full(product_id: int) -> tuple[float, int, int]:
    """(seconds, queries, units) for one product_allocate call (allocation + ETA refresh)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.services import product_allocate

    with CaptureQueriesContext(connection) as ctx:
        seconds, result = _setup.timed(lambda: product_allocate(product_id=product_id))
    return seconds, len(ctx.captured_queries), result.units


def eta_lines_changed(watermark: int) -> int:
    """Lines named in the ETA_CHANGED events written after event id `watermark`."""
    from orders.models import OrderEvent

    return sum(
        len(data["lines"])
        for data in OrderEvent.objects.filter(
            id__gt=watermark, kind=OrderEvent.Kind.ETA_CHANGED
        ).values_list("data", flat=True)
    )


def sql_allocate(product_id: int) -> tuple[float, int, int]:
    """(seconds, lines given units, units) for the single statement, in its own transaction."""
    from django.db import connection, transaction
    from django.utils import timezone

    def run() -> tuple[int, int]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(ALLOCATE_SQL, {"product_id": product_id, "now": timezone.now()})
            lines, units = cursor.fetchone()
        return lines, units

    seconds, (lines, units) = _setup.timed(run)
    return seconds, lines, units


def peak_memory_mb(fn: Callable[[], Any]) -> float:
    """Peak Python memory (tracemalloc) of one call, in MB."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1_000_000


def main() -> None:
    _setup.bootstrap()
    from django.db import reset_queries
    from django.test.utils import override_settings

    from orders.models import OrderEvent, OrderLine
    from orders.services import product_allocate, product_eta_refresh

    # DEBUG=True (local settings) would log every query for the whole run; the counted
    # runs still capture theirs through CaptureQueriesContext.
    with override_settings(DEBUG=False), _setup.bench_database() as db_name:
        _setup.emit("allocation.database", db_name)
        product = _setup.product_make(sku="BENCH-ALLOC", lead_time_days=LEAD_TIME_DAYS)
        backordered = _setup.queue_make(product=product, lines=LINES, seed=SEED)
        small = _setup.product_make(sku="BENCH-SMALL", lead_time_days=LEAD_TIME_DAYS)
        small_backordered = _setup.queue_make(product=small, lines=SMALL_LINES, seed=SEED + 1)
        # Lines are placed with an ETA: give them theirs (from the lead time) before measuring.
        etas_set = product_eta_refresh(product_id=product.pk)
        product_eta_refresh(product_id=small.pk)
        _setup.receive_without_allocating(product_id=product.pk, quantity=RECEIVED)
        _setup.receive_without_allocating(
            product_id=small.pk, quantity=RECEIVED * SMALL_LINES // LINES
        )
        snapshot = _setup.Snapshot(product_id=product.pk)
        small_snapshot = _setup.Snapshot(product_id=small.pk)
        _setup.vacuum_analyze()
        _setup.emit("allocation.lines_waiting", LINES)
        _setup.emit("allocation.units_backordered", backordered)
        _setup.emit("allocation.units_received", RECEIVED)
        _setup.emit("allocation.lead_time_days", LEAD_TIME_DAYS)
        _setup.emit("allocation.etas_set_before", etas_set)

        # (a) the project's allocation step
        project_seconds: list[float] = []
        project_queries: list[int] = []
        project_result: list[tuple[int, int]] = []
        allocations: list[list[tuple[int, int]]] = []
        for _ in range(RUNS):
            snapshot.restore()
            seconds, queries, lines, units = project_allocate(product.pk)
            project_seconds.append(seconds)
            project_queries.append(queries)
            project_result.append((lines, units))
            allocations.append(_setup.line_allocations(product_id=product.pk))
            reset_queries()

        # (b) one statement
        sql_seconds: list[float] = []
        sql_result: list[tuple[int, int]] = []
        sql_allocations: list[list[tuple[int, int]]] = []
        for _ in range(RUNS):
            snapshot.restore()
            seconds, lines, units = sql_allocate(product.pk)
            sql_seconds.append(seconds)
            sql_result.append((lines, units))
            sql_allocations.append(_setup.line_allocations(product_id=product.pk))

        # (d) the whole service: allocation step, then ETA refresh
        full_seconds: list[float] = []
        full_queries: list[int] = []
        full_etas: list[int] = []
        full_allocations: list[list[tuple[int, int]]] = []
        for _ in range(RUNS):
            snapshot.restore()
            watermark = OrderEvent.objects.order_by("-id").values_list("id", flat=True).first()
            seconds, queries, _units = product_allocate_full(product.pk)
            full_seconds.append(seconds)
            full_queries.append(queries)
            full_etas.append(eta_lines_changed(watermark or 0))
            full_allocations.append(_setup.line_allocations(product_id=product.pk))
            reset_queries()

        # peak memory, in runs of their own (tracemalloc slows Python down)
        peaks: list[float] = []
        full_peaks: list[float] = []
        for _ in range(RUNS):
            snapshot.restore()
            peaks.append(peak_memory_mb(lambda: allocation_step(product.pk)))
            snapshot.restore()
            full_peaks.append(peak_memory_mb(lambda: product_allocate(product_id=product.pk)))
        small_peaks: list[float] = []
        for _ in range(RUNS):
            small_snapshot.restore()
            small_peaks.append(peak_memory_mb(lambda: allocation_step(small.pk)))

        # (c) the same answer, line by line
        reference = allocations[0]
        identical = all(a == reference for a in allocations + sql_allocations + full_allocations)
        differing = sum(1 for a, b in zip(reference, sql_allocations[0], strict=True) if a != b)
        if not identical:
            _setup.emit("allocation.lines_differing", differing)
        lines_allocated = sum(1 for _, units in reference if units)
        quantities = dict(
            OrderLine.objects.filter(product_id=product.pk).values_list("id", "quantity")
        )
        lines_partial = sum(1 for pk, units in reference if 0 < units < quantities[pk])

        ours = _setup.median(project_seconds)
        sql = _setup.median(sql_seconds)
        queries = int(_setup.median(project_queries))
        ratio = ours / sql
        _setup.emit("allocation.project_seconds", ours)
        _setup.emit("allocation.project_queries", queries)
        _setup.emit("allocation.sql_seconds", sql)
        _setup.emit("allocation.ratio", ratio, 2)
        _setup.emit("allocation.peak_mb", _setup.median(peaks), 2)
        _setup.emit(f"allocation.peak_mb_{SMALL_LINES}_lines", _setup.median(small_peaks), 2)
        _setup.emit("allocation.product_allocate_seconds", _setup.median(full_seconds))
        _setup.emit("allocation.product_allocate_queries", int(_setup.median(full_queries)))
        _setup.emit("allocation.product_allocate_eta_lines_changed", int(_setup.median(full_etas)))
        _setup.emit("allocation.product_allocate_peak_mb", _setup.median(full_peaks), 2)
        _setup.emit("allocation.lines_allocated", lines_allocated)
        _setup.emit("allocation.lines_partial", lines_partial)
        _setup.emit("allocation.units_allocated", project_result[0][1])
        _setup.emit("allocation.small_units_backordered", small_backordered)
        _setup.emit("allocation.identical", identical)
        _setup.emit(
            "allocation.project_seconds_runs", " ".join(f"{s:.4f}" for s in project_seconds)
        )
        _setup.emit("allocation.sql_seconds_runs", " ".join(f"{s:.4f}" for s in sql_seconds))
        _setup.emit("allocation.project_queries_runs", " ".join(map(str, project_queries)))
        _setup.emit(
            "allocation.product_allocate_seconds_runs",
            " ".join(f"{s:.4f}" for s in full_seconds),
        )
        _setup.emit("allocation.loadavg_1m", os.getloadavg()[0], 2)
        _setup.emit("allocation.target_queries_met", queries <= TARGET_QUERIES)
        _setup.emit("allocation.target_ratio_met", ratio <= TARGET_RATIO)
        if not identical or project_result[0] != sql_result[0]:
            sys.exit("bench: the project and the single statement allocated differently.")


if __name__ == "__main__":
    main()

"""ETA benchmark: a purchase-order date change moves the ETAs of a 10,000-line queue.

One product (backorders allowed, 14-day lead time) with 10,000 waiting lines of 1 to 3
units and 20 open purchase-order lines (20 sent POs from one supplier, expected every 3
days over the next 60 days, together covering part of the queue). ETAs are computed once
(orders.services.product_eta_refresh), then measured, each the median of 3 runs with the
lines, the PO line and the events reset in between:

  (a) orders.services.purchase_order_line_reschedule moving the earliest PO line 10 days
      later ("Supplier delay"): wall seconds, queries, lines whose ETA changed (counted
      against the snapshot and from the ETA_CHANGED events), events written;
  (b) a full recompute with nothing changed (product_eta_refresh): seconds, queries, lines
      written (should be 0);
  (c) after a reschedule, a full recompute writes nothing (the reschedule left every ETA
      where a recompute from scratch puts it).

Targets for (a): fewer than 40 queries, under 1 second.

Run (never touches real data: it creates and drops its own database):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_bench \\
      .venv/bin/python bench/eta.py
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402

LINES = 10_000
PO_LINES = 20
PO_SPACING_DAYS = 3  # expected on days 3, 6, ..., 60 from today
PO_UNITS = (400, 800)  # per PO line: about 12,000 of the queue's ~20,000 units
DELAY_DAYS = 10
LEAD_TIME_DAYS = 14
RUNS = 3
SEED = 20250219
TARGET_QUERIES = 40
TARGET_SECONDS = 1.0
ETA_COLUMNS = ("eta", "eta_source", "eta_reference")


def supply_make(*, product: Any, today: dt.date, seed: int) -> list[Any]:
    """20 sent POs of one line each for `product`; returns the PO lines, earliest first.

    Created as drafts (which move no ETA) and then marked sent in one UPDATE, so the ETAs
    are computed once afterwards, as one refresh.
    """
    from django.utils import timezone

    from inventory.models import PurchaseOrder, PurchaseOrderLine
    from inventory.services import PurchaseLineRequest, supplier_create
    from orders.services import purchase_order_create

    rng = random.Random(seed)
    supplier = supplier_create(name="Bench Supplier", lead_time_days=LEAD_TIME_DAYS)
    for i in range(PO_LINES):
        purchase_order_create(
            supplier=supplier,
            lines=[
                PurchaseLineRequest(
                    product=product,
                    quantity=rng.randint(*PO_UNITS),
                    expected_date=today + dt.timedelta(days=PO_SPACING_DAYS * (i + 1)),
                )
            ],
        )
    PurchaseOrder.objects.filter(lines__product=product).update(
        status=PurchaseOrder.Status.SENT, sent_at=timezone.now()
    )
    return list(PurchaseOrderLine.objects.filter(product=product).order_by("expected_date", "id"))


def counted(fn: Any) -> tuple[float, int, Any]:
    """(seconds, queries, result) of one call."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        seconds, result = _setup.timed(fn)
    return seconds, len(ctx.captured_queries), result


def eta_events(watermark: int) -> tuple[int, int]:
    """(ETA_CHANGED events, lines they name) written after event id `watermark`."""
    from orders.models import OrderEvent

    rows = list(
        OrderEvent.objects.filter(id__gt=watermark, kind=OrderEvent.Kind.ETA_CHANGED).values_list(
            "data", flat=True
        )
    )
    return len(rows), sum(len(data["lines"]) for data in rows)


def main() -> None:
    _setup.bootstrap()
    from django.db import reset_queries
    from django.db.models import Count
    from django.test.utils import override_settings

    from inventory.models import PurchaseOrderEvent, PurchaseOrderLine, Stock
    from orders.models import OrderEvent, OrderLine
    from orders.selectors import store_today
    from orders.services import product_eta_refresh, purchase_order_line_reschedule

    with override_settings(DEBUG=False), _setup.bench_database() as db_name:
        _setup.emit("eta.database", db_name)
        today = store_today()
        product = _setup.product_make(sku="BENCH-ETA", lead_time_days=LEAD_TIME_DAYS)
        backordered = _setup.queue_make(product=product, lines=LINES, seed=SEED)
        po_lines = supply_make(product=product, today=today, seed=SEED + 1)
        incoming = sum(line.quantity_ordered for line in po_lines)
        initial_seconds, initial_queries, initial_changed = counted(
            lambda: product_eta_refresh(product_id=product.pk)
        )
        by_source = dict(
            OrderLine.objects.filter(product=product)
            .order_by()
            .values("eta_source")
            .annotate(n=Count("id"))
            .values_list("eta_source", "n")
        )
        snapshot = _setup.Snapshot(
            product_id=product.pk,
            models=(OrderLine, Stock, PurchaseOrderLine),
            event_models=(OrderEvent, PurchaseOrderEvent),
        )
        _setup.vacuum_analyze(
            (
                "orders_orderline",
                "orders_orderevent",
                "inventory_stock",
                "inventory_purchaseorderline",
                "inventory_purchaseorderevent",
            )
        )
        moved = po_lines[0]
        new_date = moved.expected_date + dt.timedelta(days=DELAY_DAYS)
        _setup.emit("eta.lines_waiting", LINES)
        _setup.emit("eta.units_backordered", backordered)
        _setup.emit("eta.po_lines", len(po_lines))
        _setup.emit("eta.units_incoming", incoming)
        _setup.emit("eta.initial_refresh_seconds", initial_seconds)
        _setup.emit("eta.initial_refresh_queries", initial_queries)
        _setup.emit("eta.initial_lines_set", initial_changed)
        for source, n in sorted(by_source.items()):
            _setup.emit(f"eta.initial_source_{source or 'none'}", n)
        _setup.emit(
            "eta.moved_po_line",
            f"{moved.expected_date.isoformat()}->{new_date.isoformat()} "
            f"({moved.quantity_ordered} units)",
        )

        # (a) a PO line's date moves
        seconds_runs: list[float] = []
        queries_runs: list[int] = []
        changed_runs: list[int] = []
        event_runs: list[tuple[int, int]] = []
        for _ in range(RUNS):
            snapshot.restore()
            watermark = OrderEvent.objects.order_by("-id").values_list("id", flat=True).first()
            seconds, queries, _line = counted(
                lambda: purchase_order_line_reschedule(
                    line=moved, expected_date=new_date, reason="Supplier delay"
                )
            )
            seconds_runs.append(seconds)
            queries_runs.append(queries)
            changed_runs.append(snapshot.changed(OrderLine, ETA_COLUMNS))
            event_runs.append(eta_events(watermark or 0))
            reset_queries()

        # (c) a recompute after the reschedule writes nothing
        after_seconds, after_queries, after_changed = counted(
            lambda: product_eta_refresh(product_id=product.pk)
        )

        # (b) a full recompute with nothing changed
        noop_seconds: list[float] = []
        noop_queries: list[int] = []
        noop_changed: list[int] = []
        for _ in range(RUNS):
            snapshot.restore()
            seconds, queries, changed = counted(lambda: product_eta_refresh(product_id=product.pk))
            noop_seconds.append(seconds)
            noop_queries.append(queries)
            noop_changed.append(changed + snapshot.changed(OrderLine, ETA_COLUMNS))
            reset_queries()
        snapshot.restore()

        seconds = _setup.median(seconds_runs)
        queries = int(_setup.median(queries_runs))
        _setup.emit("eta.reschedule_seconds", seconds)
        _setup.emit("eta.reschedule_queries", queries)
        _setup.emit("eta.reschedule_lines_changed", int(_setup.median(changed_runs)))
        _setup.emit("eta.reschedule_events", event_runs[0][0])
        _setup.emit("eta.reschedule_event_lines", event_runs[0][1])
        _setup.emit("eta.noop_refresh_seconds", _setup.median(noop_seconds))
        _setup.emit("eta.noop_refresh_queries", int(_setup.median(noop_queries)))
        _setup.emit("eta.noop_refresh_lines_changed", max(noop_changed))
        _setup.emit("eta.refresh_after_reschedule_seconds", after_seconds)
        _setup.emit("eta.refresh_after_reschedule_queries", after_queries)
        _setup.emit("eta.refresh_after_reschedule_lines_changed", after_changed)
        _setup.emit("eta.reschedule_seconds_runs", " ".join(f"{s:.4f}" for s in seconds_runs))
        _setup.emit("eta.reschedule_queries_runs", " ".join(map(str, queries_runs)))
        _setup.emit("eta.reschedule_lines_changed_runs", " ".join(map(str, changed_runs)))
        _setup.emit("eta.noop_refresh_seconds_runs", " ".join(f"{s:.4f}" for s in noop_seconds))
        _setup.emit("eta.loadavg_1m", os.getloadavg()[0], 2)
        _setup.emit("eta.target_queries_met", queries < TARGET_QUERIES)
        _setup.emit("eta.target_seconds_met", seconds < TARGET_SECONDS)
        consistent = (
            len(set(changed_runs)) == 1
            and all(lines == changed_runs[0] for _, lines in event_runs)
            and max(noop_changed) == 0
            and after_changed == 0
        )
        _setup.emit("eta.consistent", consistent)
        if not consistent:
            sys.exit("bench: ETA counts disagree between runs, events and recomputes.")


if __name__ == "__main__":
    main()

"""Deadline-day benchmark: thousands of orders reach the end of their consent window at once.

A supplier failed: 10,000 paid orders of 5 products (one line each, 1 to 3 units) got a branch L
delay notice that reached them, and nobody answered; their consent window closed yesterday, so
the Mail Order Rule cancels and refunds every one of them today. Behind them, 1,000 later orders
of the same products still wait, on a notice whose window is open. Each product has an open PO
covering part of its queue, so the waiting orders get dates as the cancelled ones leave.
Everything is bulk-created; ETAs are computed once before the run. Measured:

  (a) the engine run as beat runs it (`compliance.services.rule_run` over every open order):
      wall seconds, queries (every statement through Django's cursor, savepoints included),
      queries per order evaluated;
  (b) for comparison, deciding orders alone (`order_rule_evaluate`, one transaction and one
      queue refresh each) on the first 200 due orders of a sixth product with a queue of the
      same size: seconds per order (each of them walks its product's whole queue);
  (c) the database's floor in the same run: the median round trip of `SELECT 1` (before and
      after the run), times the run's number of statements;
  (d) checks: every due order cancelled with one refund, one cancellation event and one email,
      the waiting ones untouched but for their ETAs, no invariant broken.

Emails are written to the outbox and their send tasks enqueued to an in-memory broker, not
sent. Target: the run under 60 s at 10,000 orders, a bounded number of queries per order.

Run (never touches real data: it creates and drops its own database):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_bench \\
      .venv/bin/python bench/deadline.py [--smoke] [--orders N] [--products N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Tasks go to an in-memory broker (not run inline), emails nowhere, no DEBUG query log.
os.environ.update(
    {
        "DEBUG": "false",
        "CELERY_BROKER_URL": "memory://",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "MAIL_ORDER_RULE_ENABLED": "true",
    }
)

from bench import _setup  # noqa: E402

SEED = 435
TARGET_SECONDS = 60.0
ALONE_SAMPLE = 200


def orders_make(
    *, product: Any, count: int, paid_at: dt.datetime, tag: str, rng: random.Random
) -> list[int]:
    """`count` paid one-line orders of `product`, one customer each, bulk-created."""
    from orders.models import Customer, Order, OrderLine

    customers = Customer.objects.bulk_create(
        (Customer(email=f"{tag}-{i}@bench.example", name=f"Customer {i}") for i in range(count)),
        batch_size=5000,
    )
    placed = [paid_at + dt.timedelta(seconds=i) for i in range(count)]
    quantities = [rng.randint(1, 3) for _ in range(count)]
    orders = Order.objects.bulk_create(
        (
            Order(
                number=f"{tag}-{i:07d}",
                customer=customers[i],
                placed_at=placed[i],
                paid_at=placed[i],
                amount_paid=product.unit_price * quantities[i],
                payment_method=Order.PaymentMethod.CARD,
            )
            for i in range(count)
        ),
        batch_size=5000,
    )
    OrderLine.objects.bulk_create(
        (
            OrderLine(
                order=orders[i],
                product=product,
                quantity=quantities[i],
                unit_price=product.unit_price,
                queued_at=placed[i],
            )
            for i in range(count)
        ),
        batch_size=5000,
    )
    return [order.pk for order in orders]


def notices_make(*, order_ids: list[int], paid_at: dt.datetime) -> None:
    """Each order got a branch L notice (no date) 5 days after payment, and its email went out:
    the rule's record as the engine leaves it."""
    from compliance.models import DelayNotice, OrderCompliance
    from config.calendar import store_date
    from notifications.models import Notification
    from orders.models import Order

    deadline = store_date(paid_at) + dt.timedelta(days=30)
    sent = paid_at + dt.timedelta(days=5)
    orders = list(Order.objects.filter(pk__in=order_ids).select_related("customer"))
    OrderCompliance.objects.bulk_create(
        (
            OrderCompliance(
                order=order,
                state=OrderCompliance.State.NOTICE_SENT,
                properly_completed_at=order.paid_at,
                deadline=deadline,
                basis=OrderCompliance.Basis.THIRTY_DAYS,
                branch=OrderCompliance.Branch.LONG,
                cancel_at_end_of=deadline + dt.timedelta(days=30),
            )
            for order in orders
        ),
        batch_size=5000,
    )
    emails = Notification.objects.bulk_create(
        (
            Notification(
                kind=Notification.Kind.DELAY_NOTICE,
                order=order,
                recipient=order.customer.email,
                dedupe_key=f"rule:bench:{order.pk}",
                state=Notification.State.SENT,
                send_after=sent,
                sent_at=sent,
            )
            for order in orders
        ),
        batch_size=5000,
    )
    DelayNotice.objects.bulk_create(
        (
            DelayNotice(
                order=order,
                kind=DelayNotice.Kind.FIRST,
                branch=OrderCompliance.Branch.LONG,
                deadline=deadline,
                delay_reason="Out of stock and our supplier has not confirmed a delivery date.",
                answer_by=deadline + dt.timedelta(days=30),
                decision_key=f"{order.pk}:first:{deadline.isoformat()}",
                notification=email,
            )
            for order, email in zip(orders, emails, strict=True)
        ),
        batch_size=5000,
    )


def shop_make(*, products: int, due: int, waiting: int) -> dict[str, Any]:
    """The products, their POs, the due and the waiting orders, their notices and ETAs."""
    from django.utils import timezone

    from inventory.services import PurchaseLineRequest, supplier_create
    from orders.services import purchase_order_create

    rng = random.Random(SEED)
    now = timezone.now()
    due_paid = now - dt.timedelta(days=62)  # T + 30 was yesterday
    waiting_paid = now - dt.timedelta(days=10)
    supplier = supplier_create(name="Failed supplier")
    shop: dict[str, Any] = {"due": [], "waiting": [], "alone": [], "products": []}
    for index in range(products + 1):
        alone = index == products  # the comparison product, decided order by order
        product = _setup.product_make(sku=f"DEAD-{index}", lead_time_days=None)
        per_product = due // products
        due_ids = orders_make(
            product=product, count=per_product, paid_at=due_paid, tag=f"d{index}", rng=rng
        )
        waiting_ids = orders_make(
            product=product,
            count=waiting // products,
            paid_at=waiting_paid,
            tag=f"w{index}",
            rng=rng,
        )
        notices_make(order_ids=due_ids, paid_at=due_paid)
        notices_make(order_ids=waiting_ids, paid_at=waiting_paid)
        # The PO covers about half the due units (its ETAs are computed as it is sent): once
        # they are cancelled it covers the waiting orders.
        purchase_order_create(
            supplier=supplier,
            lines=[PurchaseLineRequest(product, per_product, (now + dt.timedelta(days=60)).date())],
            send=True,
        )
        if alone:
            shop["alone"] += due_ids[: min(ALONE_SAMPLE, len(due_ids))]
        else:
            shop["due"] += due_ids
            shop["waiting"] += waiting_ids
            shop["products"].append(product.pk)
    return shop


def round_trip_ms(samples: int = 500) -> float:
    """The database's floor in this run: the median ms of one `SELECT 1` round trip."""
    import time

    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(samples):
            began = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            times.append(time.perf_counter() - began)
    return _setup.median(times) * 1000


class QueryCounter:
    """Counts every statement through Django's cursor (cheaper than keeping them all)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a small run of a few seconds")
    parser.add_argument("--orders", type=int, default=None, help="due orders (10,000)")
    parser.add_argument("--products", type=int, default=5)
    args = parser.parse_args()
    due = args.orders or (300 if args.smoke else 10_000)
    waiting = due // 10

    _setup.bootstrap()
    from django.db import connection
    from django.utils import timezone

    from compliance.models import OrderCompliance
    from compliance.services import order_rule_evaluate, rule_run
    from notifications.models import Notification
    from orders.models import OrderEvent, OrderLine, Refund
    from orders.selectors import invariant_violations

    with _setup.bench_database():
        shop = shop_make(products=args.products, due=due, waiting=waiting)
        _setup.vacuum_analyze()
        eta_before = dict(
            OrderLine.objects.filter(order_id__in=shop["waiting"]).values_list("pk", "eta")
        )
        now = timezone.now()

        alone_seconds, _ = _setup.timed(
            lambda: [order_rule_evaluate(order_id=pk, now=now) for pk in shop["alone"]]
        )

        evaluated = shop["due"] + shop["waiting"]
        counter = QueryCounter()
        trip_before = round_trip_ms()
        with connection.execute_wrapper(counter):
            seconds, _ = _setup.timed(lambda: rule_run(order_ids=evaluated, now=now))
        trip_ms = (trip_before + round_trip_ms()) / 2

        cancelled = OrderCompliance.objects.filter(
            order_id__in=shop["due"], state=OrderCompliance.State.CANCELLED
        ).count()
        refunds = Refund.objects.filter(order_id__in=shop["due"]).count()
        events = OrderEvent.objects.filter(
            order_id__in=shop["due"], kind=OrderEvent.Kind.CANCELLED
        ).count()
        emails = Notification.objects.filter(
            order_id__in=shop["due"], kind=Notification.Kind.CANCELLATION
        ).count()
        still_waiting = OrderCompliance.objects.filter(
            order_id__in=shop["waiting"], state=OrderCompliance.State.NOTICE_SENT
        ).count()
        eta_after = dict(
            OrderLine.objects.filter(order_id__in=shop["waiting"]).values_list("pk", "eta")
        )
        moved = sum(1 for pk, eta in eta_after.items() if eta != eta_before[pk])
        violations = invariant_violations()

        _setup.emit("deadline.orders_due", len(shop["due"]))
        _setup.emit("deadline.orders_waiting", len(shop["waiting"]))
        _setup.emit("deadline.products", args.products)
        _setup.emit("deadline.seconds", seconds, 2)
        _setup.emit("deadline.queries", counter.count)
        _setup.emit("deadline.queries_per_order", counter.count / len(evaluated), 1)
        _setup.emit("deadline.ms_per_order", seconds * 1000 / len(evaluated), 2)
        # The same number of statements as bare round trips: what the database alone costs now.
        _setup.emit("deadline.round_trip_ms", trip_ms, 3)
        _setup.emit("deadline.round_trips_seconds", counter.count * trip_ms / 1000, 2)
        _setup.emit("deadline.ratio_to_round_trips", seconds / (counter.count * trip_ms / 1000), 2)
        _setup.emit("deadline.alone_orders", len(shop["alone"]))
        _setup.emit(
            "deadline.alone_ms_per_order", alone_seconds * 1000 / max(1, len(shop["alone"])), 2
        )
        _setup.emit("deadline.cancelled", f"{cancelled}/{len(shop['due'])}")
        _setup.emit("deadline.refunds", refunds)
        _setup.emit("deadline.cancellation_events", events)
        _setup.emit("deadline.cancellation_emails", emails)
        _setup.emit("deadline.waiting_untouched", f"{still_waiting}/{len(shop['waiting'])}")
        _setup.emit("deadline.waiting_etas_moved", moved)
        _setup.emit("deadline.invariant_violations", len(violations))
        _setup.emit("deadline.targets_met", "yes" if seconds < TARGET_SECONDS else "no")
        _setup.emit("deadline.loadavg_1m", os.getloadavg()[0], 2)
        connection.close()
        n = len(shop["due"])
        if (cancelled, refunds, events, emails) != (n, n, n, n) or violations:
            raise SystemExit("bench: the deadline run missed, doubled or broke something")
        if still_waiting != len(shop["waiting"]):
            raise SystemExit("bench: the deadline run touched orders still in their window")


if __name__ == "__main__":
    main()

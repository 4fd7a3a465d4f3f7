"""Notifications benchmark: a real Celery worker sends 1,000 confirmation emails from the outbox.

1,000 orders are placed through orders.services.order_place (a third in stock, a third
backordered, a third partly backordered), which writes 1,000 pending ORDER_CONFIRMATION rows.
The tasks the placements published are then dropped from the queue, so the run measures only
what follows: a worker started in this process (celery.contrib.testing.worker.start_worker,
threads pool, concurrency 4, each thread on its own database connection, closed after each
task) consumes from Redis while every row's notification_send_task is enqueued once; the clock
runs from the first enqueue until the last send task has finished. The provider is anymail's
test backend (EMAIL_BACKEND="anymail.backends.test.EmailBackend"): each send renders the
text and HTML templates and goes through anymail, but nothing leaves the machine.

Printed: wall seconds, emails per second, time to enqueue, the send task's median and 95th
percentile duration, rows sent, rows lost (still pending or sending, or failed), emails in
the outbox, and notification ids emailed more than once (by the X-Backorder-Desk-Notification
header). Targets: nothing lost, nothing doubled.

Run (never touches real data: it creates and drops its own database; the broker keys live
under a prefix of the run's own and are deleted at the end):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_bench \\
  REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/notifications.py
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _setup  # noqa: E402

ORDERS = 1_000
CONCURRENCY = 4
TIMEOUT = 600.0  # seconds to wait for the worker before giving up
HEADER = "X-Backorder-Desk-Notification"
EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


class Sends:
    """notification_send_task runs finished by the worker, recorded from its threads."""

    def __init__(self, task_name: str) -> None:
        self.task_name = task_name
        self.changed = threading.Condition()
        self.finished = 0
        self.failures: list[str] = []
        self.started: dict[str, float] = {}
        self.durations: list[float] = []

    def on_prerun(self, sender: Any, task_id: str = "", **kwargs: Any) -> None:
        if sender.name == self.task_name:
            with self.changed:
                self.started[task_id] = time.perf_counter()

    def on_postrun(
        self, sender: Any, task_id: str = "", state: str | None = None, **kwargs: Any
    ) -> None:
        from django.db import connections

        connections.close_all()  # this thread's; the run's database is dropped at the end
        if sender.name != self.task_name:
            return
        with self.changed:
            began = self.started.pop(task_id, None)
            if began is not None:
                self.durations.append(time.perf_counter() - began)
            if state != "RETRY":
                self.finished += 1
            if state not in ("SUCCESS", "RETRY"):
                self.failures.append(f"{state}: {kwargs.get('retval')!r}")
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: self.finished >= count or bool(self.failures), timeout=timeout
            )


@contextmanager
def broker_under_prefix(redis_url: str) -> Iterator[tuple[Any, str]]:
    """Publish to Redis under a key prefix of this run's own; delete its keys at the end."""
    import redis

    from config import celery_app

    def drop_pools() -> None:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    client = redis.Redis.from_url(redis_url)
    prefix = f"backorder-bench-{uuid.uuid4().hex}:"
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = redis_url
    conf.broker_transport_options = {**saved[2], "global_keyprefix": prefix}
    drop_pools()
    try:
        yield client, prefix
    finally:
        conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved
        drop_pools()
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()


@contextmanager
def running_worker(sends: Sends) -> Iterator[None]:
    from celery import signals
    from celery.contrib.testing.worker import start_worker

    from config import celery_app

    def leave_logging_alone(**kwargs: Any) -> None:
        """The worker keeps the project's logging; its per-task INFO lines are muted below."""

    receivers = [
        (signals.task_prerun, sends.on_prerun),
        (signals.task_postrun, sends.on_postrun),
        (signals.setup_logging, leave_logging_alone),
    ]
    logging.getLogger("celery").setLevel(logging.WARNING)
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)
    try:
        with start_worker(
            celery_app,
            pool="threads",
            concurrency=CONCURRENCY,
            perform_ping_check=False,
            shutdown_timeout=60.0,
        ):
            yield
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)


def place_orders(count: int) -> int:
    """`count` orders through the real service; returns how many went (partly) on backorder."""
    from orders.models import OrderLine
    from orders.services import LineRequest, order_place

    in_stock = _setup.product_make(sku="BENCH-MAIL-A", on_hand=count)
    out_of_stock = _setup.product_make(sku="BENCH-MAIL-B", lead_time_days=14)
    patterns = [
        [LineRequest(sku=in_stock.sku, quantity=1)],
        [LineRequest(sku=out_of_stock.sku, quantity=2)],
        [LineRequest(sku=in_stock.sku, quantity=1), LineRequest(sku=out_of_stock.sku, quantity=1)],
    ]
    for i in range(count):
        order_place(
            customer_email=f"customer{i}@bench.example",
            customer_name=f"Customer {i}",
            lines=patterns[i % len(patterns)],
        )
    return (
        OrderLine.objects.filter(quantity_backordered__gt=0).values("order_id").distinct().count()
    )


def main() -> None:
    _setup.bootstrap()
    from django.conf import settings
    from django.core import mail
    from django.test.utils import override_settings

    from notifications.models import Notification
    from notifications.tasks import notification_send_task

    if not settings.REDIS_URL:
        sys.exit("bench: needs Redis. Set REDIS_URL=redis://127.0.0.1:6379/15.")
    State = Notification.State

    with (
        override_settings(DEBUG=False, EMAIL_BACKEND=EMAIL_BACKEND),
        _setup.bench_database() as db_name,
        broker_under_prefix(settings.REDIS_URL) as (client, prefix),
    ):
        _setup.emit("notifications.database", db_name)
        place_seconds, backordered = _setup.timed(lambda: place_orders(ORDERS))
        # Drop what the placements published (sends, rule evaluations): only our enqueue counts.
        client.delete(f"{prefix}celery")
        ids = list(
            Notification.objects.filter(state=State.PENDING)
            .order_by("id")
            .values_list("id", flat=True)
        )
        kinds = Counter(Notification.objects.values_list("kind", flat=True))
        _setup.vacuum_analyze(("notifications_notification",))
        mail.outbox = []

        sends = Sends(notification_send_task.name)
        with running_worker(sends):
            began = time.perf_counter()
            for notification_id in ids:
                notification_send_task.delay(notification_id)
            enqueue_seconds = time.perf_counter() - began
            finished_in_time = sends.wait_for(len(ids), TIMEOUT)
            seconds = time.perf_counter() - began

        states = Counter(Notification.objects.filter(pk__in=ids).values_list("state", flat=True))
        sent = states[State.SENT]
        lost = states[State.PENDING] + states[State.SENDING] + states[State.FAILED]
        told = Counter(message.extra_headers.get(HEADER) for message in mail.outbox)
        doubled = sum(1 for n in told.values() if n > 1)
        durations = sorted(sends.durations)

        _setup.emit("notifications.orders_placed", ORDERS)
        _setup.emit("notifications.orders_backordered", backordered)
        _setup.emit("notifications.place_seconds", place_seconds)
        _setup.emit("notifications.pending", len(ids))
        _setup.emit("notifications.kinds", " ".join(f"{k}={n}" for k, n in sorted(kinds.items())))
        _setup.emit("notifications.concurrency", CONCURRENCY)
        _setup.emit("notifications.seconds", seconds)
        _setup.emit("notifications.enqueue_seconds", enqueue_seconds)
        _setup.emit("notifications.emails_per_second", sent / seconds, 1)
        if durations:
            p95 = durations[min(len(durations) - 1, int(0.95 * len(durations)))]
            _setup.emit("notifications.task_median_ms", statistics.median(durations) * 1000, 1)
            _setup.emit("notifications.task_p95_ms", p95 * 1000, 1)
        _setup.emit("notifications.sent", sent)
        _setup.emit("notifications.lost", lost)
        _setup.emit("notifications.outbox", len(mail.outbox))
        _setup.emit("notifications.doubled", doubled)
        _setup.emit("notifications.task_failures", len(sends.failures))
        _setup.emit("notifications.loadavg_1m", os.getloadavg()[0], 2)
        _setup.emit("notifications.target_nothing_lost_met", lost == 0 and sent == len(ids))
        _setup.emit("notifications.target_nothing_doubled_met", doubled == 0)
        if not finished_in_time:
            sys.exit(f"bench: the worker finished {sends.finished} of {len(ids)} sends in time.")
        if sends.failures:
            sys.exit(f"bench: send tasks failed: {sends.failures[:3]}")


if __name__ == "__main__":
    main()

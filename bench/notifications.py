"""Notifications benchmark: real Celery workers drain 1,000 emails from the outbox.

1,000 orders are placed through orders.services.order_place (a third in stock, a third
backordered, a third partly backordered), which writes 1,000 pending ORDER_CONFIRMATION rows;
the drains the placements published are dropped from the queue, so the run measures only what
follows. Then, for 1, 2 and 4 worker processes in turn (`celery worker --pool prefork
--concurrency N`, started and ready before the clock starts), one drain is published — as a
restock that writes 1,000 emails in one transaction publishes one — and the clock runs until
the provider has the last email. Each drain claims a batch (NOTIFICATION_DRAIN_BATCH) with
SKIP LOCKED, publishes its successor while the batch is full, renders and sends the batch over
one connection; so the workers join in one after another. Between runs the rows are put back
to pending.

The provider is anymail's test backend (each send renders the text and HTML templates and goes
through anymail, nothing leaves the machine), which also appends the email's
X-Backorder-Desk-Notification header to a file of the run's own: emails lost (rows not sent)
and doubled (a header twice) are counted from the database and that file.

Printed per worker count: wall seconds, emails per second, drains run, and rows sent, lost and
doubled; beside them the database-only limit measured in the same run: the same claims
(SKIP LOCKED, batches of the same size) and one UPDATE per email on one connection,
committed without waiting for the disk as the drain's are, without rendering or sending.
Targets: at least 300 emails/s, nothing lost, nothing doubled.

Run (never touches real data: it creates and drops its own database; the broker keys live
under a prefix of the run's own and are deleted at the end):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_bench \\
  REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/notifications.py [--smoke]

--smoke: 60 orders, 1 and 2 worker processes (seconds, for CI).
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DEBUG", "false")

from bench import _setup  # noqa: E402

ORDERS = 1_000
SMOKE_ORDERS = 60
WORKER_COUNTS = (1, 2, 4)
SMOKE_WORKER_COUNTS = (1, 2)
TIMEOUT = 300.0  # seconds a run may take before the benchmark gives up
TARGET_EMAILS_PER_SECOND = 300.0
HEADER = "X-Backorder-Desk-Notification"
RECORD_ENV = "BENCH_NOTIFICATIONS_RECORD"
READY_ENV = "BENCH_NOTIFICATIONS_READY"
PREFIX_ENV = "BENCH_NOTIFICATIONS_PREFIX"


@functools.cache
def _recording_backend() -> type:
    from anymail.backends.test import EmailBackend

    class RecordingBackend(EmailBackend):  # type: ignore[misc]
        """Anymail's test backend, noting each accepted email's outbox id (one line each:
        short appends to one file from several processes do not interleave)."""

        def send_messages(self, email_messages: Any) -> int:
            sent = int(super().send_messages(email_messages))
            lines = "".join(
                f"{message.extra_headers[HEADER]} {time.time():.6f}\n" for message in email_messages
            )
            fd = os.open(os.environ[RECORD_ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            try:
                os.write(fd, lines.encode())
            finally:
                os.close(fd)
            return sent

    return RecordingBackend


def _use_broker(redis_url: str, prefix: str) -> None:
    """Publish to (and consume from) Redis under the run's own key prefix."""
    from config import celery_app

    conf = celery_app.conf
    conf.task_always_eager = False
    conf.broker_url = redis_url
    conf.broker_transport_options = {**conf.broker_transport_options, "global_keyprefix": prefix}
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def worker_main(concurrency: int) -> None:
    """A worker process of the run (started by the benchmark with --worker N)."""
    _setup.bootstrap()
    from celery import signals
    from django.conf import settings

    from config import celery_app

    settings.EMAIL_BACKEND = "bench.notifications.RecordingBackend"
    _use_broker(settings.REDIS_URL, os.environ[PREFIX_ENV])

    @signals.worker_ready.connect(weak=False)
    def ready(**kwargs: Any) -> None:
        Path(os.environ[READY_ENV]).write_text("ready")

    celery_app.worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=bench-{uuid.uuid4().hex[:8]}@localhost",
        ]
    )


def __getattr__(name: str) -> Any:
    # The email backend is built on first use, after Django is set up (EMAIL_BACKEND names it).
    if name == "RecordingBackend":
        return _recording_backend()
    raise AttributeError(name)


def database_url(name: str) -> str:
    """DATABASE_URL with the database name replaced (the run's throwaway database)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextmanager
def workers(*, concurrency: int, database: str, prefix: str, record: Path) -> Iterator[None]:
    """A `celery worker` process with `concurrency` prefork children, ready when entered."""
    ready = record.with_suffix(".ready")
    ready.unlink(missing_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(database),
        PREFIX_ENV: prefix,
        RECORD_ENV: str(record),
        READY_ENV: str(ready),
    }
    process = subprocess.Popen(  # noqa: S603 - this script, fixed arguments
        [sys.executable, str(Path(__file__).resolve()), "--worker", str(concurrency)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the worker's banner; warnings and errors still show
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench: the worker did not start")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()  # a warm shutdown: the children finish their task first
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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


def outbox_reset() -> None:
    """Every row pending again, as it was before the run."""
    from django.utils import timezone

    from notifications.models import Notification

    Notification.objects.update(
        state=Notification.State.PENDING,
        attempts=0,
        sent_at=None,
        provider_message_id="",
        subject="",
        body_text="",
        body_html="",
        send_after=timezone.now(),
    )
    _setup.vacuum_analyze(("notifications_notification",))


def recorded(record: Path) -> list[tuple[int, float]]:
    if not record.exists():
        return []
    return [
        (int(pk), float(at))
        for pk, at in (line.split() for line in record.read_text().splitlines() if line)
    ]


def drain_run(*, concurrency: int, database: str, prefix: str, client: Any, ids: list[int]) -> dict:
    """One run: workers ready, one drain published, until the provider has every email."""
    from notifications.models import Notification
    from notifications.tasks import notifications_drain_task

    State = Notification.State
    outbox_reset()
    with tempfile.TemporaryDirectory() as folder:
        record = Path(folder) / "provider.log"
        with workers(concurrency=concurrency, database=database, prefix=prefix, record=record):
            began = time.time()
            notifications_drain_task.delay()
            deadline = time.monotonic() + TIMEOUT
            while len(recorded(record)) < len(ids) and time.monotonic() < deadline:
                time.sleep(0.05)
            emails = recorded(record)
        client.delete(f"{prefix}celery")
    last = max((at for _, at in emails), default=began)
    seconds = max(last - began, 1e-6)
    states = Counter(Notification.objects.filter(pk__in=ids).values_list("state", flat=True))
    told = Counter(pk for pk, _ in emails)
    return {
        "seconds": seconds,
        "emails_per_second": states[State.SENT] / seconds,
        "sent": states[State.SENT],
        "lost": len(ids) - states[State.SENT],
        "doubled": sum(1 for n in told.values() if n > 1),
    }


def database_limit(ids: list[int], batch: int) -> float:
    """Emails per second the outbox's own SQL allows on one connection: claim batches with
    SKIP LOCKED, then one UPDATE per email committed without waiting for the disk, as the
    drain does, without rendering or sending."""
    from django.db import connection, transaction

    outbox_reset()
    began = time.perf_counter()
    with connection.cursor() as cursor:
        while True:
            with transaction.atomic():
                cursor.execute(
                    "SELECT id FROM notifications_notification WHERE state = 'pending' "
                    "AND send_after <= now() ORDER BY send_after, id LIMIT %s "
                    "FOR UPDATE SKIP LOCKED",
                    [batch],
                )
                claimed = [row[0] for row in cursor.fetchall()]
                if not claimed:
                    break
                cursor.execute(
                    "UPDATE notifications_notification SET state = 'sending', "
                    "attempts = attempts + 1, updated_at = now() WHERE id = ANY(%s)",
                    [claimed],
                )
            cursor.execute("SET synchronous_commit TO OFF")
            for pk in claimed:
                cursor.execute(
                    "UPDATE notifications_notification SET state = 'sent', sent_at = now(), "
                    "subject = %s, updated_at = now() WHERE id = %s",
                    ["subject", pk],
                )
            cursor.execute("RESET synchronous_commit")
    return len(ids) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="60 orders, 1 and 2 processes")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    orders = SMOKE_ORDERS if args.smoke else ORDERS
    counts = SMOKE_WORKER_COUNTS if args.smoke else WORKER_COUNTS

    _setup.bootstrap()
    import redis
    from django.conf import settings
    from django.test.utils import override_settings

    from notifications.models import Notification

    if not settings.REDIS_URL:
        sys.exit("bench: needs Redis. Set REDIS_URL=redis://127.0.0.1:6379/15.")
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"backorder-bench-{uuid.uuid4().hex}:"
    failed = []
    best = 0.0
    try:
        with override_settings(DEBUG=False), _setup.bench_database() as db_name:
            _use_broker(settings.REDIS_URL, prefix)
            _setup.emit("notifications.database", db_name)
            place_seconds, backordered = _setup.timed(lambda: place_orders(orders))
            client.delete(f"{prefix}celery")  # the placements' drains and rule evaluations
            ids = list(Notification.objects.order_by("id").values_list("id", flat=True))
            _setup.emit("notifications.orders_placed", orders)
            _setup.emit("notifications.orders_backordered", backordered)
            _setup.emit("notifications.place_seconds", place_seconds)
            _setup.emit("notifications.emails", len(ids))
            _setup.emit("notifications.batch", settings.NOTIFICATION_DRAIN_BATCH)
            limit = database_limit(ids, settings.NOTIFICATION_DRAIN_BATCH)
            _setup.emit("notifications.db_limit_emails_per_second", limit, 1)
            for count in counts:
                run = drain_run(
                    concurrency=count, database=db_name, prefix=prefix, client=client, ids=ids
                )
                name = f"notifications.workers_{count}"
                _setup.emit(f"{name}.seconds", run["seconds"], 3)
                _setup.emit(f"{name}.emails_per_second", run["emails_per_second"], 1)
                _setup.emit(f"{name}.ratio_to_db_limit", run["emails_per_second"] / limit, 3)
                _setup.emit(f"{name}.sent", run["sent"])
                _setup.emit(f"{name}.lost", run["lost"])
                _setup.emit(f"{name}.doubled", run["doubled"])
                best = max(best, run["emails_per_second"])
                if run["lost"] or run["doubled"]:
                    failed.append(
                        f"{count} worker(s): lost {run['lost']}, doubled {run['doubled']}"
                    )
            _setup.emit("notifications.loadavg_1m", os.getloadavg()[0], 2)
            _setup.emit("notifications.target_nothing_lost_or_doubled_met", not failed)
            _setup.emit("notifications.target_300_per_second_met", best >= TARGET_EMAILS_PER_SECOND)
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
    if failed:
        sys.exit(f"bench: {'; '.join(failed)}")


if __name__ == "__main__":
    main()

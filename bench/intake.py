"""Order intake benchmark: storefront orders in-process and over HTTP against the database's
own limit, in the same run.

The orders are 3-line orders from a sales channel, each with its own Idempotency-Key. Two of
the three lines are in stock; one order in three also has a line of a product with nothing on
hand (backorders allowed), so it is backordered with an ETA. Measured:

  (a) in-process, one thread and one database connection, one order after another:
      `orders.services.order_place` alone, and the whole API order create (authentication,
      Idempotency-Key, order_place, the answer) through Django's test client: orders per
      second, p50 / p95 ms of one order, queries per order (CaptureQueriesContext, BEGIN and
      COMMIT included);
  (b) over HTTP: gunicorn (the production server, already a dependency) serves the project on
      127.0.0.1 (a free port) as gunicorn.conf.py has it (sync workers, two per core and one;
      --worker-class, --workers, --threads try others); 16 client threads, each with its own
      connection (kept alive where the worker class keeps it),
      post to `POST /api/v1/orders/` with the channel's API key: orders per second over the
      whole run (after a warm-up of one order per client, not counted), p50 / p95 latency of
      one POST as the client sees it;
  (c) the database-level limit in the same run: the same work without the application —
      per order one transaction that locks the order's 3 stock rows in id order, inserts the
      order and its 3 lines and bumps the allocated counts — in raw SQL through psycopg on
      tables of its own, with 1 connection (the yardstick of (a)) and with 4 and 16 (the
      better of the two is the yardstick of (b));
  (d) checks: every order answered 201, as many orders in the database as placed, no
      oversell (invariant_violations() is empty).
  (e) the framework floor, in-process as (a) and over HTTP as (b): the same posts answered by
      a view that authenticates the key and validates the body as the order create does,
      then answers 201 without placing anything (bench/intake_floor.py): what no order code
      can beat on this machine;
  (f) the ORM floor of order_place, in-process as (a): the rows an order writes (stock locks,
      customer, order, lines, allocated counts, one event, one outbox row) through the ORM and
      nothing else (bench/intake_writes.py): what no ORM version of order_place can beat.

Confirmation emails are enqueued (to an in-memory broker), not sent: intake ends at the
enqueue, as in production where a worker sends them. Targets: at least 0.2× the limit (each
in-process figure against one connection, HTTP against the best of 4 and 16) and a p95 over
HTTP under 150 ms.

Run (never touches real data: it creates and drops its own database):

  DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_bench \\
      .venv/bin/python bench/intake.py [--smoke] [--orders N] [--clients N] [--in-process N]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The settings every process of the run reads (this one and gunicorn's): no per-channel
# throttle (the benchmark is the only client), no DEBUG query log, tasks enqueued in memory.
RUN_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DEBUG": "false",
    "API_THROTTLE_RATE": "",
    "CELERY_BROKER_URL": "memory://",
    "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    "CONN_MAX_AGE": "60",
}
os.environ.update(RUN_ENV)

from bench import _setup  # noqa: E402
from bench.intake_limit import database_limit, run_together  # noqa: E402
from bench.intake_writes import orm_writes_placer  # noqa: E402

PRODUCTS_IN_STOCK = 150
PRODUCTS_OUT_OF_STOCK = 50
ON_HAND = 1_000_000
SEED = 20261130
TARGET_RATIO = 0.2
TARGET_P95_MS = 150.0
FLOOR = "bench.intake_floor"  # the same request answered without the order (see that module)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(name: str) -> str:
    """DATABASE_URL with the database name replaced (the run's throwaway database)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def catalogue_make() -> tuple[list[str], list[str]]:
    in_stock = [f"IN-{n:03d}" for n in range(PRODUCTS_IN_STOCK)]
    out = [f"OUT-{n:03d}" for n in range(PRODUCTS_OUT_OF_STOCK)]
    for sku in in_stock:
        _setup.product_make(sku=sku, on_hand=ON_HAND, lead_time_days=14)
    for sku in out:
        _setup.product_make(sku=sku, lead_time_days=14)
    return in_stock, out


def order_bodies(
    count: int, in_stock: list[str], out: list[str], *, seed: int
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    bodies = []
    for n in range(count):
        skus = rng.sample(in_stock, 3)
        if n % 3 == 0:
            skus[2] = rng.choice(out)
        bodies.append(
            {
                "external_id": f"BENCH-{seed}-{n}",
                "customer": {"email": f"buyer{n % 500}@bench.example", "name": f"Buyer {n}"},
                "shipping_address": {
                    "name": f"Buyer {n}",
                    "line1": f"{n} Bench Street",
                    "city": "Portland",
                    "region": "OR",
                    "postal_code": "97201",
                    "country": "US",
                    "phone": "+1 503 555 0100",
                },
                "lines": [
                    {"sku": sku, "quantity": rng.randint(1, 3), "unit_price": "10.00"}
                    for sku in skus
                ],
                "shipping_charge": "4.95",
                "payment_state": "paid",
                "payment_method": "card",
            }
        )
    return bodies


@dataclass
class InProcess:
    """One kind of in-process order, timed one after another on this thread."""

    orders: int
    seconds: float
    latencies: list[float]
    queries: int

    @property
    def rate(self) -> float:
        return self.orders / self.seconds


def in_process(place: Any, bodies: list[dict[str, Any]]) -> InProcess:
    """Call `place(body)` for each body: the first warms up (its customer and the key's last
    use are recorded), the second (for the same customer) has its queries counted, the others
    are timed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    place(bodies[0])
    with CaptureQueriesContext(connection) as queries:
        place({**bodies[1], "customer": bodies[0]["customer"]})  # a returning customer
    count = len(queries)  # now: the next request empties the log the capture reads from
    latencies = []
    began = time.perf_counter()
    for body in bodies[2:]:
        start = time.perf_counter()
        place(body)
        latencies.append(time.perf_counter() - start)
    return InProcess(len(bodies) - 2, time.perf_counter() - began, latencies, count)


def service_placer() -> Any:
    """order_place alone, as the storefront service calls it."""
    from orders.services import LineRequest, ShippingAddress, order_place

    def place(body: dict[str, Any]) -> None:
        order_place(
            customer_email=body["customer"]["email"],
            customer_name=body["customer"]["name"],
            lines=[
                LineRequest(line["sku"], line["quantity"], Decimal(line["unit_price"]))
                for line in body["lines"]
            ],
            shipping_charge=Decimal(body["shipping_charge"]),
            address=ShippingAddress(**body["shipping_address"]),
        )

    return place


def api_placer(raw_key: str, tag: str, urlconf: str | None = None) -> Any:
    """The whole API order create, through Django's test client (no network); with `urlconf`,
    the framework floor's view instead (bench/intake_floor_urls.py)."""
    from django.test import Client, override_settings

    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}", SERVER_NAME="127.0.0.1")
    keys = iter(range(10**9))

    def place(body: dict[str, Any]) -> None:
        with override_settings(**({"ROOT_URLCONF": urlconf} if urlconf else {})):
            response = client.post(
                "/api/v1/orders/",
                json.dumps(body),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=f"{tag}-{next(keys)}",
            )
        if response.status_code != 201:
            raise SystemExit(f"bench: an in-process order answered {response.status_code}")

    return place


class Server:
    def __init__(
        self,
        *,
        database: str,
        workers: int,
        threads: int,
        worker_class: str,
        settings: str = RUN_ENV["DJANGO_SETTINGS_MODULE"],
    ) -> None:
        self.port = free_port()
        env = {**os.environ, **RUN_ENV, "DATABASE_URL": database_url(database)}
        env["DJANGO_SETTINGS_MODULE"] = settings
        self.process = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi:application",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={workers}",
                f"--worker-class={worker_class}",
                f"--threads={threads}",
                "--keep-alive=30",
                "--log-level=warning",
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("bench: gunicorn exited at start")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/")  # any answer (a 404 here) will do
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("bench: gunicorn did not answer within 60 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def post_orders(
    *, port: int, raw_key: str, bodies: list[dict[str, Any]], clients: int, tag: str
) -> tuple[float, list[float], list[int]]:
    """Post every body, `clients` threads at once, each body once; wall seconds, latencies."""
    chunks = [bodies[index::clients] for index in range(clients)]
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client(number: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[tuple[float, int]] = []
        barrier.wait()
        for index, body in enumerate(chunks[number]):
            payload = json.dumps(body)
            headers = {
                "Authorization": f"Bearer {raw_key}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"{tag}-{number}-{index}",
            }
            began = time.perf_counter()
            conn.request("POST", "/api/v1/orders/", payload, headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - began, response.status))
        conn.close()
        with lock:
            latencies.extend(seconds for seconds, _ in mine)
            statuses.extend(status for _, status in mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    return run_together(threads, barrier), latencies, statuses


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a small run of a few seconds")
    parser.add_argument("--orders", type=int, default=None, help="orders over HTTP (2,000)")
    parser.add_argument("--in-process", type=int, default=None, help="orders of each (500)")
    parser.add_argument("--clients", type=int, default=16)
    # Defaults: the production settings (gunicorn.conf.py): sync workers, two per core and one.
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="worker processes"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--worker-class", default="sync", choices=["sync", "gthread"], help="gunicorn's"
    )
    args = parser.parse_args()
    if args.worker_class == "sync":
        args.threads = 1  # (gunicorn turns a sync worker with threads into gthread)
    orders = args.orders or (160 if args.smoke else 2000)
    local = args.in_process or (40 if args.smoke else 500)
    clients = args.clients

    _setup.bootstrap()
    from django.db import connection

    from orders.models import Order, OrderLine
    from orders.selectors import invariant_violations
    from storefront.services import api_key_create, channel_create

    with _setup.bench_database() as name:
        in_stock, out = catalogue_make()
        channel = channel_create(name="Bench shop")
        _, raw_key = api_key_create(channel=channel, name="bench")
        service = in_process(
            service_placer(), order_bodies(local + 2, in_stock, out, seed=SEED - 3)
        )
        orm_floor = in_process(
            orm_writes_placer(), order_bodies(local + 2, in_stock, out, seed=SEED - 4)
        )
        api = in_process(
            api_placer(raw_key, "in-process"), order_bodies(local + 2, in_stock, out, seed=SEED - 1)
        )
        floor = in_process(
            api_placer(raw_key, "floor", f"{FLOOR}_urls"),
            order_bodies(local + 2, in_stock, out, seed=SEED - 1),
        )
        warm_up = order_bodies(clients, in_stock, out, seed=SEED - 2)
        bodies = order_bodies(orders, in_stock, out, seed=SEED)
        connection.close()

        runs = {}
        for label, settings in (("orders", "config.settings.local"), ("floor", FLOOR)):
            server = Server(
                database=name,
                workers=args.workers,
                threads=args.threads,
                worker_class=args.worker_class,
                settings=settings,
            )
            try:
                post_orders(
                    port=server.port,
                    raw_key=raw_key,
                    bodies=warm_up,
                    clients=clients,
                    tag=f"{label}-w",
                )
                runs[label] = post_orders(
                    port=server.port,
                    raw_key=raw_key,
                    bodies=bodies,
                    clients=clients,
                    tag=f"{label}-r",
                )
            finally:
                server.stop()
        seconds, latencies, statuses = runs["orders"]
        floor_seconds, floor_latencies, floor_statuses = runs["floor"]

        posted = 3 * (local + 2) + len(warm_up) + len(bodies)  # (the API floor writes none)
        in_db = Order.objects.count()
        backordered = OrderLine.objects.filter(quantity_backordered__gt=0).count()
        violations = invariant_violations()
        dsn = database_url(name).replace("postgres://", "postgresql://", 1)
        limits = {
            n: database_limit(dsn=dsn, orders=max(orders, local), connections=n, seed=SEED)
            for n in (1, 4, 16)
        }
        limit = max(limits[4], limits[16])
        rate = len(bodies) / seconds
        p95_ms = percentile(latencies, 0.95) * 1000

        for label, run in (
            ("order_place", service),
            ("orm_floor", orm_floor),
            ("api", api),
            ("floor", floor),
        ):
            prefix = f"intake.in_process.{label}"
            _setup.emit(f"{prefix}.orders", run.orders)
            _setup.emit(f"{prefix}.orders_per_s", run.rate, 1)
            _setup.emit(f"{prefix}.p50_ms", statistics.median(run.latencies) * 1000, 2)
            _setup.emit(f"{prefix}.p95_ms", percentile(run.latencies, 0.95) * 1000, 2)
            _setup.emit(f"{prefix}.queries_per_order", run.queries)
            _setup.emit(f"{prefix}.ratio_to_limit", run.rate / limits[1], 3)
        _setup.emit("intake.orders", len(bodies))
        _setup.emit("intake.clients", clients)
        _setup.emit("intake.gunicorn", f"{args.workers}x{args.threads}-{args.worker_class}")
        _setup.emit("intake.seconds", seconds, 2)
        _setup.emit("intake.orders_per_s", rate, 1)
        _setup.emit("intake.p50_ms", statistics.median(latencies) * 1000, 1)
        _setup.emit("intake.p95_ms", p95_ms, 1)
        _setup.emit("intake.queries_per_order", api.queries)
        _setup.emit("intake.db_limit_1_conn_orders_per_s", limits[1], 1)
        _setup.emit("intake.db_limit_4_conns_orders_per_s", limits[4], 1)
        _setup.emit("intake.db_limit_16_conns_orders_per_s", limits[16], 1)
        _setup.emit("intake.db_limit_orders_per_s", limit, 1)
        _setup.emit("intake.ratio_to_limit", rate / limit, 3)
        _setup.emit("intake.non_201", sum(1 for s in statuses if s != 201))
        _setup.emit("intake.floor.orders_per_s", len(bodies) / floor_seconds, 1)
        _setup.emit("intake.floor.p50_ms", statistics.median(floor_latencies) * 1000, 1)
        _setup.emit("intake.floor.p95_ms", percentile(floor_latencies, 0.95) * 1000, 1)
        _setup.emit("intake.floor.ratio_to_limit", len(bodies) / floor_seconds / limit, 3)
        _setup.emit("intake.orders_in_database", f"{in_db}/{posted}")
        _setup.emit("intake.backordered_lines", backordered)
        _setup.emit("intake.invariant_violations", len(violations))
        met = (
            min(service.rate, api.rate) / limits[1] >= TARGET_RATIO
            and rate / limit >= TARGET_RATIO
            and p95_ms < TARGET_P95_MS
        )
        _setup.emit("intake.targets_met", "yes" if met else "no")
        _setup.emit("intake.loadavg_1m", os.getloadavg()[0], 2)
        connection.close()
        if in_db != posted or any(s != 201 for s in statuses + floor_statuses) or violations:
            raise SystemExit("bench: intake lost, refused or oversold orders")


if __name__ == "__main__":
    main()

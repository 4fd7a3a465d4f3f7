"""The broker down: a request whose change committed answers success, and the work catches up.

The first test (any database) points the broker at an address nothing listens on. The other
(PostgreSQL + Redis) starts a Redis server of its own on a spare port, stops it, hangs it
(SIGSTOP) and restarts it empty, as an outage without persistence would, while staff place
orders and receive stock on the dashboard; then a real worker runs the periodic sweeps.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.celery import broker_down_forget
from inventory.models import Stock, StockMovement
from notifications.models import Notification
from notifications.services import notifications_sweep
from notifications.tasks import notifications_sweep_task
from orders.models import Order, OrderLine
from orders.selectors import invariant_violations
from orders.services import allocation_sweep, stock_receive
from orders.tasks import allocation_sweep_task
from tests.addresses import PHONE_ORDER_ADDRESS
from tests.celery_worker import WorkerRuns, broker_at, running_worker, spare_port
from tests.factories import ProductFactory, staff_in

State = Notification.State
HEADER = "X-Backorder-Desk-Notification"
CATCH_UP_TIMEOUT = 20.0  # seconds the worker gets to catch up once the broker is back
HUNG_REQUEST_LIMIT = 8.0  # seconds a request may take while the broker hangs


def order_form(*lines: tuple[str, int], email: str) -> dict[str, Any]:
    """The dashboard's new-order form as the browser posts it."""
    data: dict[str, Any] = {
        "customer_email": email,
        "customer_name": "Pat Phone",
        **PHONE_ORDER_ADDRESS,
        "promised_ship_date": "",
        "promised_business_days": "",
        "ship_preference": Order.ShipPreference.SHIP_AVAILABLE,
        "payment_method": Order.PaymentMethod.CARD,
        "paid": "on",
        "shipping_charge": "4.95",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
    }
    for row, (sku, quantity) in enumerate(lines):
        data[f"lines-{row}-sku"] = sku
        data[f"lines-{row}-quantity"] = str(quantity)
    return data


def operations_staff() -> Any:
    """A member of "Operations" (a transactional test's flush empties the groups the
    migration made, so the group is made again when missing)."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name="Operations")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="dashboard", codename="operate")
    )
    return staff_in("Operations")


def allocated(*products: Any) -> list[int]:
    return list(
        OrderLine.objects.filter(product__in=products)
        .order_by("order__placed_at", "id")
        .values_list("quantity_allocated", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_orders_and_receipts_succeed_while_the_broker_is_unreachable(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a lamp and a shade nobody has in stock, and a broker nothing answers at
    lamp = ProductFactory.create(sku="LAMP-1", on_hand=0)
    shade = ProductFactory.create(sku="SHADE-1", on_hand=0)
    client.force_login(operations_staff())
    unreachable = f"redis://127.0.0.1:{spare_port()}/0"
    with broker_at(unreachable), caplog.at_level(logging.WARNING, logger="config.celery"):
        # When staff place an order and receive lamps on the dashboard, and shades arrive
        # through the service the admin and purchase orders use (each commits, then publishes)
        placed = client.post(
            reverse("dashboard:order_new"),
            order_form(("LAMP-1", 2), ("SHADE-1", 1), email="a@example.com"),
        )
        received = client.post(reverse("dashboard:receive"), {"sku": "LAMP-1", "quantity": "5"})
        stock_receive(product=shade, quantity=3)

    # Then both pages answer success, once each: nothing for staff to retry
    assert placed.status_code == 302
    assert received.status_code == 302
    assert Order.objects.count() == 1
    assert StockMovement.objects.filter(kind="receipt").count() == 2
    assert "a sweep will catch up" in caplog.text
    # and the work the broker never got is still to do: the shade waits beside free stock,
    # and no email went out
    assert (allocated(lamp), allocated(shade)) == ([2], [0])
    assert any("available while lines still wait" in p for p in invariant_violations())
    assert Notification.objects.filter(state=State.PENDING).count() >= 2
    assert mail.outbox == []

    # When the broker is back and the sweeps run
    swept = allocation_sweep()
    later = timezone.now() + dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES + 1)
    notifications_sweep(now=later)

    # Then the shade went to its line and every email went out, once
    assert swept == [shade.pk]
    assert allocated(shade) == [1]
    assert invariant_violations() == []
    assert not Notification.objects.exclude(state=State.SENT).exists()
    assert len(mail.outbox) == Notification.objects.count()


# --- a Redis server of the test's own, stopped, hung and restarted ---------------------------


class RedisServer:
    """redis-server on a spare port, without persistence (a restart loses what was queued)."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (a fixed command line)
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:  # until it accepts connections
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.02)
            finally:
                client.close()

    def hang(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # also ends a hung (stopped) server
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        with broker_at(server.url):
            yield server
    finally:
        server.stop()


class CatchUpRuns(WorkerRuns):
    """Every task the worker finished (the sweeps, and the sends and allocations they cause)."""

    task = allocation_sweep_task.name
    timeout = CATCH_UP_TIMEOUT

    def __init__(self) -> None:
        super().__init__()
        self.finished_tasks: Counter[str] = Counter()

    def finished(self, task: str, args: Any, state: str | None, retval: Any) -> None:
        self.finished_tasks[task] += 1
        if state not in ("SUCCESS", "RETRY"):
            self.failures.append(f"{task} {args!r} {state}: {retval!r}")


def due_emails_unsent() -> int:
    return Notification.objects.filter(
        state__in=(State.PENDING, State.SENDING), send_after__lte=timezone.now()
    ).count()


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_work_done_while_the_broker_was_down_catches_up_once_it_is_back(
    client: Client, own_redis: RedisServer, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mail.outbox = []
    # Given a lamp and a shade out of stock and a cable in stock, and staff on the dashboard
    lamp = ProductFactory.create(sku="LAMP-1", on_hand=0)
    shade = ProductFactory.create(sku="SHADE-1", on_hand=0)
    cable = ProductFactory.create(sku="CAB-1", on_hand=3)
    client.force_login(operations_staff())
    new_order = reverse("dashboard:order_new")

    # When Redis goes down, and staff place three orders, receive four lamps on the dashboard,
    # and three shades arrive through the service the admin and purchase orders use
    own_redis.stop()
    durations = []
    orders = [
        [("LAMP-1", 2)],
        [("CAB-1", 1), ("LAMP-1", 1)],
        [("LAMP-1", 3), ("SHADE-1", 2)],
    ]
    for number, lines in enumerate(orders):
        started = time.monotonic()
        response = client.post(new_order, order_form(*lines, email=f"c{number}@example.com"))
        durations.append(time.monotonic() - started)
        assert response.status_code == 302, response.content.decode()[:500]
    started = time.monotonic()
    response = client.post(reverse("dashboard:receive"), {"sku": "LAMP-1", "quantity": "4"})
    durations.append(time.monotonic() - started)
    assert response.status_code == 302
    stock_receive(product=shade, quantity=3)
    # and Redis comes back hung (accepts connections, never answers) for one more order
    own_redis.start()
    own_redis.hang()
    broker_down_forget()  # the first publish to the hung server pays its socket timeout
    started = time.monotonic()
    response = client.post(new_order, order_form(("LAMP-1", 1), email="c3@example.com"))
    hung_duration = time.monotonic() - started
    assert response.status_code == 302

    # Then every request answered success, the hung one within a few seconds, nothing doubled
    assert max(durations) < HUNG_REQUEST_LIMIT
    assert hung_duration < HUNG_REQUEST_LIMIT
    assert Order.objects.count() == 4
    assert StockMovement.objects.filter(kind="receipt").exclude(product=cable).count() == 2
    assert Notification.objects.filter(kind=Notification.Kind.ORDER_CONFIRMATION).count() == 4
    # and the dashboard's receipt was allocated at once, but the shades wait beside the lines,
    # and no email went out
    assert allocated(lamp) == [2, 1, 1, 0]
    assert allocated(shade) == [0]
    assert any("available while lines still wait" in p for p in invariant_violations())
    assert mail.outbox == []

    # When Redis restarts (empty) a few minutes later, and beat's sweeps run on a worker
    own_redis.stop()
    own_redis.start()
    broker_down_forget()
    grace = dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES)
    Notification.objects.update(send_after=F("send_after") - grace)  # the minutes that passed
    back = time.monotonic()
    with running_worker(CatchUpRuns(), concurrency=2) as runs:
        allocation_sweep_task.delay()
        notifications_sweep_task.delay()
        failures = runs.wait_until(
            lambda: (
                runs.finished_tasks[notifications_sweep_task.name] >= 1
                and invariant_violations() == []
                and due_emails_unsent() == 0
            )
        )
        caught_up = time.monotonic() - back
    assert failures == []

    # Then the shades went to the lines first come, first served, and every invariant holds
    assert allocated(lamp) == [2, 1, 1, 0]
    assert allocated(shade) == [2]
    assert allocated(cable) == [1]
    assert Stock.objects.get(pk=shade.pk).allocated == 2
    assert invariant_violations() == []
    assert caught_up < CATCH_UP_TIMEOUT
    # and every due email went out once: the four confirmations, and the allocation news
    sent = Notification.objects.filter(state=State.SENT)
    told = Counter(int(message.extra_headers[HEADER]) for message in mail.outbox)
    assert sorted(told) == sorted(sent.values_list("pk", flat=True))
    assert set(told.values()) == {1}
    assert sent.filter(kind=Notification.Kind.ORDER_CONFIRMATION).count() == 4
    assert due_emails_unsent() == 0
    message_ids = {message.extra_headers["Message-ID"] for message in mail.outbox}
    assert len(message_ids) == len(mail.outbox)
    with capsys.disabled():
        print(
            f"\nbroker down: requests {max(durations):.2f} s at most, {hung_duration:.2f} s "
            f"with Redis hung; caught up {caught_up:.2f} s after Redis returned; emails sent "
            f"{len(mail.outbox)}, lost {due_emails_unsent()}, "
            f"doubled {sum(n - 1 for n in told.values())}"
        )

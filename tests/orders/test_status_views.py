"""The customer's status page counts its opens: one UPDATE adding 1 in the database, exact
under simultaneous opens, never counting staff or a link checker, never breaking the page."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse

from orders.models import Order
from orders.services import order_status_view_record
from orders.status_links import order_status_token
from tests.factories import ProductFactory, UserFactory, place_order

MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)
BARRIER_TIMEOUT = 60


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def status_path(order: Order) -> str:
    return reverse("customer:status", args=[order_status_token(order=order)])


def opens(order: Order) -> tuple[int, dt.datetime | None]:
    order.refresh_from_db(fields=["status_views", "status_viewed_at"])
    return order.status_views, order.status_viewed_at


@pytest.mark.django_db
def test_each_customer_open_counts_and_records_when(clock):
    order = place_order((ProductFactory(on_hand=0), 1))
    assert opens(order) == (0, None)

    assert Client().get(status_path(order)).status_code == 200
    clock.move_to(MONDAY + dt.timedelta(hours=3))
    assert Client().get(status_path(order)).status_code == 200

    assert opens(order) == (2, MONDAY + dt.timedelta(hours=3))


@pytest.mark.django_db
def test_staff_looking_and_a_head_request_do_not_count(clock):
    order = place_order((ProductFactory(on_hand=0), 1))
    staff = Client()
    staff.force_login(UserFactory())

    assert staff.get(status_path(order)).status_code == 200
    assert Client().head(status_path(order)).status_code == 200
    assert Client().get(reverse("customer:status", args=["not-a-token"])).status_code == 404

    assert opens(order) == (0, None)


@pytest.mark.django_db
def test_counting_costs_one_update(clock, django_assert_num_queries):
    order = place_order((ProductFactory(on_hand=0), 1))
    with django_assert_num_queries(1) as captured:
        assert order_status_view_record(order_id=order.pk) is True
    sql = captured.captured_queries[0]["sql"]
    assert sql.startswith("UPDATE")
    assert '"status_views" + 1' in sql
    assert opens(order) == (1, MONDAY)


@pytest.mark.django_db
def test_a_failed_count_never_breaks_the_page(clock, monkeypatch):
    order = place_order((ProductFactory(on_hand=0), 1))

    def broken(*args, **kwargs):
        raise DatabaseError("the database refused the update")

    monkeypatch.setattr("django.db.models.query.QuerySet.update", broken)
    response = Client().get(status_path(order))

    assert response.status_code == 200
    assert order.number in response.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_opens_are_all_counted():
    """Sixteen customers' tabs open the page at the same moment: sixteen opens, none lost."""
    order = place_order((ProductFactory(on_hand=0), 1))
    path = status_path(order)
    count = 16
    barrier = threading.Barrier(count, timeout=BARRIER_TIMEOUT)
    statuses: list[int] = []
    crashes: list[BaseException] = []

    def open_page() -> None:
        try:
            browser = Client()
            barrier.wait()
            statuses.append(browser.get(path).status_code)
        except BaseException as exc:
            crashes.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=open_page, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not crashes, crashes
    assert statuses == [200] * count
    assert opens(order)[0] == count

"""The allocation sweep: stock left free while lines wait (its task was lost, or the worker died
mid-allocation) is handed out by a periodic job, once."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections

from config import celery_app
from inventory.models import Stock
from orders.models import OrderEvent, OrderLine
from orders.selectors import invariant_violations, products_with_idle_stock
from orders.services import allocation_sweep, stock_receive
from orders.tasks import allocation_sweep_task
from tests.celery_worker import broker_at, spare_port
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db


def allocated(product_id: int) -> list[int]:
    return list(
        OrderLine.objects.filter(product_id=product_id)
        .order_by("id")
        .values_list("quantity_allocated", flat=True)
    )


def test_the_sweep_hands_out_stock_whose_allocation_never_ran(
    django_assert_num_queries, django_capture_on_commit_callbacks
) -> None:
    # Given two products whose receipts committed but whose allocation tasks never ran
    # (receive() outside a commit capture: the after-commit publish is dropped, as when the
    # broker lost it), beside a product in stock nobody waits for and one waiting with none
    chair, lamp, spare, late = (ProductFactory.create(on_hand=0) for _ in range(4))
    for product, quantities in ((chair, [2, 3]), (lamp, [1]), (late, [4])):
        for quantity in quantities:
            place_order((product, quantity))
    stock_receive(product=chair, quantity=4)
    stock_receive(product=lamp, quantity=1)
    stock_receive(product=spare, quantity=9)
    assert allocated(chair.pk) == [0, 0]
    assert any("available while lines still wait" in p for p in invariant_violations())
    with pytest.raises(CommandError, match="invariant violation"):
        call_command("check_invariants")

    # When the sweep looks for work (one query) and runs
    with django_assert_num_queries(1):
        idle = products_with_idle_stock()
    assert idle == [chair.pk, lamp.pk]
    with django_capture_on_commit_callbacks(execute=True):
        swept = allocation_sweep()

    # Then the waiting lines got the units first come, first served, and every invariant holds
    assert swept == [chair.pk, lamp.pk]
    assert allocated(chair.pk) == [2, 2]
    assert allocated(lamp.pk) == [1]
    assert allocated(late.pk) == [0]
    assert Stock.objects.get(pk=spare.pk).allocated == 0
    assert invariant_violations() == []
    call_command("check_invariants")

    # And a second sweep finds nothing to do and changes nothing
    events = OrderEvent.objects.count()
    assert allocation_sweep_task.delay().get() == 0
    assert OrderEvent.objects.count() == events
    assert allocated(chair.pk) == [2, 2]


def test_beat_runs_the_allocation_sweep_every_minute() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["allocation-sweep"]
    assert entry["task"] == allocation_sweep_task.name
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] <= 60


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_hand_out_each_unit_once() -> None:
    # Given six products whose receipts' allocation tasks were lost (the broker was down),
    # each with lines waiting
    products = [ProductFactory.create(on_hand=0) for _ in range(6)]
    with broker_at(f"redis://127.0.0.1:{spare_port()}/0"):
        for product in products:
            for quantity in (2, 3, 1):
                place_order((product, quantity))
            stock_receive(product=product, quantity=4)
    ids = [product.pk for product in products]
    assert products_with_idle_stock() == ids

    # When two sweeps run together, in two threads with their own database connections, both
    # having chosen their products before either allocates
    both_chose = threading.Barrier(2, timeout=10)
    swept: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def wait_for_the_other(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if "EXISTS" in sql and "FOR UPDATE" not in sql:
            both_chose.wait()
        return result

    def sweep(name: str) -> None:
        try:
            with connection.execute_wrapper(wait_for_the_other):
                swept[name] = allocation_sweep()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors

    # Then each product was allocated by one of them, each unit once, first come first served
    a, b = set(swept["a"]), set(swept["b"])
    assert a & b == set()
    assert a | b == set(ids)
    for product in products:
        assert allocated(product.pk) == [2, 2, 0]
        assert Stock.objects.get(pk=product.pk).allocated == 4
    told: Counter[int] = Counter()
    for data in OrderEvent.objects.filter(kind=OrderEvent.Kind.ALLOCATED).values_list(
        "data", flat=True
    ):
        told.update({int(line_id): units for line_id, units in data["lines"].items()})
    assert sum(told.values()) == 4 * len(products)
    assert invariant_violations() == []

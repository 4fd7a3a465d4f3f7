"""The allocation sweep: stock left free while lines wait (its task was lost, or the worker died
mid-allocation) is handed out by a periodic job, once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from config import celery_app
from inventory.models import Stock
from orders.models import OrderEvent, OrderLine
from orders.selectors import invariant_violations, products_with_idle_stock
from orders.services import allocation_sweep, stock_receive
from orders.tasks import allocation_sweep_task
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

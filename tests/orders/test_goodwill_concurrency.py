"""Goodwill under concurrency, on PostgreSQL: appliers running at once (two beat workers, a
retried task), and Managers giving goodwill by hand beside them, never exceed a rule's monthly
budget nor give an order two gestures."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Sum

from orders.models import GoodwillGrant, GoodwillRule, OrderEvent
from orders.services import goodwill_apply, goodwill_grant, goodwill_rule_create
from tests.factories import ProductFactory, UserFactory, place_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NOW = dt.datetime(2026, 11, 16, 17, 0, tzinfo=dt.UTC)
CLIENTS = 6


def test_appliers_at_once_stay_within_the_budget_and_grant_each_order_once(settings):
    # Orders placed weeks ago would meet their Mail Order Rule deadline as they commit.
    settings.MAIL_ORDER_RULE_ENABLED = False
    product = ProductFactory(on_hand=0)
    orders = [
        place_order((product, 1), placed_at=NOW - dt.timedelta(days=30 - i)) for i in range(12)
    ]
    for name, days, budget in (("Long", 10, "45.00"), ("Longer", 20, "30.00")):
        goodwill_rule_create(
            name=name,
            trigger=GoodwillRule.Trigger.LONG_WAIT,
            wait_days=days,
            gesture=GoodwillRule.Gesture.STORE_CREDIT,
            amount=Decimal("10.00"),
            monthly_budget=Decimal(budget),
        )
    barrier = threading.Barrier(CLIENTS, timeout=60)
    errors: list[str] = []
    granted: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        try:
            barrier.wait()
            grants = goodwill_apply(now=NOW)
            with lock:
                granted.extend(g.order_id for g in grants)
        except Exception as exc:  # a deadlock, a duplicate: all fail the test
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    per_rule = dict(
        GoodwillGrant.objects.values_list("rule__name")
        .annotate(total=Sum("value"))
        .values_list("rule__name", "total")
    )
    assert per_rule == {"Long": Decimal("40.00"), "Longer": Decimal("30.00")}
    assert sorted(granted) == sorted(GoodwillGrant.objects.values_list("order_id", flat=True))
    assert len(granted) == len(set(granted)) == 7
    assert set(granted) == {o.pk for o in orders[:7]}  # the longest waits first
    assert not (
        OrderEvent.objects.filter(kind=OrderEvent.Kind.GOODWILL)
        .values("order")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )


def test_goodwill_by_hand_beside_the_appliers_stays_within_the_budget(settings):
    settings.MAIL_ORDER_RULE_ENABLED = False
    product = ProductFactory(on_hand=0)
    old = [place_order((product, 1), placed_at=NOW - dt.timedelta(days=30 - i)) for i in range(5)]
    new = [place_order((product, 1), placed_at=NOW) for _ in range(3)]
    rule = goodwill_rule_create(
        name="Long",
        trigger=GoodwillRule.Trigger.LONG_WAIT,
        wait_days=10,
        gesture=GoodwillRule.Gesture.STORE_CREDIT,
        amount=Decimal("10.00"),
        monthly_budget=Decimal("30.00"),
    )
    manager = UserFactory(is_staff=True)  # the view checks the group; the service does not
    # Two appliers, and Managers giving goodwill to two orders the rule would reach, three
    # it would not (and one of those twice).
    by_hand = [old[0], old[1], new[0], new[1], new[2], new[2]]
    barrier = threading.Barrier(2 + len(by_hand), timeout=60)
    errors: list[str] = []
    refused: list[str] = []
    lock = threading.Lock()

    def run(work) -> None:
        try:
            barrier.wait()
            work()
        except ValidationError as exc:
            with lock:
                refused.extend(exc.messages)
        except Exception as exc:  # a deadlock, a duplicate: all fail the test
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    works = [lambda: goodwill_apply(now=NOW)] * 2 + [
        lambda order=order: goodwill_grant(order=order, rule=rule, actor=manager, now=NOW)
        for order in by_hand
    ]
    threads = [threading.Thread(target=run, args=(work,), daemon=True) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    # However the turns fell, the budget is spent exactly, never exceeded.
    assert GoodwillGrant.objects.aggregate(total=Sum("value"))["total"] == Decimal("30.00")
    granted = list(GoodwillGrant.objects.values_list("order_id", flat=True))
    assert len(granted) == len(set(granted)) == 3
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.GOODWILL).count() == 3
    assert all("left of this month's budget" in m or "already received" in m for m in refused)

"""Goodwill under concurrency, on PostgreSQL: appliers running at once (two beat workers, a
retried task) never exceed a rule's monthly budget nor give an order two gestures."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, Sum

from orders.models import GoodwillGrant, GoodwillRule, OrderEvent
from orders.services import goodwill_apply, goodwill_rule_create
from tests.factories import ProductFactory, place_order

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

"""Webhooks under a real Celery worker consuming from Redis, on PostgreSQL: a change that writes
several deliveries publishes one drain after commit, and the worker delivers them all."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from orders.models import Order
from orders.services import line_cancel
from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from storefront.tasks import webhook_deliveries_drain_task
from tests.celery_worker import (
    Broker,
    WorkerRuns,
    broker_fixture,  # noqa: F401 (the `broker` fixture)
    running_worker,
)
from tests.factories import ProductFactory, place_order
from tests.storefront.webhook_server import WebhookServer

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

DRAIN = webhook_deliveries_drain_task.name


class DrainRuns(WorkerRuns):
    task = DRAIN
    timeout = 30.0

    def __init__(self) -> None:
        super().__init__()
        self.claimed: list[int] = []

    def finished(self, task: str, args: Any, state: str | None, retval: Any) -> None:
        if task == DRAIN:
            self.claimed.append(int(retval) if state == "SUCCESS" else -1)
        if state not in ("SUCCESS", "RETRY"):
            self.failures.append(f"{task} {args!r} {state}: {retval!r}")


def test_one_commit_publishes_one_drain_and_the_worker_delivers_every_row(
    broker: Broker, webhook_server: WebhookServer
) -> None:
    secret = "s3cret"  # noqa: S105 - a test secret
    channel = SalesChannel.objects.create(name="Corner Shop", webhook_secret=secret)
    WebhookSubscription.objects.create(
        channel=channel, url=webhook_server.url, event_types=["line.cancelled", "order.cancelled"]
    )
    order = place_order(*[(ProductFactory(on_hand=0), 1) for _ in range(3)])
    Order.objects.filter(pk=order.pk).update(channel=channel)
    broker.lose_everything_queued()  # what placing the order queued (the rule engine's work)

    with transaction.atomic():
        for line in order.lines.order_by("pk"):
            line_cancel(line=line, reason="changed their mind")

    assert [task for task, _ in broker.messages()].count(DRAIN) == 1
    deliveries = list(WebhookDelivery.objects.order_by("pk"))
    assert [d.event_type for d in deliveries] == ["line.cancelled"] * 2 + ["order.cancelled"]

    runs = DrainRuns()
    with running_worker(runs):
        failures = runs.wait_until(lambda: sum(c for c in runs.claimed if c > 0) >= 3)
    assert failures == []

    assert sorted(webhook_server.event_ids) == sorted(str(d.event_id) for d in deliveries)
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}

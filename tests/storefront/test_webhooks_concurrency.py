"""Webhook drains racing on PostgreSQL: each delivery is claimed by one drain and sent once."""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest
from django.utils import timezone

from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from storefront.webhooks import webhook_deliveries_drain
from tests.orders.test_concurrency import run_clients
from tests.storefront.webhook_server import WebhookServer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_four_concurrent_drains_deliver_each_row_once(webhook_server: WebhookServer):
    secret = "s3cret"  # noqa: S105 - a test secret
    channel = SalesChannel.objects.create(name="Corner Shop", webhook_secret=secret)
    subscription = WebhookSubscription.objects.create(
        channel=channel, url=webhook_server.url, event_types=["line.allocated"]
    )
    now = timezone.now()
    rows = []
    for n in range(40):
        event_id = uuid.uuid4()
        rows.append(
            WebhookDelivery(
                subscription=subscription,
                event_id=event_id,
                event_type="line.allocated",
                order_number=f"BO-{n}",
                payload={"id": str(event_id), "type": "line.allocated", "data": {"n": n}},
                next_attempt_at=now,
            )
        )
    WebhookDelivery.objects.bulk_create(rows)
    claimed: list[int] = []
    lock = threading.Lock()

    def drain(index: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        # Small batches, drained until none is left: the drains interleave many times.
        while True:
            result = webhook_deliveries_drain(limit=3)
            with lock:
                claimed.extend(result.delivered)
            if not result.claimed:
                return

    run_clients(4, drain)

    assert Counter(webhook_server.event_ids) == {str(r.event_id): 1 for r in rows}
    assert sorted(claimed) == sorted(r.pk for r in rows)
    assert set(WebhookDelivery.objects.values_list("state", "attempts")) == {("delivered", 1)}

"""Thin Celery tasks for outbound webhooks: call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import webhooks


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def webhook_deliveries_drain_task() -> int:
    return webhooks.webhook_deliveries_drain().claimed


@shared_task(acks_late=True)
def webhook_deliveries_sweep_task() -> int:
    return webhooks.webhook_deliveries_sweep().claimed

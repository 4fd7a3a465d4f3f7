"""Thin Celery tasks: take ids, call a service. Each is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from . import services

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": settings.TASK_COUNTDOWN_MAX_SECONDS,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(**RETRY)
def product_allocate_task(product_id: int) -> int:
    """Hand a product's available stock to its queue and refresh its ETAs."""
    return services.product_allocate(product_id=product_id).units


@shared_task(acks_late=True)
def allocation_sweep_task() -> int:
    """Allocate wherever free stock meets a waiting line (a lost task, a worker that died)."""
    return len(services.allocation_sweep())


@shared_task(**RETRY)
def low_stock_alerts_task() -> int:
    return services.low_stock_alerts_record()


@shared_task(acks_late=True)
def goodwill_apply_task() -> int:
    """Grant goodwill gestures to orders that waited too long (within each month's budget)."""
    return len(services.goodwill_apply())

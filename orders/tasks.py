"""Thin Celery tasks: take ids, call a service. Each is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import services

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(**RETRY)
def product_allocate_task(product_id: int) -> int:
    """Hand a product's available stock to its queue and refresh its ETAs."""
    return services.product_allocate(product_id=product_id).units


@shared_task(**RETRY)
def low_stock_alerts_task() -> int:
    return services.low_stock_alerts_record()

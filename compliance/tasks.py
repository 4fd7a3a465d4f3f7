"""Thin tasks for the Mail Order Rule engine; each decision is idempotent."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from . import services


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def rule_evaluate_task(order_ids: list[int]) -> int:
    """Re-decide for orders whose ETA, payment or shipments just changed."""
    return services.rule_run(order_ids=order_ids)


@shared_task(acks_late=True)
def rule_run_task() -> int:
    """The hourly run over every order still open under the rule."""
    return services.rule_run()

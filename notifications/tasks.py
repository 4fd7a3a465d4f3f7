"""Thin Celery tasks for the outbox: take ids, call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from orders.services import order_flag_unreachable

from . import services


@shared_task(
    autoretry_for=(services.TemporaryEmailError, OperationalError),
    retry_backoff=30,
    retry_backoff_max=settings.TASK_COUNTDOWN_MAX_SECONDS,
    max_retries=8,
    acks_late=True,
)
def notification_send_task(notification_id: int) -> str:
    """One email by id (messages queued before the drain; new emails go through drains)."""
    return services.notification_send(notification_id=notification_id)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def notifications_drain_task() -> int:
    """Send one batch of due emails (and publish the next drain while more are due)."""
    return len(services.notifications_drain().claimed)


@shared_task(acks_late=True)
def notifications_sweep_task() -> int:
    services.unreachable_flags_repair()
    return len(services.notifications_sweep())


@shared_task(acks_late=True)
def staff_digest_task() -> int:
    return len(services.staff_digest_create())


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def order_unreachable_task(order_id: int, reason: str) -> None:
    order_flag_unreachable(order_id=order_id, reason=reason)

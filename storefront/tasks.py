"""Thin Celery tasks for outbound webhooks and the waitlist: call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from inventory.models import Product

from . import webhooks
from .waitlist.services import waitlist_invite_for_product, waitlist_sweep


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def webhook_deliveries_drain_task() -> int:
    return webhooks.webhook_deliveries_drain().claimed


@shared_task(acks_late=True)
def webhook_deliveries_sweep_task() -> int:
    return webhooks.webhook_deliveries_sweep().claimed


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5, acks_late=True)
def waitlist_invite_task(product_id: int) -> int:
    """Tell the product's waitlisters it is back, as far as free units go."""
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        return 0
    return len(waitlist_invite_for_product(product=product).invited)


@shared_task(acks_late=True)
def waitlist_sweep_task() -> int:
    """Invite wherever free units meet waitlisters (an invitation task lost with the broker)."""
    return len(waitlist_sweep())

"""The customer's status page opens: a tally staff read as a sign of a worried customer."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone

from ..models import Order

logger = logging.getLogger(__name__)


def order_status_view_record(*, order_id: int, now: dt.datetime | None = None) -> bool:
    """Count one opening of the order's status page: one UPDATE adding 1 in the database, so
    simultaneous opens never lose a count. Never raises: the page matters more than the tally
    (a failure is logged and returns False).

    One statement, atomic by itself, and no transaction of its own: the page is read in
    autocommit, and a savepoint would triple the cost of a page view. No timeline event: an
    open changes nothing about the order, and a customer refreshing the page would bury the
    events staff act on.
    """
    try:
        updated = Order.objects.filter(pk=order_id).update(
            status_views=F("status_views") + 1, status_viewed_at=now or timezone.now()
        )
    except DatabaseError:
        logger.warning("Could not count a status page open of order %s.", order_id, exc_info=True)
        return False
    return updated == 1

"""Workers inviting waitlisters at the same moment on PostgreSQL: never more invitations than
free units, each waitlister told once, in the order they joined; joins racing make one entry."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from inventory.models import Product
from notifications.models import Notification
from orders.selectors import invariant_violations
from storefront.models import WaitlistEntry
from storefront.waitlist.services import waitlist_invite_for_product, waitlist_join, waitlist_sweep
from tests.factories import ProductFactory, place_order, receive
from tests.orders.test_concurrency import run_clients

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DENY = Product.BackorderPolicy.DENY


def waitlisters(product: Product, count: int) -> list[str]:
    emails = [f"shopper{n:02d}@example.com" for n in range(count)]
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    WaitlistEntry.objects.bulk_create(
        WaitlistEntry(product=product, email=email, joined_at=start + dt.timedelta(minutes=n))
        for n, email in enumerate(emails)
    )
    return emails


@pytest.fixture
def slow_count(monkeypatch):
    """Each worker pauses between counting the free units and choosing whom to tell, so the
    workers overlap there: only the lock keeps the second from counting before the first told."""
    from storefront.waitlist import services

    counted = services.waitlist_free_units

    def slowly(**kwargs):
        found = counted(**kwargs)
        time.sleep(0.2)
        return found

    monkeypatch.setattr(services, "waitlist_free_units", slowly)


def test_eight_workers_inviting_at_once_never_invite_more_than_the_free_units(slow_count):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    place_order((lamp, 2))  # two backordered units come first
    receive(lamp, 5)  # 2 to the order, 3 free
    # Joined before the units came (the receipt's own invitation task is what races here).
    emails = waitlisters(lamp, 12)
    assert WaitlistEntry.objects.filter(invited_at__isnull=False).count() == 0

    def worker(index: int, barrier: threading.Barrier) -> None:
        product = Product.objects.get(pk=lamp.pk)
        barrier.wait()
        # Half are the receipt's invitation tasks, half the periodic sweep.
        if index % 2:
            waitlist_invite_for_product(product=product)
        else:
            waitlist_sweep()

    run_clients(8, worker)

    told = list(
        WaitlistEntry.objects.filter(invited_at__isnull=False)
        .order_by("joined_at")
        .values_list("email", flat=True)
    )
    assert told == emails[:3]
    assert Notification.objects.filter(kind=Notification.Kind.WAITLIST_INVITATION).count() == 3
    assert invariant_violations() == []


def test_the_same_address_joining_from_eight_threads_is_one_entry():
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=DENY)
    created: list[bool] = []
    lock = threading.Lock()

    def shopper(index: int, barrier: threading.Barrier) -> None:
        product = Product.objects.get(pk=lamp.pk)
        barrier.wait()
        joined = waitlist_join(product=product, email="Ann@Example.com")
        with lock:
            created.append(joined.created)

    run_clients(8, shopper)

    assert sorted(created) == [False] * 7 + [True]
    assert WaitlistEntry.objects.count() == 1

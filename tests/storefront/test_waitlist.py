"""The back-in-stock waitlist: shoppers are told in the order they joined, only once every
backordered line has its units, and never more of them than units are free."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction

from inventory.models import Product
from notifications.models import Notification
from notifications.services import notification_render
from orders.services import stock_adjust, stock_receive
from storefront.models import WaitlistEntry
from storefront.waitlist.selectors import entry_from_leave_token, leave_token
from storefront.waitlist.services import (
    waitlist_invite_for_product,
    waitlist_join,
    waitlist_leave,
    waitlist_sweep,
)
from tests.factories import CustomerFactory, ProductFactory, place_order, receive

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)
DENY = Product.BackorderPolicy.DENY


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def join_in_turn(clock, product: Product, *emails: str) -> list[WaitlistEntry]:
    """Each address joins a minute after the one before."""
    entries = []
    for email in emails:
        clock.shift(dt.timedelta(minutes=1))
        entries.append(waitlist_join(product=product, email=email).entry)
    return entries


def invited() -> list[str]:
    return list(
        WaitlistEntry.objects.filter(invited_at__isnull=False)
        .order_by("invited_at", "joined_at")
        .values_list("email", flat=True)
    )


def invitations() -> list[str]:
    return list(
        Notification.objects.filter(kind=Notification.Kind.WAITLIST_INVITATION)
        .order_by("id")
        .values_list("recipient", flat=True)
    )


def test_waitlisters_are_told_in_the_order_they_joined_as_far_as_units_go(clock):
    lamp = ProductFactory(sku="LAMP-1", name="Desk Lamp", on_hand=0, backorder_policy=DENY)
    join_in_turn(clock, lamp, "ann@example.com", "bob@example.com", "cat@example.com")

    clock.shift(dt.timedelta(hours=1))
    receive(lamp, 2)
    result = waitlist_invite_for_product(product=lamp)

    assert [e.email for e in result.invited] == ["ann@example.com", "bob@example.com"]
    assert invited() == ["ann@example.com", "bob@example.com"]
    assert invitations() == ["ann@example.com", "bob@example.com"]
    assert WaitlistEntry.objects.get(email="ann@example.com").invited_at == MONDAY + dt.timedelta(
        hours=1, minutes=3
    )
    assert WaitlistEntry.objects.get(email="cat@example.com").invited_at is None


def test_backordered_lines_get_their_units_before_anyone_on_the_waitlist(clock):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    place_order((lamp, 3), customer=CustomerFactory(email="early@example.com"))
    join_in_turn(clock, lamp, "ann@example.com", "bob@example.com")

    # 2 units: the order waiting for 3 takes both; nobody on the waitlist is told.
    receive(lamp, 2)
    assert waitlist_invite_for_product(product=lamp).invited == []
    # 2 more: the order takes its last one, and one unit is left for the waitlist.
    receive(lamp, 2)
    result = waitlist_invite_for_product(product=lamp)

    assert result.free == 1
    assert invited() == ["ann@example.com"]


def test_free_units_are_counted_before_allocation_runs_too(clock):
    """Stock received but not yet handed to the queue is not free for the waitlist."""
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    place_order((lamp, 3))
    join_in_turn(clock, lamp, "ann@example.com", "bob@example.com")

    stock_receive(product=lamp, quantity=4)  # the allocation task has not run yet
    result = waitlist_invite_for_product(product=lamp)

    assert (result.free, invited()) == (1, ["ann@example.com"])


def test_never_more_invitations_than_free_units_however_often_it_runs(clock):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=DENY)
    join_in_turn(clock, lamp, *(f"shopper{n}@example.com" for n in range(5)))
    receive(lamp, 2)

    for _ in range(3):
        waitlist_invite_for_product(product=lamp)
        clock.shift(dt.timedelta(minutes=5))
    assert waitlist_sweep() == []

    assert invited() == ["shopper0@example.com", "shopper1@example.com"]
    assert len(invitations()) == 2


def test_an_invitation_that_lapses_passes_its_unit_to_the_next_in_line(clock, settings):
    settings.WAITLIST_INVITATION_HOURS = 48
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=DENY)
    join_in_turn(clock, lamp, "ann@example.com", "bob@example.com")
    receive(lamp, 1)
    waitlist_invite_for_product(product=lamp)

    clock.shift(dt.timedelta(hours=47))
    assert waitlist_invite_for_product(product=lamp).invited == []
    clock.shift(dt.timedelta(hours=2))
    assert [e.email for e in waitlist_invite_for_product(product=lamp).invited] == [
        "bob@example.com"
    ]


def test_an_invited_shopper_who_orders_holds_their_own_unit(clock):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=DENY)
    join_in_turn(clock, lamp, "ann@example.com", "bob@example.com", "cat@example.com")
    receive(lamp, 2)
    waitlist_invite_for_product(product=lamp)

    clock.shift(dt.timedelta(minutes=30))
    place_order((lamp, 1), customer=CustomerFactory(email="Ann@Example.com"))

    # 1 unit left and Bob's invitation still open: nobody else is told.
    assert waitlist_invite_for_product(product=lamp).invited == []
    assert invited() == ["ann@example.com", "bob@example.com"]


def test_an_invited_shopper_who_leaves_gives_their_place_to_the_next(clock):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=DENY)
    ann, _ = join_in_turn(clock, lamp, "ann@example.com", "bob@example.com")
    receive(lamp, 1)
    waitlist_invite_for_product(product=lamp)

    waitlist_leave(entry=ann)
    waitlist_invite_for_product(product=lamp)

    assert invited() == ["ann@example.com", "bob@example.com"]


def test_joining_twice_is_one_entry_whatever_the_case_of_the_address(clock):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    first = waitlist_join(product=lamp, email="Ann@Example.com")
    clock.shift(dt.timedelta(minutes=5))
    again = waitlist_join(product=lamp, email=" ann@example.COM ")

    assert (first.created, again.created) == (True, False)
    assert again.entry.pk == first.entry.pk
    assert again.entry.joined_at == MONDAY  # keeps its place
    assert WaitlistEntry.objects.count() == 1


def test_the_database_refuses_a_second_waiting_entry_for_the_same_address():
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    waitlist_join(product=lamp, email="ann@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        WaitlistEntry.objects.create(product=lamp, email="ann@example.com", joined_at=MONDAY)


def test_after_leaving_or_a_lapsed_invitation_a_shopper_joins_again_at_the_back(clock):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    entry = waitlist_join(product=lamp, email="ann@example.com").entry
    waitlist_leave(entry=entry)
    waitlist_leave(entry=entry)  # twice: no change
    again = waitlist_join(product=lamp, email="ann@example.com")

    assert again.created
    assert WaitlistEntry.objects.filter(left_at__isnull=False).count() == 1


def test_a_bad_address_or_a_discontinued_product_is_refused():
    from django.core.exceptions import ValidationError

    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    with pytest.raises(ValidationError, match="valid email"):
        waitlist_join(product=lamp, email="not an address")
    gone = ProductFactory(sku="GONE-1", is_discontinued=True)
    with pytest.raises(ValidationError, match="discontinued"):
        waitlist_join(product=gone, email="ann@example.com")


def test_the_invitation_email_says_it_is_back_links_to_buy_and_how_to_leave(clock, settings):
    lamp = ProductFactory(sku="LAMP-1", name="Desk Lamp", on_hand=0, backorder_policy=DENY)
    waitlist_join(product=lamp, email="ann@example.com", product_url="https://shop.example/lamp")
    waitlist_join(product=lamp, email="bob@example.com")
    receive(lamp, 2)
    waitlist_invite_for_product(product=lamp)

    with_link, without = Notification.objects.order_by("id")
    email = notification_render(notification=with_link)
    assert email is not None
    assert email.subject == "Back in stock: Desk Lamp"
    assert (
        "You joined the waitlist for Desk Lamp (LAMP-1) on 2 Nov 2026, and it is back in stock."
        in email.text
    )
    assert "Buy it now:\nhttps://shop.example/lamp" in email.text
    assert 'href="https://shop.example/lamp"' in email.html
    entry = WaitlistEntry.objects.get(email="ann@example.com")
    leave = f"{settings.SITE_URL}/waitlist/leave/{leave_token(entry=entry)}/"
    assert with_link.facts["leave_url"] == leave
    assert "Leave the waitlist" in email.text
    assert with_link.facts["leave_url"] in email.text
    assert f'href="{leave}"' in email.html
    assert entry_from_leave_token(token=leave_token(entry=entry)) == entry
    other = notification_render(notification=without)
    assert other is not None
    assert "Order it from our store as usual." in other.text
    assert "Buy it now" not in other.html


def test_a_receipt_publishes_the_invitation_after_commit(clock, django_capture_on_commit_callbacks):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=DENY)
    join_in_turn(clock, lamp, "ann@example.com", "bob@example.com")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        stock_receive(product=lamp, quantity=1)
    assert invited() == []  # nothing before the receipt commits
    assert any("waitlist_invite_task" in repr(getattr(c, "task", c)) for c in callbacks)

    for callback in callbacks:
        callback()
    assert invited() == ["ann@example.com"]


def test_an_adjustment_up_tells_the_waitlist_and_a_count_down_tells_nobody(
    clock, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(sku="LAMP-1", on_hand=1, backorder_policy=DENY)
    place_order((lamp, 1))
    join_in_turn(clock, lamp, "ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(product=lamp, quantity=1, reason="Found one")
    assert invited() == ["ann@example.com"]


def test_the_sweep_catches_up_when_the_invitation_task_was_lost(clock):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=DENY)
    cable = ProductFactory(sku="CABLE-1", on_hand=0, backorder_policy=DENY)
    join_in_turn(clock, lamp, "ann@example.com")
    join_in_turn(clock, cable, "bob@example.com")
    receive(lamp, 1)  # the receipt's after-commit task never ran (not captured here)

    assert waitlist_sweep() == [lamp.pk]
    assert waitlist_sweep() == []
    assert invited() == ["ann@example.com"]


def test_the_sweep_is_scheduled_every_minute(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["waitlist-sweep"]
    assert schedule["task"] == "storefront.tasks.waitlist_sweep_task"
    assert schedule["schedule"] == 60.0


def test_the_tasks_invite_and_sweep_and_shrug_at_a_product_gone(clock):
    from storefront.tasks import waitlist_invite_task, waitlist_sweep_task

    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=DENY)
    cable = ProductFactory(sku="CABLE-1", on_hand=0, backorder_policy=DENY)
    join_in_turn(clock, lamp, "ann@example.com", "bob@example.com")
    join_in_turn(clock, cable, "cat@example.com")
    receive(lamp, 1)
    receive(cable, 1)

    assert waitlist_invite_task.delay(lamp.pk).get() == 1
    assert waitlist_invite_task.delay(lamp.pk).get() == 0  # twice: nothing more
    assert waitlist_invite_task.delay(999_999).get() == 0
    assert waitlist_sweep_task.delay().get() == 1  # the cable's task was lost
    assert invited() == ["ann@example.com", "cat@example.com"]

"""ETA confidence: a line waiting on a purchase order from a supplier with enough history keeps
its single ETA and gains a range from that supplier's measured slips."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from inventory.models import PurchaseOrderLine
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from notifications.services import notification_render
from orders.selectors import line_eta_ranges, order_status_url
from orders.services import (
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
)
from tests.factories import ProductFactory, UserFactory, place_order
from tests.shown import shown

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)
HANDLING = 1  # ETA_HANDLING_DAYS default


def day(n: int) -> dt.date:
    return MONDAY.date() + dt.timedelta(days=n)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def history(clock, supplier, slips: list[int]) -> None:
    for slip in slips:
        clock.move_to(MONDAY)
        line = purchase_order_create(
            supplier=supplier,
            lines=[PurchaseLineRequest(ProductFactory(on_hand=0), 4, day(10))],
            send=True,
        ).lines.get()
        if slip > 0:
            purchase_order_line_reschedule(line=line, expected_date=day(10 + slip), reason="Late")
        clock.move_to(MONDAY + dt.timedelta(days=10 + slip))
        purchase_order_line_receive(line=line, quantity=4)
    clock.move_to(MONDAY + dt.timedelta(days=30))


def waiting_on(supplier, expected: dt.date):
    lamp = ProductFactory(sku=f"LAMP-{supplier.pk}", name="Brass lamp", on_hand=0)
    purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(lamp, 10, expected)], send=True
    )
    return place_order((lamp, 2))


def test_five_receipts_give_a_range_and_four_do_not(clock, django_assert_num_queries):
    steady = supplier_create(name="Steady Supply")
    history(clock, steady, [0, 1, 2, 3, 6])
    young = supplier_create(name="New Supply")
    history(clock, young, [0, 0, 0, 9])
    order = waiting_on(steady, day(40))
    other = waiting_on(young, day(40))
    [line] = order.lines.all()
    [young_line] = other.lines.all()
    assert line.eta == day(40 + HANDLING)

    with django_assert_num_queries(4):
        ranges = line_eta_ranges(lines=[line, young_line], today=day(30))

    assert list(ranges) == [line.pk]
    shown_range = ranges[line.pk]
    # 10th, 80th and 90th percentile of the slips (0, 1, 2, 3, 6) added to the ETA.
    assert (shown_range.earliest, shown_range.likely, shown_range.latest) == (
        day(41),
        day(44),
        day(47),
    )
    assert (shown_range.promised, shown_range.receipts) == (day(41), 5)
    with django_assert_num_queries(0):
        assert line_eta_ranges(lines=[], today=day(30)) == {}


def test_the_order_page_and_the_status_page_show_the_range(clock, client):
    steady = supplier_create(name="Steady Supply")
    history(clock, steady, [0, 1, 2, 3, 6])
    order = waiting_on(steady, day(40))
    manager = UserFactory()
    manager.groups.add(Group.objects.get(name="Managers"))
    client.force_login(manager)

    staff_page = client.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    customer_page = Client().get(order_status_url(order=order)).content.decode()

    assert f"ships {shown(day(41))} – {shown(day(47))}, 80% likely by {shown(day(44))}" in re.sub(
        r"\s+", " ", staff_page
    )
    customer_text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", customer_page))
    assert f"expected to ship by {shown(day(41))}." in customer_text
    assert (
        f"ships between {shown(day(41))} and {shown(day(47))}, 80% likely by {shown(day(44))}."
        in customer_text
    )


def confirmation_text(order) -> str:
    rendered = notification_render(
        notification=Notification.objects.get(
            order=order, kind=Notification.Kind.ORDER_CONFIRMATION
        )
    )
    assert rendered is not None
    return rendered.text


def test_emails_give_the_promised_date_unless_the_store_chooses_the_padded_one(clock, settings):
    steady = supplier_create(name="Steady Supply")
    history(clock, steady, [0, 1, 2, 3, 6])
    order = waiting_on(steady, day(40))

    assert settings.CUSTOMER_EMAIL_ETA == "promised"
    assert "2 × Brass lamp: expected to ship around 13 Dec\n" in confirmation_text(order)

    settings.CUSTOMER_EMAIL_ETA = "padded"
    # 13 Dec plus the supplier's 80th-percentile slip of 3 days.
    assert "2 × Brass lamp: expected to ship by 16 Dec\n" in confirmation_text(order)
    # A supplier's date moving later: the ETA email pads the new date the same way.
    purchase_order_line_reschedule(
        line=PurchaseOrderLine.objects.get(
            purchase_order__supplier=steady, product__sku__startswith="LAMP"
        ),
        expected_date=day(45),
        reason="Port congestion",
    )
    eta_email = Notification.objects.get(order=order, kind=Notification.Kind.ETA_CHANGED)
    rendered = notification_render(notification=eta_email)
    assert rendered is not None
    assert "now expected to ship around 21 Dec, later than the 16 Dec we gave you" in rendered.text

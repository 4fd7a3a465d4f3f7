"""Staff see a product's waitlist on its page: how many wait, who, when they joined and when
they were told it is back."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Product
from storefront.services import channel_create
from storefront.waitlist.services import waitlist_invite_for_product, waitlist_join, waitlist_leave
from tests.factories import ProductFactory, receive, staff_in

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    return client


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def page_of(client, product: Product) -> str:
    return client.get(reverse("dashboard:product", args=[product.pk])).content.decode()


def section(page: str) -> str:
    start = page.index('id="waitlist"')
    return page[start : page.index("</section>", start)]


def test_the_product_page_lists_the_waitlist_with_who_was_told(operations, clock):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0, backorder_policy=Product.BackorderPolicy.DENY)
    corner = channel_create(name="Corner Shop")
    waitlist_join(product=lamp, email="ann@example.com", channel=corner)
    clock.shift(dt.timedelta(minutes=10))
    waitlist_join(product=lamp, email="bob@example.com")
    clock.shift(dt.timedelta(minutes=10))
    cat = waitlist_join(product=lamp, email="cat@example.com").entry
    waitlist_leave(entry=cat)
    clock.shift(dt.timedelta(hours=2))
    receive(lamp, 1)
    waitlist_invite_for_product(product=lamp)

    found = section(page_of(operations, lamp))

    assert "Waitlist (1 waiting, 1 told it is back)" in found
    assert found.index("bob@example.com") < found.index("ann@example.com")  # waiting first
    ann_row = found[found.index("ann@example.com") : found.index("</tr>", found.index("ann@"))]
    assert "Corner Shop" in ann_row
    assert "2 Nov 2026" in ann_row  # joined and told (store time)
    bob_row = found[found.index("bob@example.com") : found.index("</tr>", found.index("bob@"))]
    assert "waiting" in bob_row
    assert "Waitlist form" in bob_row
    assert "Left" in found[found.index("cat@example.com") :]


def test_a_product_nobody_waits_for_says_so(operations):
    lamp = ProductFactory(sku="LAMP-1", on_hand=3)
    found = section(page_of(operations, lamp))
    assert "Waitlist (0 waiting)" in found
    assert "Nobody has asked to be told when this product is back." in found


def test_the_waitlist_costs_the_same_queries_for_3_or_60_entries(operations):
    lamp = ProductFactory(sku="LAMP-1", on_hand=0)
    corner = channel_create(name="Corner Shop")
    for n in range(3):
        waitlist_join(product=lamp, email=f"s{n}@example.com", channel=corner)
    with CaptureQueriesContext(connection) as few:
        page_of(operations, lamp)
    for n in range(3, 60):
        waitlist_join(product=lamp, email=f"s{n}@example.com", channel=corner)
    with CaptureQueriesContext(connection) as many:
        page = page_of(operations, lamp)
    assert len(few.captured_queries) == len(many.captured_queries)
    assert "Waitlist (60 waiting)" in page
    assert "Showing the first 50." in page

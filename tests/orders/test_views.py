"""The customer's order status page, opened from the signed link in every email."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import Order, OrderLine, Refund
from orders.selectors import ORDER_STATUS_SALT, order_status_token, order_status_url, store_today
from orders.services import (
    line_cancel,
    order_flag_unreachable,
    purchase_order_create,
    refund_mark_issued,
    shipment_create,
)
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db

HANDLING = settings.ETA_HANDLING_DAYS


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


def store_tz() -> ZoneInfo:
    return ZoneInfo(settings.STORE_TIME_ZONE)


def words(value: dt.date) -> str:
    """A date as the page writes it: 7 May 2025."""
    return f"{value.day} {value:%b} {value.year}"


def visible_text(response) -> str:
    """What a person reads: the body's text without tags, whitespace collapsed."""
    body = response.content.decode().split("<body", 1)[1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", body)).split())


def status_path(order: Order) -> str:
    return reverse("customer:status", args=[order_status_token(order=order)])


@dataclass
class MixedOrder:
    order: Order
    shipped_on: dt.date
    tracking_number: str


def place_mixed_order() -> MixedOrder:
    """One order with a line in every state a customer can see.

    Lamp: 3 ordered, 1 in stock, 1 cancelled (refund due), 1 backordered on the lead time.
    Throw: 2 ordered and shipped by UPS. Vase: on a purchase order due in 5 days.
    Speaker: a preorder released in 40 days. Mug: no supplier, no lead time: no date yet.
    Coaster: cancelled and refunded.
    """
    lamp = ProductFactory(name="Walnut Desk Lamp", on_hand=1, lead_time_days=14)
    throw = ProductFactory(name="Linen Throw", on_hand=2)
    vase = ProductFactory(name="Stoneware Vase", on_hand=0)
    supplier = supplier_create(name="Kiln & Co", lead_time_days=21)
    purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(vase, 5, day(5))], send=True
    )
    speaker = ProductFactory(
        name="Aurora Speaker", on_hand=0, is_preorder=True, release_date=day(40)
    )
    mug = ProductFactory(name="Enamel Mug", on_hand=0, lead_time_days=None)
    coaster = ProductFactory(name="Cork Coaster", on_hand=0)
    order = place_order(
        (lamp, 3),
        (throw, 2),
        (vase, 1),
        (speaker, 1),
        (mug, 1),
        (coaster, 1),
        customer=CustomerFactory(email="ada@example.com", name="Ada Lovelace"),
    )
    lines = {line.product.name: line for line in order.lines.select_related("product")}
    line_cancel(line=lines["Walnut Desk Lamp"], quantity=1, reason="Customer asked")
    line_cancel(line=lines["Cork Coaster"], reason="Customer asked")
    refund_mark_issued(
        refund=Refund.objects.get(order_line=lines["Cork Coaster"]), reference="card 4242"
    )
    shipped_at = timezone.now()
    shipment_create(
        order=order,
        quantities={lines["Linen Throw"].pk: 2},
        carrier="UPS",
        shipping_method="Ground",
        tracking_number="1Z999AA10123456784",
        shipped_at=shipped_at,
    )
    return MixedOrder(
        order=order, shipped_on=store_today(shipped_at), tracking_number="1Z999AA10123456784"
    )


@pytest.fixture
def mixed() -> MixedOrder:
    return place_mixed_order()


def test_the_page_tells_the_customer_where_each_item_stands(client: Client, mixed: MixedOrder):
    order = mixed.order
    lamp_refund = Refund.objects.get(order_line__product__name="Walnut Desk Lamp")

    response = client.get(status_path(order))

    assert response.status_code == 200
    text = visible_text(response)
    placed_on = words(timezone.localtime(order.placed_at, timezone=store_tz()).date())
    assert settings.STORE_NAME in text
    assert f"Order {order.number}" in text
    assert f"Placed on {placed_on}" in text
    assert "Partly shipped" in text
    # Each line, in words.
    assert "1 in stock and set aside for you; it ships soon." in text
    assert f"1 on backorder: estimated to ship by {words(day(14 + HANDLING))}." in text
    assert "1 cancelled" in text
    assert f"2 shipped on {words(mixed.shipped_on)} with UPS (Ground)." in text
    assert "Tracking number 1Z999AA10123456784" in text
    assert f"1 on backorder: expected to ship by {words(day(5 + HANDLING))}." in text
    assert f"1 preordered: ships when it is released on {words(day(40))}." in text
    assert "1 on backorder: no date yet. We will email you as soon as we have one." in text
    # Refunds: amount, due date, issued or not.
    assert f"$25.00 Walnut Desk Lamp Not yet issued · due by {words(lamp_refund.due_date)}" in text
    assert f"$25.00 Cork Coaster Refunded on {words(store_today())}" in text
    assert f"Email us at {settings.STORE_SUPPORT_EMAIL} and mention order {order.number}." in text
    # Staff-only facts never reach the customer.
    assert "Customer asked" not in text
    assert "card 4242" not in text


def test_a_ship_complete_order_says_it_waits_for_every_item(client: Client):
    lamp = ProductFactory(name="Walnut Desk Lamp", on_hand=1, lead_time_days=14)
    order = place_order((lamp, 2), ship_preference=Order.ShipPreference.SHIP_COMPLETE)

    text = visible_text(client.get(status_path(order)))

    assert "Waiting for stock" in text
    assert "You asked us to ship everything together" in text
    assert "1 in stock and set aside for you; it ships together with the rest of your order." in (
        text
    )


def test_the_link_in_emails_opens_the_page(client: Client, mixed: MixedOrder):
    url = order_status_url(order=mixed.order)

    response = client.get(url.removeprefix(settings.SITE_URL.rstrip("/")))

    assert response.status_code == 200
    assert mixed.order.number in visible_text(response)


def test_the_page_is_private_and_never_cached(client: Client, mixed: MixedOrder):
    response = client.get(status_path(mixed.order))

    assert response["Referrer-Policy"] == "same-origin"
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control
    assert "public" not in cache_control
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in response.content.decode()


def test_an_unreachable_customer_sees_the_usual_page(client: Client, mixed: MixedOrder):
    order_flag_unreachable(order_id=mixed.order.pk, reason="Hard bounce: mailbox full")

    response = client.get(status_path(mixed.order))

    assert response.status_code == 200
    text = visible_text(response)
    assert "unreachable" not in text.lower()
    assert "bounce" not in text.lower()


def tamper(token: str, position: int) -> str:
    swap = "A" if token[position] != "A" else "B"
    return token[:position] + swap + token[position + 1 :]


@pytest.mark.parametrize("position", [0, 1, 10, -12, -1])
def test_a_token_with_one_character_changed_finds_nothing(client: Client, position: int):
    order = place_order((ProductFactory(on_hand=1), 1))
    token = order_status_token(order=order)
    position %= len(token)

    response = client.get(reverse("customer:status", args=[tamper(token, position)]))

    assert response.status_code == 404


def test_a_token_signed_with_another_salt_finds_nothing(client: Client):
    order = place_order((ProductFactory(on_hand=1), 1))
    token = signing.dumps({"o": order.pk, "n": order.number}, salt="other")

    assert client.get(reverse("customer:status", args=[token])).status_code == 404


@pytest.mark.parametrize(
    "token",
    ["bogus", "not.a.token", ".eJyrVsrPS1WyMtRRKlKyUkpKsTQwMjBQqgUAVOYGGA", "a" * 500],
)
def test_a_bogus_string_finds_nothing(client: Client, token: str):
    place_order((ProductFactory(on_hand=1), 1))

    assert client.get(f"/orders/{token}/").status_code == 404


def test_a_nul_character_in_the_link_is_a_bad_request(client: Client):
    assert client.get("/orders/%00/").status_code == 400


def test_a_signed_token_naming_a_missing_or_mismatched_order_finds_nothing(client: Client):
    first = place_order((ProductFactory(on_hand=1), 1))
    second = place_order((ProductFactory(on_hand=1), 1))
    mismatched = signing.dumps({"o": first.pk, "n": second.number}, salt=ORDER_STATUS_SALT)
    missing = signing.dumps({"o": 999_999, "n": "BD-999999"}, salt=ORDER_STATUS_SALT)
    not_a_dict = signing.dumps([first.pk, first.number], salt=ORDER_STATUS_SALT)

    for token in (mismatched, missing, not_a_dict):
        assert client.get(reverse("customer:status", args=[token])).status_code == 404


def test_a_token_for_one_order_never_shows_another(client: Client):
    mine = place_order((ProductFactory(name="Walnut Desk Lamp", on_hand=5), 1))
    theirs = place_order(
        (ProductFactory(name="Brass Candle Holder", on_hand=5), 4),
        customer=CustomerFactory(email="someone.else@example.com"),
    )

    text = visible_text(client.get(status_path(mine)))

    assert mine.number in text
    assert "Walnut Desk Lamp" in text
    assert theirs.number not in text
    assert "Brass Candle Holder" not in text


def test_old_links_keep_working(client: Client):
    """The link lives as long as the order: a token made long ago still opens the page."""
    order = place_order((ProductFactory(on_hand=1), 1))
    signer = signing.TimestampSigner(salt=ORDER_STATUS_SALT)
    old = dt.datetime(2015, 1, 1, tzinfo=dt.UTC).timestamp()
    signer.timestamp = lambda: signing.b62_encode(int(old))  # type: ignore[method-assign]
    token = signer.sign_object({"o": order.pk, "n": order.number}, compress=True)

    assert client.get(reverse("customer:status", args=[token])).status_code == 200


def test_the_page_only_answers_get_and_head(client: Client):
    order = place_order((ProductFactory(on_hand=1), 1))

    assert client.post(status_path(order)).status_code == 405
    assert client.head(status_path(order)).status_code == 200


def order_with_lines(count: int) -> Order:
    """`count` lines: some shipped, some backordered, some cancelled with a refund."""
    products = [ProductFactory(on_hand=1 if i % 2 else 0) for i in range(count)]
    order = place_order(*[(product, 2) for product in products])
    lines = list(order.lines.order_by("id"))
    shipment_create(
        order=order,
        quantities={line.pk: 1 for line in lines if line.quantity_allocated},
        carrier="USPS",
        tracking_number="9400100000000000000000",
    )
    for line in lines[::3]:
        line_cancel(line=line, quantity=1, reason="Customer asked")
    return order


@pytest.mark.parametrize("count", [2, 10])
def test_the_page_costs_the_same_queries_for_2_or_10_lines(
    client: Client, django_assert_num_queries, count: int
):
    order = order_with_lines(count)
    path = status_path(order)
    assert OrderLine.objects.filter(order=order).count() == count
    assert Refund.objects.filter(order=order).exists()

    # The token's order, the count of the customer's open (one UPDATE), then order_detail:
    # the order, lines + products, timeline, shipments, their lines, those lines' order lines,
    # their products, refunds.
    with django_assert_num_queries(11):
        response = client.get(path)

    assert response.status_code == 200
    assert response.content.decode().count('class="cs-item"') == count


def test_an_orders_link_is_the_same_whenever_it_is_made_and_older_links_still_open(
    client: Client,
):
    order = place_order((ProductFactory(on_hand=1), 1))
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, seconds=7)):
        later = order_status_token(order=order)
    # a link from before links were made stable: signed with the time it was made
    older = signing.TimestampSigner(salt=ORDER_STATUS_SALT).sign_object(
        {"o": order.pk, "n": order.number}, compress=True
    )

    assert order_status_token(order=order) == later
    for token in (later, older):
        response = client.get(reverse("customer:status", args=[token]))
        assert response.status_code == 200
        assert order.number in response.content.decode()

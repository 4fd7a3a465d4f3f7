"""A phone or email order typed in by staff, and the live quote beside each line."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from inventory.models import Product
from notifications.models import Notification
from orders.models import Order, OrderEvent
from orders.selectors import product_quote
from tests.addresses import PHONE_ORDER_ADDRESS
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=NY)
NEW_URL = reverse("dashboard:order_new")
QUOTE_URL = reverse("dashboard:quote")


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clerk():
    return staff_in("Operations")


@pytest.fixture
def operations(client: Client, clerk) -> Client:
    client.force_login(clerk)
    return client


@pytest.fixture
def products() -> dict[str, Product]:
    return {
        "cable": ProductFactory(sku="CAB-1", name="Braided cable", on_hand=10),
        "lamp": ProductFactory(sku="LAMP-1", name="Desk lamp", on_hand=2, lead_time_days=10),
        "kettle": ProductFactory(
            sku="KET-1",
            name="Gooseneck kettle",
            on_hand=2,
            backorder_policy=Product.BackorderPolicy.DENY,
        ),
        "headset": ProductFactory(
            sku="VR-1",
            name="VR headset",
            on_hand=0,
            is_preorder=True,
            release_date=dt.date(2026, 4, 15),
        ),
    }


def form_data(*lines: tuple[str, Any], rows: int = 5, **fields: Any) -> dict[str, Any]:
    """The new-order form as the browser posts it: `rows` line rows, blank ones included."""
    data: dict[str, Any] = {
        "customer_email": "pat@example.com",
        "customer_name": "Pat Phone",
        **PHONE_ORDER_ADDRESS,
        "promised_ship_date": "",
        "promised_business_days": "",
        "ship_preference": Order.ShipPreference.SHIP_AVAILABLE,
        "payment_method": Order.PaymentMethod.CARD,
        "paid": "on",
        "shipping_charge": "4.95",
        "lines-TOTAL_FORMS": str(rows),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
    }
    for row in range(rows):
        sku, quantity = lines[row] if row < len(lines) else ("", "")
        data[f"lines-{row}-sku"] = sku
        data[f"lines-{row}-quantity"] = quantity
    data.update(fields)
    return data


def page_text(response) -> str:
    return response.content.decode()


# --- who may use it ------------------------------------------------------------------------


def test_operations_and_managers_may_take_orders(client):
    for group in ("Operations", "Managers"):
        client.force_login(staff_in(group))
        assert client.get(NEW_URL).status_code == 200
        assert client.get(QUOTE_URL, {"sku": "X", "quantity": "1"}).status_code == 200


def test_staff_without_a_group_may_not(client, products):
    client.force_login(staff_in(None))
    assert client.get(NEW_URL).status_code == 403
    assert client.post(NEW_URL, form_data(("CAB-1", 1))).status_code == 403
    assert client.get(QUOTE_URL, {"sku": "CAB-1", "quantity": "1"}).status_code == 403
    assert not Order.objects.exists()


def test_the_form_has_labelled_fields_five_line_rows_and_csrf(operations, products):
    html = page_text(operations.get(NEW_URL))
    assert "csrfmiddlewaretoken" in html
    for field in ("customer_email", "customer_name", "promised_ship_date", "payment_method"):
        assert f'<label for="id_{field}">' in html
    for row in range(5):
        assert f'<label class="visually-hidden" for="id_lines-{row}-sku">Line {row + 1} SKU' in html
    assert 'name="lines-5-sku"' not in html
    assert '<option value="CAB-1">Braided cable</option>' in html
    assert reverse("dashboard:quote") in html  # the live quote script


# --- placing the order -----------------------------------------------------------------------


def test_placing_an_order_with_a_backordered_line(operations, clerk, products):
    data = form_data(("cab-1", "3"), ("", ""), ("LAMP-1", "5"), shipping_charge="4.95")
    response = operations.post(NEW_URL, data)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:order", args=[order.pk])
    assert order.customer.email == "pat@example.com"
    assert order.customer.name == "Pat Phone"
    assert order.created_by == clerk
    assert order.payment_method == Order.PaymentMethod.CARD
    assert order.paid_at is not None
    assert str(order.amount_paid) == "204.95"  # 3 × 25 + 5 × 25 + 4.95 shipping
    lines = {line.product.sku: line for line in order.lines.select_related("product")}
    assert (lines["CAB-1"].quantity, lines["CAB-1"].quantity_allocated) == (3, 3)
    assert (lines["LAMP-1"].quantity_allocated, lines["LAMP-1"].backordered) == (2, 3)
    placed = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.PLACED)
    assert placed.actor == clerk
    assert Notification.objects.filter(
        order=order, kind=Notification.Kind.ORDER_CONFIRMATION
    ).exists()

    page = page_text(operations.get(response["Location"]))
    assert f"Order {order.number} placed; confirmation email queued." in page


def test_an_existing_customer_is_found_by_email(operations, products):
    customer = CustomerFactory(email="Ada@Example.com", name="Ada Lovelace")
    response = operations.post(
        NEW_URL, form_data(("CAB-1", "1"), customer_email="ada@example.com", customer_name="")
    )
    assert response.status_code == 302
    assert Order.objects.get().customer == customer


def test_the_promise_and_preferences_are_saved(operations, products):
    operations.post(
        NEW_URL,
        form_data(
            ("CAB-1", "1"),
            promised_ship_date="2026-03-06",
            ship_preference=Order.ShipPreference.SHIP_COMPLETE,
            payment_method=Order.PaymentMethod.CHECK,
            paid="",
        ),
    )
    order = Order.objects.get()
    assert order.promised_ship_date == dt.date(2026, 3, 6)
    assert order.ship_preference == Order.ShipPreference.SHIP_COMPLETE
    assert order.payment_method == Order.PaymentMethod.CHECK
    assert order.paid_at is None
    assert str(order.amount_paid) == "0.00"


def test_an_unknown_sku_is_named_on_its_line(operations, products):
    response = operations.post(NEW_URL, form_data(("CAB-1", "1"), ("NOPE-9", "2")))
    html = page_text(response)
    assert response.status_code == 400
    assert "Line 2: no product has the SKU &#x27;NOPE-9&#x27;." in html
    assert not Order.objects.exists()
    # what was typed stays in the form
    assert 'value="NOPE-9"' in html
    assert 'value="pat@example.com"' in html


def test_a_deny_product_cannot_be_ordered_beyond_its_stock(operations, products):
    # Row 2 left blank: the message names row 3, where the kettle was typed.
    response = operations.post(NEW_URL, form_data(("CAB-1", "1"), ("", ""), ("KET-1", "5")))
    html = page_text(response)
    assert response.status_code == 400
    assert "Line 3 (KET-1): only 2 available and this product is not sold on backorder." in html
    assert '<span class="badge bad">Not orderable</span>' in html
    assert not Order.objects.exists()


def test_form_errors_are_shown_beside_their_fields(operations, products):
    response = operations.post(
        NEW_URL,
        form_data(
            ("CAB-1", "0"),
            ("", "3"),
            customer_email="not-an-email",
            promised_ship_date="2026-03-01",
        ),
    )
    html = page_text(response)
    assert response.status_code == 400
    assert "Enter a valid email address." in html
    assert "Ensure this value is greater than or equal to 1." in html
    assert "Enter a SKU, or clear this row&#x27;s quantity." in html  # row 2: no SKU
    assert "The promised ship date cannot be in the past." in html
    assert 'role="alert"' in html
    assert not Order.objects.exists()


def test_an_order_needs_a_line(operations, products):
    html = page_text(operations.post(NEW_URL, form_data()))
    assert "Add at least one line: a SKU and a quantity." in html
    assert not Order.objects.exists()


def test_the_same_sku_twice_is_refused(operations, products):
    html = page_text(operations.post(NEW_URL, form_data(("CAB-1", "1"), ("cab-1", "2"))))
    assert "Line 2: cab-1 is already on line 1." in html
    assert not Order.objects.exists()


def test_check_availability_shows_each_lines_quote_without_placing(operations, products):
    response = operations.post(
        NEW_URL, form_data(("CAB-1", "2"), ("LAMP-1", "5"), ("XX-1", "1"), preview="1")
    )
    html = page_text(response)
    assert response.status_code == 200
    assert not Order.objects.exists()
    assert '<span class="badge ok">In stock</span> All 2 ship now.' in html
    assert '<span class="badge warn">Backorder</span> 2 ship now, 3 backordered' in html
    assert "No product has the SKU &#x27;XX-1&#x27;." in html


def test_add_rows_keeps_what_was_typed(operations, products):
    response = operations.post(NEW_URL, form_data(("CAB-1", "2"), add_rows="1"))
    html = page_text(response)
    assert response.status_code == 200
    assert 'name="lines-9-sku"' in html
    assert 'value="CAB-1"' in html
    assert not Order.objects.exists()


# --- the quote partial -------------------------------------------------------------------------


def quote(client: Client, sku: str, quantity: str = "1") -> str:
    response = client.get(QUOTE_URL, {"sku": sku, "quantity": quantity})
    assert response.status_code == 200
    return " ".join(page_text(response).split())


def test_quote_in_stock(operations, products):
    html = quote(operations, "CAB-1", "3")
    assert '<span class="badge ok">In stock</span> All 3 ship now.' in html
    assert "Braided cable, $25.00 each" in html


def test_quote_backorder_with_its_eta(operations, products):
    expected = product_quote(product=products["lamp"], quantity=5)
    assert expected.eta is not None
    assert expected.eta.date == dt.date(2026, 3, 13)

    html = quote(operations, "lamp-1", "5")

    assert (
        '<span class="badge warn">Backorder</span> 2 ship now, 3 backordered; '
        'ETA 13 Mar 2026 <span class="muted">(estimated from lead time)</span>.'
    ) in html


def test_quote_waits_behind_the_queue(operations, products):
    place_order((products["lamp"], 4))  # takes the 2 on hand, 2 wait
    html = quote(operations, "LAMP-1", "1")
    assert '<span class="badge warn">Backorder</span> 1 backordered;' in html


def test_quote_preorder(operations, products):
    html = quote(operations, "VR-1", "1")
    assert '<span class="badge info">Preorder</span> Releases 15 Apr 2026' in html
    assert "ships 15 Apr 2026" in html


def test_quote_not_orderable_says_why(operations, products):
    html = quote(operations, "KET-1", "5")
    assert (
        '<span class="badge bad">Not orderable</span> '
        "Only 2 available and this product is not sold on backorder."
    ) in html


def test_quote_for_an_unknown_sku_or_a_bad_quantity(operations, products):
    assert "No product has the SKU &#x27;ZZZ&#x27;." in quote(operations, "ZZZ")
    assert "Enter a quantity of at least 1." in quote(operations, "CAB-1", "0")
    assert "Enter a quantity of at least 1." in quote(operations, "CAB-1", "lots")
    assert "Enter a SKU to see availability." in quote(operations, "")

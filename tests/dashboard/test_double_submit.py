"""A form submitted twice (three quick clicks, a resent request) writes once and shows the first
result: every dashboard form that writes carries a one-time token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import Client
from django.urls import reverse

from dashboard.submissions import new_key
from inventory.models import Stock, StockMovement
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from orders.models import Order, Shipment
from orders.selectors import store_today
from orders.services import line_cancel, purchase_order_create
from tests.addresses import PHONE_ORDER_ADDRESS
from tests.factories import ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="submission_token" value="([A-Za-z0-9_-]+)"')


def order_data(sku: str, quantity: int, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customer_email": "pat@example.com",
        "customer_name": "Pat Phone",
        **PHONE_ORDER_ADDRESS,
        "ship_preference": Order.ShipPreference.SHIP_AVAILABLE,
        "payment_method": Order.PaymentMethod.CARD,
        "paid": "on",
        "shipping_charge": "4.95",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-sku": sku,
        "lines-0-quantity": str(quantity),
    }
    data.update(extra)
    return data


def token_on(client: Client, url: str) -> str:
    """The one-time token of the (first) form on the page, as a browser would send it."""
    html = client.get(url).content.decode()
    found = TOKEN.search(html)
    assert found, f"no one-time token on {url}"
    return found.group(1)


@pytest.fixture
def operations(client: Client) -> Client:
    client.force_login(staff_in("Operations"))
    return client


def test_three_clicks_on_place_order_place_one_order_and_send_one_email(
    operations, django_capture_on_commit_callbacks
):
    ProductFactory(sku="CAB-1", on_hand=10)
    url = reverse("dashboard:order_new")
    data = order_data("CAB-1", 2, submission_token=token_on(operations, url))

    with django_capture_on_commit_callbacks(execute=True):
        responses = [operations.post(url, data) for _ in range(3)]

    order = Order.objects.get()
    first_result = reverse("dashboard:order", args=[order.pk])
    assert [r.status_code for r in responses] == [302, 302, 302]
    assert [r["Location"] for r in responses] == [first_result] * 3
    assert order.lines.get().quantity_allocated == 2
    assert Notification.objects.filter(kind=Notification.Kind.ORDER_CONFIRMATION).count() == 1
    assert len(mail.outbox) == 1
    shown = [str(m) for m in get_messages(responses[-1].wsgi_request)]
    assert "This form was already submitted; nothing was done again." in " ".join(shown)


def test_three_clicks_on_receive_receive_five_units_once(operations):
    phone = ProductFactory(sku="PHONE-1")
    url = reverse("dashboard:receive")
    data = {"sku": "PHONE-1", "quantity": "5", "submission_token": token_on(operations, url)}

    responses = [operations.post(url, data) for _ in range(3)]

    movement = StockMovement.objects.get(product=phone)
    assert Stock.objects.get(pk=phone.pk).on_hand == 5
    assert {r["Location"] for r in responses} == {f"{url}?receipt={movement.pk}"}
    page = operations.get(responses[-1]["Location"]).content.decode()
    assert "Received 5 × PHONE-1" in page


def test_a_form_sent_back_with_errors_keeps_its_token_free(operations):
    ProductFactory(sku="CAB-1", on_hand=10)
    url = reverse("dashboard:order_new")
    key = token_on(operations, url)

    refused = operations.post(url, order_data("CAB-1", 0, submission_token=key))
    placed = operations.post(url, order_data("CAB-1", 1, submission_token=key))

    assert refused.status_code == 400
    assert placed.status_code == 302
    assert Order.objects.count() == 1


def test_a_preview_does_not_use_the_token(operations):
    ProductFactory(sku="CAB-1", on_hand=10)
    url = reverse("dashboard:order_new")
    key = token_on(operations, url)

    operations.post(url, order_data("CAB-1", 1, submission_token=key, preview="1"))
    operations.post(url, order_data("CAB-1", 1, submission_token=key))

    assert Order.objects.count() == 1


def test_someone_elses_token_writes_nothing(client):
    phone = ProductFactory(sku="PHONE-1")
    url = reverse("dashboard:receive")
    key = new_key()
    client.force_login(staff_in("Operations"))
    client.post(url, {"sku": "PHONE-1", "quantity": "5", "submission_token": key})
    client.force_login(staff_in("Operations"))

    response = client.post(url, {"sku": "PHONE-1", "quantity": "5", "submission_token": key})

    assert response.status_code == 400
    assert b"belongs to someone else" in response.content
    assert Stock.objects.get(pk=phone.pk).on_hand == 5


def test_a_malformed_token_is_refused_with_a_message(operations):
    phone = ProductFactory(sku="PHONE-1")
    response = operations.post(
        reverse("dashboard:receive"),
        {"sku": "PHONE-1", "quantity": "5", "submission_token": "x' or 1=1"},
    )
    assert response.status_code == 400
    assert b"Reload the page" in response.content
    assert Stock.objects.get(pk=phone.pk).on_hand == 0


def test_three_clicks_on_create_shipment_ship_once(operations):
    phone = ProductFactory(sku="PHONE-1", on_hand=4)
    order = place_order((phone, 3))
    line = order.lines.get()
    url = reverse("dashboard:ship_order", args=[order.pk])
    data = {f"line_{line.pk}": "3", "carrier": "UPS", "submission_token": token_on(operations, url)}

    responses = [operations.post(url, data) for _ in range(3)]

    assert [r.status_code for r in responses] == [302, 302, 302]
    assert Shipment.objects.filter(order=order).count() == 1
    line.refresh_from_db()
    assert line.quantity_shipped == 3


def test_two_cancels_with_one_token_cancel_once(client):
    client.force_login(staff_in("Managers"))
    phone = ProductFactory(sku="PHONE-1")
    line = place_order((phone, 4)).lines.get()
    url = reverse("dashboard:queue_cancel", args=[line.pk])
    data = {
        "quantity": "1",
        "cause": "customer",
        "reason": "asked by phone",
        "submission_token": token_on(client, url),
    }

    client.post(url, data)
    client.post(url, data)

    line.refresh_from_db()
    assert line.quantity_cancelled == 1


def write_pages() -> dict[str, str]:
    phone = ProductFactory(sku="PHONE-1", on_hand=1)
    order = place_order((phone, 3))
    refunded = place_order((phone, 1))
    line_cancel(line=refunded.lines.get(), reason="changed their mind")
    supplier = supplier_create(name="Acme", email="acme@example.com")
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(product=phone, quantity=5, expected_date=store_today())],
        send=True,
    )
    return {
        "order_new": reverse("dashboard:order_new"),
        "receive": reverse("dashboard:receive"),
        "ship_order": reverse("dashboard:ship_order", args=[order.pk]),
        "queue": reverse("dashboard:queue"),
        "queue_cancel": reverse("dashboard:queue_cancel", args=[order.lines.get().pk]),
        "queue_prioritise": reverse("dashboard:queue_prioritise", args=[order.lines.get().pk]),
        "purchase_order_new": reverse("dashboard:purchase_order_new"),
        "purchase_order": reverse("dashboard:purchase_order", args=[po.pk]),
        "order_with_a_refund_due": reverse("dashboard:order", args=[refunded.pk]),
        "po_line_reschedule": reverse("dashboard:po_line_reschedule", args=[po.lines.get().pk]),
    }


def test_every_form_that_writes_carries_a_token_and_the_button_script_is_loaded(client):
    client.force_login(staff_in("Managers"))
    for name, url in write_pages().items():
        html = client.get(url).content.decode()
        forms = re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S)
        writing = [f for f in forms if 'method="post"' in f and "logout" not in f]
        assert writing, name
        for form in writing:
            assert TOKEN.search(form), f"a form on {name} has no one-time token"
        assert re.search(r'<script src="[^"]*dashboard/submit-once\.js" defer></script>', html)
        assert not re.search(r"\son[a-z]+=", html), f"an inline event handler on {name}"

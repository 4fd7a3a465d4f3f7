import pytest
from django.urls import reverse

from inventory.models import PurchaseOrderLine, Stock, StockMovement
from inventory.services import PurchaseLineRequest, supplier_create
from orders.selectors import store_today
from orders.services import purchase_order_create
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    return client


def test_permissions(client):
    url = reverse("dashboard:receive")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/")
    client.force_login(staff_in(None))
    assert client.get(url).status_code == 403
    assert client.post(url, {"sku": "X", "quantity": "1"}).status_code == 403
    client.force_login(staff_in("Operations"))
    assert client.get(url).status_code == 200


def test_the_sku_field_has_autofocus_for_a_scanner(operations):
    page = operations.get(reverse("dashboard:receive")).content.decode()
    assert 'name="sku"' in page
    assert "autofocus" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert '<label for="id_sku">SKU</label>' in page


def test_receiving_a_scanned_sku_goes_to_the_first_waiting_customer(operations):
    phone = ProductFactory(sku="PHONE-1")
    first = place_order((phone, 2), customer=CustomerFactory(name="First Fiona"))
    second = place_order((phone, 2), customer=CustomerFactory(name="Second Sam"))

    response = operations.post(
        reverse("dashboard:receive"), {"sku": "phone-1", "quantity": "2"}, follow=True
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Received 2 × PHONE-1" in page
    assert "2 units went to 1 waiting order." in page
    assert first.number in page
    assert second.number not in page
    assert "Ready to ship" in page
    assert reverse("dashboard:ship_order", args=[first.pk]) in page
    assert first.lines.get().quantity_allocated == 2
    assert Stock.objects.get(pk=phone.pk).on_hand == 2


def test_a_ship_complete_order_that_still_waits_is_not_ready(operations):
    phone, case = ProductFactory(sku="PHONE-1"), ProductFactory(sku="CASE-1")
    order = place_order((phone, 1), (case, 1), ship_preference="ship_complete")

    page = operations.post(
        reverse("dashboard:receive"), {"sku": "PHONE-1", "quantity": "3"}, follow=True
    ).content.decode()

    assert order.number in page
    assert "Still waiting" in page
    assert "1 unit went to 1 waiting order; 2 left in stock." in page


def test_the_result_survives_a_reload_without_receiving_again(operations):
    phone = ProductFactory(sku="PHONE-1")
    response = operations.post(reverse("dashboard:receive"), {"sku": "PHONE-1", "quantity": "4"})
    assert response.status_code == 302
    again = operations.get(response["Location"]).content.decode()
    assert "Nobody was waiting: all 4 units went into stock." in again
    assert StockMovement.objects.filter(product=phone, kind="receipt", quantity=4).count() == 1


def test_receiving_against_a_purchase_order_line(operations):
    phone = ProductFactory(sku="PHONE-1")
    order = place_order((phone, 1))
    po = purchase_order_create(
        supplier=supplier_create(name="Acme"),
        lines=[PurchaseLineRequest(phone, 5, store_today())],
        send=True,
    )
    line = po.lines.get()
    page = operations.get(reverse("dashboard:receive")).content.decode()
    assert f"{po.number} · PHONE-1 — 5 outstanding" in page

    page = operations.post(
        reverse("dashboard:receive"), {"purchase_line": line.pk, "quantity": "3"}, follow=True
    ).content.decode()

    assert f"Received 3 × PHONE-1 ({po.number})" in page
    assert order.number in page
    assert PurchaseOrderLine.objects.get(pk=line.pk).quantity_received == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sku": "NOPE-9", "quantity": "1"}, "No product has the SKU “NOPE-9”."),
        ({"sku": "PHONE-1", "quantity": "0"}, "Quantity must be at least 1."),
        ({"sku": "PHONE-1", "quantity": "two"}, "Quantity must be a whole number."),
        ({"sku": "PHONE-1", "quantity": ""}, "Enter how many units arrived."),
        ({"sku": "", "quantity": "1"}, "Enter or scan a SKU, or pick a purchase order line."),
    ],
)
def test_form_errors(operations, data, message):
    ProductFactory(sku="PHONE-1")
    response = operations.post(reverse("dashboard:receive"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert StockMovement.objects.count() == 0


def test_over_receiving_a_purchase_order_line_says_why(operations):
    phone = ProductFactory(sku="PHONE-1")
    po = purchase_order_create(
        supplier=supplier_create(name="Acme"),
        lines=[PurchaseLineRequest(phone, 5, store_today())],
        send=True,
    )
    response = operations.post(
        reverse("dashboard:receive"), {"purchase_line": po.lines.get().pk, "quantity": "6"}
    )
    assert response.status_code == 200
    assert f"{po.number}: only 5 of PHONE-1 outstanding; cannot receive 6." in (
        response.content.decode()
    )
    assert Stock.objects.get(pk=phone.pk).on_hand == 0


def test_a_sku_that_does_not_match_the_purchase_order_line(operations):
    phone, case = ProductFactory(sku="PHONE-1"), ProductFactory(sku="CASE-1")
    po = purchase_order_create(
        supplier=supplier_create(name="Acme"),
        lines=[PurchaseLineRequest(phone, 5, store_today())],
        send=True,
    )
    response = operations.post(
        reverse("dashboard:receive"),
        {"sku": "CASE-1", "purchase_line": po.lines.get().pk, "quantity": "1"},
    )
    assert f"{po.number} is for PHONE-1, not CASE-1." in response.content.decode()
    assert Stock.objects.get(pk=case.pk).on_hand == 0

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import OrderLine, OrderStatus, Shipment
from orders.selectors import order_list
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    return client


def test_permissions(client):
    order = place_order((ProductFactory(on_hand=1), 1))
    for url in (
        reverse("dashboard:ship"),
        reverse("dashboard:ship_order", args=[order.pk]),
        reverse("dashboard:packing_slip", args=[order.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/dashboard/login/")
        client.force_login(staff_in(None))
        assert client.get(url).status_code == 403
        client.force_login(staff_in("Operations"))
        assert client.get(url).status_code == 200
        client.logout()


def test_the_list_respects_ship_preference(operations):
    phone = ProductFactory(sku="PHONE-1", on_hand=3)
    case = ProductFactory(sku="CASE-1", on_hand=0)
    partial = place_order((phone, 1), (case, 1), customer=CustomerFactory(name="Partial Pat"))
    complete = place_order(
        (phone, 1),
        (case, 1),
        ship_preference="ship_complete",
        customer=CustomerFactory(name="Complete Cleo"),
    )
    ready = place_order(
        (phone, 1), ship_preference="ship_complete", customer=CustomerFactory(name="Ready Rita")
    )
    waiting = place_order((case, 1), customer=CustomerFactory(name="Waiting Will"))

    page = operations.get(reverse("dashboard:ship")).content.decode()

    assert partial.number in page
    assert ready.number in page
    assert complete.number not in page
    assert waiting.number not in page
    assert "2 orders with allocated units" in page
    assert page.index(partial.number) < page.index(ready.number)  # oldest first


def ship_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("dashboard:ship")).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_costs_the_same_queries_for_10_or_60_orders(operations):
    products = [ProductFactory(on_hand=500) for _ in range(3)]
    for i in range(10):
        place_order((products[i % 3], 1), (products[(i + 1) % 3], 2))
    ten = ship_list_queries(operations)
    for i in range(50):
        place_order((products[i % 3], 1), (products[(i + 1) % 3], 2))
    assert ship_list_queries(operations) == ten
    # session, user, 2 × permissions, count of the orders due and of the others, page,
    # allocated lines with products, saved views.
    assert ten == 9


def test_the_count_stops_at_the_limit_and_says_so(operations, monkeypatch):
    monkeypatch.setattr("dashboard.paging.COUNT_LIMIT", 3)
    product = ProductFactory(on_hand=500)
    for _ in range(3):
        place_order((product, 1))
    page = operations.get(reverse("dashboard:ship")).content.decode()
    assert "3 orders with allocated units to ship" in page

    place_order((product, 1))
    place_order((product, 1))
    page = operations.get(reverse("dashboard:ship")).content.decode()
    assert "3+ orders with allocated units to ship" in page


def test_shipping_an_order_with_tracking_marks_it_shipped(operations):
    phone = ProductFactory(sku="PHONE-1", on_hand=5)
    order = place_order((phone, 2))
    line = order.lines.get()
    url = reverse("dashboard:ship_order", args=[order.pk])
    form = operations.get(url).content.decode()
    assert f'name="line_{line.pk}"' in form
    assert 'value="2"' in form  # defaults to everything allocated

    response = operations.post(
        url,
        {
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "shipping_method": "Ground",
            f"line_{line.pk}": "2",
        },
    )

    shipment = Shipment.objects.get(order=order)
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("dashboard:packing_slip", args=[order.pk]) + f"?shipment={shipment.pk}"
    )
    assert shipment.tracking_number == "1Z999AA10123456784"
    assert shipment.carrier == "UPS"
    assert shipment.lines.get().quantity == 2
    assert order_list().get(pk=order.pk).status == OrderStatus.SHIPPED
    slip = operations.get(response["Location"]).content.decode()
    assert "1Z999AA10123456784" in slip
    assert "PHONE-1" in slip


def test_shipping_part_of_a_line(operations):
    order = place_order((ProductFactory(on_hand=5), 3))
    line = order.lines.get()
    operations.post(reverse("dashboard:ship_order", args=[order.pk]), {f"line_{line.pk}": "1"})
    line.refresh_from_db()
    assert (line.quantity_shipped, line.quantity_allocated) == (1, 2)
    assert order_list().get(pk=order.pk).status == OrderStatus.PARTIALLY_SHIPPED


def test_a_ship_complete_order_needs_an_override_reason_to_ship_part(operations):
    phone = ProductFactory(sku="PHONE-1", on_hand=1)
    case = ProductFactory(sku="CASE-1", on_hand=0)
    order = place_order((phone, 1), (case, 1), ship_preference="ship_complete")
    phone_line = order.lines.get(product=phone)
    url = reverse("dashboard:ship_order", args=[order.pk])

    refused = operations.post(url, {f"line_{phone_line.pk}": "1"})

    assert refused.status_code == 200
    assert "ships complete and 1 unit would stay behind" in refused.content.decode()
    assert not Shipment.objects.exists()

    operations.post(url, {f"line_{phone_line.pk}": "1", "override_reason": "Customer called"})
    assert Shipment.objects.get(order=order).override_reason == "Customer called"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Choose at least one unit to ship."),
        ("9", "Only 2 allocated."),
        ("-1", "Cannot be negative."),
    ],
)
def test_quantity_errors(operations, value, message):
    order = place_order((ProductFactory(on_hand=5), 2))
    line = order.lines.get()
    response = operations.post(
        reverse("dashboard:ship_order", args=[order.pk]), {f"line_{line.pk}": value}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Shipment.objects.exists()


def test_the_packing_slip_marks_backordered_items_with_their_eta(operations):
    phone = ProductFactory(sku="PHONE-1", name="Pocket Phone", on_hand=1)
    case = ProductFactory(sku="CASE-1", name="Leather Case", on_hand=0)
    order = place_order((phone, 1), (case, 2))
    OrderLine.objects.filter(order=order, product=case).update(eta=dt.date(2026, 3, 12))
    operations.post(
        reverse("dashboard:ship_order", args=[order.pk]),
        {f"line_{order.lines.get(product=phone).pk}": "1", "carrier": "USPS"},
    )

    page = operations.get(reverse("dashboard:packing_slip", args=[order.pk])).content.decode()

    in_box, to_come = page.split("Still to come")
    assert "Pocket Phone" in in_box
    assert "Leather Case" not in in_box
    assert "Leather Case" in to_come
    assert "Backordered — expected around 12 Mar" in to_come
    # The print layout is a static stylesheet (the CSP allows no inline <style>).
    assert 'href="/static/css/packing-slip.css"' in page
    assert "@media print" in (settings.BASE_DIR / "static/css/packing-slip.css").read_text()


def test_an_unknown_order_or_shipment_is_404(operations):
    order = place_order((ProductFactory(on_hand=1), 1))
    assert operations.get(reverse("dashboard:ship_order", args=[999999])).status_code == 404
    slip = reverse("dashboard:packing_slip", args=[order.pk])
    assert operations.get(slip, {"shipment": 999999}).status_code == 404

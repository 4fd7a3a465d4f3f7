from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.formats import date_format

from orders.models import Order, OrderLine, ShippingRate
from orders.services import order_cancel, shipment_create, shipping_rate_for
from tests.factories import ProductFactory, place_order
from tests.inventory.test_admin import changelist_queries

ORDERS_URL = reverse("admin:orders_order_changelist")


@pytest.fixture
def orders_in_every_state() -> dict[str, Order]:
    """One order of each status, with a shipment, a refund and events along the way."""
    product = ProductFactory(on_hand=6)
    shipped = place_order((product, 1))
    shipment_create(order=shipped, carrier="UPS", tracking_number="1Z1")
    cancelled = place_order((product, 1))
    order_cancel(order=cancelled, reason="Customer asked")
    return {
        "open": place_order((product, 2)),
        "backordered": place_order((product, 5)),
        "shipped": shipped,
        "cancelled": cancelled,
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model_name", ["customer", "order", "orderline", "orderevent", "shipment", "refund"]
)
def test_orders_changelists_render_with_rows(
    admin_client: Client, orders_in_every_state: dict[str, Order], model_name: str
) -> None:
    response = admin_client.get(reverse(f"admin:orders_{model_name}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.django_db
def test_order_changelist_shows_derived_status(
    admin_client: Client, orders_in_every_state: dict[str, Order]
) -> None:
    response = admin_client.get(ORDERS_URL)

    rows = {order.number: order.status for order in response.context["cl"].result_list}
    assert rows == {order.number: status for status, order in orders_in_every_state.items()}
    assert b'<td class="field-status_display">Backordered</td>' in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["open", "backordered", "shipped", "cancelled"])
def test_order_status_filter(
    admin_client: Client, orders_in_every_state: dict[str, Order], status: str
) -> None:
    response = admin_client.get(ORDERS_URL, {"status": status})

    assert [order.number for order in response.context["cl"].result_list] == [
        orders_in_every_state[status].number
    ]


@pytest.mark.django_db
def test_order_changelist_queries_do_not_grow_with_rows(admin_client: Client) -> None:
    product = ProductFactory(on_hand=10)
    for _ in range(5):
        place_order((product, 3), (ProductFactory(), 1))
    five = changelist_queries(admin_client, ORDERS_URL)
    for _ in range(20):
        place_order((product, 3), (ProductFactory(), 1))

    twenty_five = changelist_queries(admin_client, ORDERS_URL)

    assert five == twenty_five


@pytest.mark.django_db
def test_order_change_page_shows_lines_timeline_shipments_and_refunds(
    admin_client: Client,
) -> None:
    product = ProductFactory(sku="BOOT-1", on_hand=2)
    order = place_order((product, 5), (ProductFactory(on_hand=1), 1))
    shipment_create(order=order, quantities={order.lines.get(product=product).pk: 2})
    url = reverse("admin:orders_order_change", args=[order.pk])

    response = admin_client.get(url)

    assert response.status_code == 200
    inline_names = [
        formset.opts.__class__.__name__ for formset in response.context["inline_admin_formsets"]
    ]
    assert inline_names == [
        "OrderLineInline",
        "OrderEventInline",
        "ShipmentInline",
        "RefundInline",
        "OrderEmailInline",  # added by the compliance app: each email as the customer saw it
    ]
    assert response.context["adminform"].form.fields == {}
    content = response.content.decode()
    assert "BOOT-1" in content
    assert "Partially shipped" in content
    assert "Order placed: 6 units, 3 backordered" in content


@pytest.mark.django_db
def test_order_change_page_queries_do_not_grow_with_lines(admin_client: Client) -> None:
    small = place_order(*[(ProductFactory(on_hand=1), 2) for _ in range(2)])
    large = place_order(*[(ProductFactory(on_hand=1), 2) for _ in range(10)])

    counts = [
        changelist_queries(admin_client, reverse("admin:orders_order_change", args=[order.pk]))
        for order in (small, large)
    ]

    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_orders_cannot_be_added_or_deleted_in_the_admin(admin_client: Client) -> None:
    order = place_order((ProductFactory(on_hand=1), 1))

    assert admin_client.get(reverse("admin:orders_order_add")).status_code == 403
    delete_url = reverse("admin:orders_order_delete", args=[order.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403


@pytest.mark.django_db
def test_order_change_page_shows_each_lines_eta_read_only(admin_client: Client) -> None:
    product = ProductFactory(sku="RUG-2", on_hand=0, lead_time_days=14)
    order = place_order((product, 2))
    line = OrderLine.objects.get(order=order)
    url = reverse("admin:orders_order_change", args=[order.pk])

    response = admin_client.get(url)

    line_inline = response.context["inline_admin_formsets"][0]
    assert {"eta", "eta_source", "eta_reference"} <= set(line_inline.readonly_fields)
    content = " ".join(response.content.decode().split())
    assert line.eta is not None
    assert f'<td class="field-eta"> <p>{date_format(line.eta)}</p> </td>' in content
    assert '<td class="field-eta_source"> <p>Estimated from lead time</p> </td>' in content


def test_an_admin_sets_up_a_banded_shipping_rate_table(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:orders_shippingrate_add"),
        {
            "name": "Winter rates",
            "kind": "bands",
            "amount": "0",
            "free_over": "150",
            "is_active": "on",
            "bands-TOTAL_FORMS": "2",
            "bands-INITIAL_FORMS": "0",
            "bands-MIN_NUM_FORMS": "0",
            "bands-MAX_NUM_FORMS": "1000",
            "bands-0-subtotal_from": "0",
            "bands-0-amount": "6.00",
            "bands-1-subtotal_from": "75",
            "bands-1-amount": "3.00",
        },
    )

    assert response.status_code == 302
    table = ShippingRate.objects.get()
    assert [(b.subtotal_from, b.amount) for b in table.bands.all()] == [
        (Decimal("0.00"), Decimal("6.00")),
        (Decimal("75.00"), Decimal("3.00")),
    ]
    assert shipping_rate_for(Decimal("80"), 2) == Decimal("3.00")


def test_only_one_shipping_rate_table_is_in_use(admin_client: Client) -> None:
    ShippingRate.objects.create(name="Old", kind="flat", amount=Decimal("5"), is_active=True)
    response = admin_client.post(
        reverse("admin:orders_shippingrate_add"),
        {
            "name": "New",
            "kind": "flat",
            "amount": "4",
            "is_active": "on",
            "bands-TOTAL_FORMS": "0",
            "bands-INITIAL_FORMS": "0",
            "bands-MIN_NUM_FORMS": "0",
            "bands-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert "Only one shipping rate table can be in use." in response.content.decode()
    assert ShippingRate.objects.count() == 1


@pytest.mark.django_db
def test_order_daily_work_is_in_the_dashboard_and_payments_stay_here(
    admin_client: Client,
) -> None:
    order = place_order((ProductFactory(on_hand=1), 1))

    listing = admin_client.get(ORDERS_URL)
    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    actions = [name for name, _ in listing.context["action_form"].fields["action"].choices if name]
    assert actions == ["record_payment_dishonoured", "record_payment_received"]
    assert reverse("dashboard:order", args=[order.pk]) in page.content.decode()
    for url in ("admin:orders_orderline_changelist", "admin:orders_refund_changelist"):
        assert admin_client.get(reverse(url)).context["action_form"] is None

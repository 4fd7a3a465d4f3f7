"""Admin for suppliers, purchase orders and reorder suggestions: a thin caller of services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib import messages
from django.test import Client
from django.urls import reverse

from inventory.models import (
    LowStockAlert,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Supplier,
)
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import OrderEvent, OrderLine
from orders.selectors import store_today
from orders.services import low_stock_alerts_record, purchase_order_create
from tests.factories import ProductFactory, place_order
from tests.inventory.test_admin import (
    changelist_queries,
    messages_of,
    run_action,
)
from tests.shown import shown

PURCHASE_ORDERS_URL = reverse("admin:inventory_purchaseorder_changelist")
PO_LINES_URL = reverse("admin:inventory_purchaseorderline_changelist")
PRODUCTS_URL = reverse("admin:inventory_product_changelist")
HANDLING = dt.timedelta(days=settings.ETA_HANDLING_DAYS)


def supplier(name: str = "Acme Ceramics", lead_time_days: int = 14) -> Supplier:
    existing = Supplier.objects.filter(name=name).first()
    return existing or supplier_create(name=name, lead_time_days=lead_time_days)


def days(n: int) -> dt.date:
    return store_today() + dt.timedelta(days=n)


def sent_po(
    product: Product, quantity: int, *, expected: dt.date | None = None, send: bool = True
) -> PurchaseOrder:
    return purchase_order_create(
        supplier=supplier(),
        lines=[PurchaseLineRequest(product, quantity, expected or days(10))],
        send=send,
    )


def waiting_supplied_rows(count: int) -> None:
    """`count` products, each with a waiting order and a sent PO line covering it."""
    for _ in range(count):
        product = ProductFactory(on_hand=1, reorder_point=5, preferred_supplier=supplier())
        place_order((product, 3))
        sent_po(product, 4)


# --- changelists -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model_name", ["supplier", "purchaseorder", "purchaseorderline", "lowstockalert"]
)
def test_purchasing_changelists_render_with_rows(admin_client: Client, model_name: str) -> None:
    waiting_supplied_rows(3)
    low_stock_alerts_record()

    response = admin_client.get(reverse(f"admin:inventory_{model_name}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.django_db
@pytest.mark.parametrize("url", [PURCHASE_ORDERS_URL, PO_LINES_URL, PRODUCTS_URL])
def test_purchasing_changelist_queries_do_not_grow_with_rows(
    admin_client: Client, url: str
) -> None:
    waiting_supplied_rows(5)
    five = changelist_queries(admin_client, url)
    waiting_supplied_rows(20)

    twenty_five = changelist_queries(admin_client, url)

    assert five == twenty_five


@pytest.mark.django_db
def test_purchase_order_changelist_shows_lines_and_units_outstanding(admin_client: Client) -> None:
    product = ProductFactory(sku="VASE-1")
    po = purchase_order_create(
        supplier=supplier(),
        lines=[
            PurchaseLineRequest(product, 6, days(5)),
            PurchaseLineRequest(ProductFactory(), 4, days(9)),
        ],
        send=True,
    )
    line = po.lines.get(product=product)
    PurchaseOrderLine.objects.filter(pk=line.pk).update(quantity_received=2)

    response = admin_client.get(PURCHASE_ORDERS_URL)

    row = response.context["cl"].result_list.get(pk=po.pk)
    assert (row.line_count, row.units_outstanding) == (2, 8)


@pytest.mark.django_db
def test_product_changelist_shows_backordered_incoming_and_suggested_reorder(
    admin_client: Client,
) -> None:
    product = ProductFactory(sku="JUG-1", on_hand=1, reorder_point=5, reorder_quantity=10)
    place_order((product, 4))
    sent_po(product, 2)

    response = admin_client.get(PRODUCTS_URL)

    row = response.context["cl"].result_list.get(pk=product.pk)
    # projected = 1 on hand + 2 incoming - 1 allocated - 3 backordered = -1; target 5.
    assert (row.backordered, row.incoming, row.suggested_quantity) == (3, 2, 10)
    assert b'<td class="field-units_incoming">2</td>' in response.content


# --- receiving against a PO line ---------------------------------------------------------


@pytest.mark.django_db
def test_cancel_line_action(admin_client: Client) -> None:
    keep, drop = ProductFactory(sku="KEEP-1"), ProductFactory(sku="DROP-1")
    po = purchase_order_create(
        supplier=supplier(),
        lines=[PurchaseLineRequest(keep, 3, days(5)), PurchaseLineRequest(drop, 3, days(5))],
        send=True,
    )

    response = run_action(
        admin_client, PO_LINES_URL, "cancel_line", [po.lines.get(product=drop)], reason="Retired"
    )

    assert messages_of(response)[0] == (
        messages.SUCCESS,
        f"{po.number} / DROP-1: outstanding units cancelled; the orders they would have "
        "covered get new ETAs.",
    )
    assert [(line.product.sku, line.is_cancelled) for line in po.lines.order_by("id")] == [
        ("KEEP-1", False),
        ("DROP-1", True),
    ]
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.SENT


def add_po_data(**rows: tuple[str, str, str]) -> dict[str, str]:
    data = {
        "supplier": str(supplier().pk),
        "note": "",
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "5",
    }
    for index in range(5):
        sku, quantity, expected = rows.get(f"row{index}", ("", "", ""))
        data |= {
            f"lines-{index}-sku": sku,
            f"lines-{index}-quantity": quantity,
            f"lines-{index}-expected_date": expected,
        }
    return data


@pytest.mark.django_db
def test_purchase_order_change_page_shows_lines_and_history_read_only(
    admin_client: Client,
) -> None:
    product = ProductFactory(sku="MUG-9")
    po = sent_po(product, 5, expected=days(10))

    response = admin_client.get(reverse("admin:inventory_purchaseorder_change", args=[po.pk]))

    assert response.status_code == 200
    assert response.context["adminform"].form.fields == {}
    inline_names = [
        formset.opts.__class__.__name__ for formset in response.context["inline_admin_formsets"]
    ]
    assert inline_names == ["PurchaseOrderLineInline", "PurchaseOrderEventInline"]
    content = response.content.decode()
    assert "MUG-9" in content
    assert "Sent to Acme Ceramics" in content
    assert 'name="_save"' not in content


# --- reorder suggestions ------------------------------------------------------------------


@pytest.mark.django_db
def test_product_change_page_shows_the_queue_with_etas_and_open_supply(
    admin_client: Client,
) -> None:
    product = ProductFactory(sku="LAMP-7", on_hand=1, lead_time_days=30)
    first = place_order((product, 3))  # 1 allocated, 2 waiting
    second = place_order((product, 4))
    po = sent_po(product, 2, expected=days(5))
    url = reverse("admin:inventory_product_change", args=[product.pk])

    response = admin_client.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    assert "2 lines waiting for 6 units, in allocation order." in content
    first_row = (
        f'<a href="{reverse("admin:orders_order_change", args=[first.pk])}">{first.number}</a>'
        f"</td>\n        <td>2</td>\n        <td>{shown(days(5) + HANDLING)}</td>\n"
        f"        <td>Purchase order</td>\n        <td>{po.number}</td>"
    )
    assert first_row in content
    second_row = (
        f"{second.number}</a></td>\n        <td>4</td>\n"
        f"        <td>{shown(days(30) + HANDLING)}</td>\n"
        "        <td>Estimated from lead time</td>"
    )
    assert second_row in content
    assert content.index(first.number) < content.index(second.number)
    # The open supply section.
    assert f"{po.number}</a></td>\n        <td>Acme Ceramics</td>\n        <td>2 of 2</td>" in (
        content
    )


@pytest.mark.django_db
def test_product_change_page_lists_at_most_fifty_waiting_lines(admin_client: Client) -> None:
    product = ProductFactory(on_hand=0)
    orders = [place_order((product, 1)) for _ in range(51)]

    response = admin_client.get(reverse("admin:inventory_product_change", args=[product.pk]))

    content = response.content.decode()
    assert "51 lines waiting for 51 units, in allocation order; the first 50 are shown." in content
    assert orders[49].number in content
    assert orders[50].number not in content


@pytest.mark.django_db
def test_product_change_page_queries_do_not_grow_with_the_queue(admin_client: Client) -> None:
    small, large = ProductFactory(on_hand=0), ProductFactory(on_hand=0)
    for product, waiting in ((small, 2), (large, 12)):
        for _ in range(waiting):
            place_order((product, 1))
        sent_po(product, 1)
        sent_po(product, 1)

    counts = [
        changelist_queries(admin_client, reverse("admin:inventory_product_change", args=[p.pk]))
        for p in (small, large)
    ]

    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_changing_a_products_lead_time_in_the_admin_moves_its_etas(admin_client: Client) -> None:
    product = ProductFactory(sku="RUG-1", on_hand=0, lead_time_days=10)
    order = place_order((product, 1))
    url = reverse("admin:inventory_product_change", args=[product.pk])
    data = {
        "sku": "RUG-1",
        "name": product.name,
        "unit_price": "25.00",
        "backorder_policy": "allow",
        "lead_time_days": "40",
        "backorder_margin": "0",
        "safety_stock": "0",
        "reorder_point": "0",
        "reorder_quantity": "0",
        "stock-TOTAL_FORMS": "1",
        "stock-INITIAL_FORMS": "1",
        "stock-MIN_NUM_FORMS": "0",
        "stock-MAX_NUM_FORMS": "1",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert OrderLine.objects.get(order=order).eta == days(40) + HANDLING
    assert order.events.filter(kind=OrderEvent.Kind.ETA_CHANGED).exists()


# --- suppliers and alerts -----------------------------------------------------------------


@pytest.mark.django_db
def test_adding_a_supplier_goes_through_supplier_create(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:inventory_supplier_add"),
        {"name": "  Crane Linen ", "email": "orders@crane.example", "lead_time_days": "21"},
    )

    assert response.status_code == 302
    crane = Supplier.objects.get()
    assert (crane.name, crane.email, crane.lead_time_days) == (
        "Crane Linen",
        "orders@crane.example",
        21,
    )


@pytest.mark.django_db
def test_supplier_changelist_counts_products(admin_client: Client) -> None:
    acme = supplier()
    ProductFactory(preferred_supplier=acme)
    ProductFactory(preferred_supplier=acme)

    response = admin_client.get(reverse("admin:inventory_supplier_changelist"))

    assert response.context["cl"].result_list.get(pk=acme.pk).product_count == 2


@pytest.mark.django_db
def test_changing_a_suppliers_lead_time_moves_the_etas_that_use_it(admin_client: Client) -> None:
    acme = supplier(lead_time_days=14)
    product = ProductFactory(on_hand=0, preferred_supplier=acme, lead_time_days=None)
    order = place_order((product, 1))
    assert OrderLine.objects.get(order=order).eta == days(14) + HANDLING

    response = admin_client.post(
        reverse("admin:inventory_supplier_change", args=[acme.pk]),
        {"name": acme.name, "email": "", "lead_time_days": "28"},
    )

    assert response.status_code == 302
    assert OrderLine.objects.get(order=order).eta == days(28) + HANDLING


@pytest.mark.django_db
def test_low_stock_alerts_are_read_only(admin_client: Client) -> None:
    ProductFactory(reorder_point=3)
    low_stock_alerts_record()
    alert = LowStockAlert.objects.get()

    change_url = reverse("admin:inventory_lowstockalert_change", args=[alert.pk])

    assert admin_client.get(reverse("admin:inventory_lowstockalert_add")).status_code == 403
    assert admin_client.post(change_url, {"on_hand": "99"}).status_code == 403
    assert admin_client.get(change_url).status_code == 200


# --- daily work is in the dashboard ----------------------------------------------------------


def action_names(client: Client, url: str) -> list[str]:
    response = client.get(url)
    form = response.context["action_form"]
    return [] if form is None else [name for name, _ in form.fields["action"].choices if name]


@pytest.mark.django_db
def test_the_admin_offers_only_the_corrections_that_have_no_dashboard_screen(
    admin_client: Client,
) -> None:
    product = ProductFactory(on_hand=1)
    sent_po(product, 4)

    assert action_names(admin_client, PRODUCTS_URL) == ["adjust_stock", "discontinue"]
    assert action_names(admin_client, PURCHASE_ORDERS_URL) == []
    assert action_names(admin_client, PO_LINES_URL) == ["cancel_line"]


@pytest.mark.django_db
def test_purchase_orders_are_created_in_the_dashboard_not_the_admin(admin_client: Client) -> None:
    assert admin_client.get(reverse("admin:inventory_purchaseorder_add")).status_code == 403
    changelist = admin_client.get(PURCHASE_ORDERS_URL).content.decode()
    assert reverse("admin:inventory_purchaseorder_add") not in changelist


@pytest.mark.django_db
def test_a_purchase_order_and_a_product_link_to_their_dashboard_screens(
    admin_client: Client,
) -> None:
    product = ProductFactory(on_hand=1, sku="LAMP-7")
    po = sent_po(product, 4)

    po_page = admin_client.get(reverse("admin:inventory_purchaseorder_change", args=[po.pk]))
    product_page = admin_client.get(reverse("admin:inventory_product_change", args=[product.pk]))

    assert reverse("dashboard:purchase_order", args=[po.pk]) in po_page.content.decode()
    page = product_page.content.decode()
    assert f'href="{reverse("dashboard:receive")}?sku=LAMP-7"' in page
    assert "Receive in the dashboard" in page
    assert reverse("dashboard:product", args=[product.pk]) in page
    assert f'<a href="{reverse("dashboard:overview")}">Dashboard</a>' in page

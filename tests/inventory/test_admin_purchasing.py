"""Admin for suppliers, purchase orders and reorder suggestions: a thin caller of services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.contrib import messages
from django.test import Client
from django.urls import reverse

from inventory.models import (
    LowStockAlert,
    Product,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Stock,
    Supplier,
)
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import EtaSource, OrderEvent, OrderLine
from orders.selectors import store_today
from orders.services import low_stock_alerts_record, purchase_order_create
from tests.factories import ProductFactory, place_order
from tests.inventory.test_admin import (
    allocations_scheduled,
    changelist_queries,
    messages_of,
    run_action,
)

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
def test_receive_action_allocates_to_the_waiting_order_and_advances_the_po(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    product = ProductFactory(sku="CUP-1", on_hand=0)
    order = place_order((product, 3))
    po = sent_po(product, 5)
    line = po.lines.get()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = run_action(admin_client, PO_LINES_URL, "receive", [line], quantity="2")

    assert allocations_scheduled(callbacks) == [product.pk]  # after the receipt committed
    assert response.status_code == 302
    assert messages_of(response) == [
        (
            messages.SUCCESS,
            f"{po.number} / CUP-1: received 2 units; they go to the waiting orders first come, "
            "first served.",
        )
    ]
    order_line = OrderLine.objects.get(order=order)
    assert (order_line.quantity_allocated, order_line.quantity_backordered) == (2, 1)
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.PARTIALLY_RECEIVED

    # Blank quantity: everything still outstanding on the line.
    with django_capture_on_commit_callbacks(execute=True):
        run_action(admin_client, PO_LINES_URL, "receive", [line], quantity="")

    line.refresh_from_db()
    assert (line.quantity_received, line.quantity_outstanding) == (5, 0)
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.RECEIVED
    stock = Stock.objects.get(pk=product.pk)
    assert (stock.on_hand, stock.allocated) == (5, 3)
    order_line.refresh_from_db()
    assert (order_line.quantity_allocated, order_line.quantity_backordered) == (3, 0)
    receipt = product.movements.latest("id")
    assert (receipt.quantity, receipt.reference, receipt.created_by.username) == (
        3,
        po.number,
        "admin",
    )


@pytest.mark.django_db
def test_receiving_more_than_outstanding_shows_an_error_and_changes_nothing(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    product = ProductFactory(sku="CUP-2", on_hand=0)
    order = place_order((product, 3))
    po = sent_po(product, 5)
    line = po.lines.get()
    events_before = po.events.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = run_action(admin_client, PO_LINES_URL, "receive", [line], quantity="6")

    assert allocations_scheduled(callbacks) == []
    assert messages_of(response) == [
        (
            messages.ERROR,
            f"{po.number} / CUP-2: {po.number}: only 5 of CUP-2 outstanding; cannot receive 6.",
        )
    ]
    line.refresh_from_db()
    assert line.quantity_received == 0
    stock = Stock.objects.get(pk=product.pk)
    assert (stock.on_hand, stock.allocated) == (0, 0)
    assert OrderLine.objects.get(order=order).quantity_backordered == 3
    po.refresh_from_db()
    assert (po.status, po.events.count()) == (PurchaseOrder.Status.SENT, events_before)


@pytest.mark.django_db
def test_receiving_against_a_draft_shows_the_service_error(admin_client: Client) -> None:
    product = ProductFactory(sku="CUP-3")
    po = sent_po(product, 5, send=False)

    response = run_action(admin_client, PO_LINES_URL, "receive", [po.lines.get()], quantity="")

    assert messages_of(response) == [
        (
            messages.ERROR,
            f"{po.number} / CUP-3: {po.number} is a draft; send it before receiving against it.",
        )
    ]
    assert Stock.objects.get(pk=product.pk).on_hand == 0


# --- rescheduling and cancelling ---------------------------------------------------------


@pytest.mark.django_db
def test_change_expected_date_moves_the_waiting_lines_eta(admin_client: Client) -> None:
    product = ProductFactory(sku="BOWL-1", on_hand=0)
    order = place_order((product, 2))
    po = sent_po(product, 5, expected=days(10))
    order_line = OrderLine.objects.get(order=order)
    assert (order_line.eta, order_line.eta_source) == (
        days(10) + HANDLING,
        EtaSource.PURCHASE_ORDER,
    )

    response = run_action(
        admin_client,
        PO_LINES_URL,
        "reschedule",
        [po.lines.get()],
        expected_date=days(20).isoformat(),
        reason="Factory closed for a week",
    )

    assert messages_of(response) == [
        (
            messages.SUCCESS,
            f"{po.number} / BOWL-1: now expected {days(20):%Y-%m-%d}; the ETAs of the orders "
            "it covers moved with it.",
        )
    ]
    order_line.refresh_from_db()
    assert (order_line.eta, order_line.eta_source, order_line.eta_reference) == (
        days(20) + HANDLING,
        EtaSource.PURCHASE_ORDER,
        po.number,
    )
    event = order.events.filter(kind=OrderEvent.Kind.ETA_CHANGED).latest("id")
    assert event.message == (
        f"BOWL-1 ETA {days(10) + HANDLING:%Y-%m-%d} → {days(20) + HANDLING:%Y-%m-%d}"
    )
    assert event.data["reason"] == "Factory closed for a week"
    assert event.actor.username == "admin"
    history = PurchaseOrderEvent.objects.filter(purchase_order=po).latest("id")
    assert history.message.endswith(": Factory closed for a week")


@pytest.mark.django_db
def test_change_expected_date_without_a_reason_redisplays_the_form(admin_client: Client) -> None:
    po = sent_po(ProductFactory(), 5, expected=days(10))

    response = run_action(
        admin_client, PO_LINES_URL, "reschedule", [po.lines.get()], expected_date="", reason=""
    )

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"expected_date", "reason"}
    assert po.lines.get().expected_date == days(10)


@pytest.mark.django_db
def test_cancel_po_action_cancels_it_and_falls_back_to_lead_time(admin_client: Client) -> None:
    product = ProductFactory(sku="PLATE-1", on_hand=0, lead_time_days=30)
    order = place_order((product, 2))
    po = sent_po(product, 5, expected=days(10))

    response = run_action(
        admin_client, PURCHASE_ORDERS_URL, "cancel", [po], reason="Supplier went bust"
    )

    assert messages_of(response) == [
        (
            messages.SUCCESS,
            f"{po.number}: outstanding units cancelled (cancelled); the orders they would have "
            "covered get new ETAs.",
        )
    ]
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.CANCELLED
    assert po.lines.get().is_cancelled
    assert po.events.latest("id").message == "Cancelled: Supplier went bust"
    order_line = OrderLine.objects.get(order=order)
    assert (order_line.eta, order_line.eta_source) == (days(30) + HANDLING, EtaSource.LEAD_TIME)


@pytest.mark.django_db
def test_cancel_po_action_reports_a_po_already_received(admin_client: Client) -> None:
    product = ProductFactory()
    po = sent_po(product, 1)
    run_action(admin_client, PO_LINES_URL, "receive", [po.lines.get()], quantity="")

    response = run_action(admin_client, PURCHASE_ORDERS_URL, "cancel", [po], reason="Oops")

    assert messages_of(response) == [
        (messages.ERROR, f"{po.number}: {po.number} is already received.")
    ]


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


@pytest.mark.django_db
def test_send_action_makes_the_po_incoming_supply(admin_client: Client) -> None:
    product = ProductFactory(on_hand=0)
    order = place_order((product, 2))
    po = sent_po(product, 5, expected=days(3), send=False)
    assert OrderLine.objects.get(order=order).eta_source == EtaSource.LEAD_TIME

    response = run_action(admin_client, PURCHASE_ORDERS_URL, "send", [po])

    po.refresh_from_db()
    assert (po.status, po.sent_at is not None) == (PurchaseOrder.Status.SENT, True)
    assert messages_of(response)[0][0] == messages.SUCCESS
    order_line = OrderLine.objects.get(order=order)
    assert (order_line.eta, order_line.eta_reference) == (days(3) + HANDLING, po.number)


# --- adding purchase orders ---------------------------------------------------------------


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
def test_adding_a_purchase_order_goes_through_the_service(admin_client: Client) -> None:
    product = ProductFactory(sku="TEAPOT-1", on_hand=0)
    order = place_order((product, 2))
    other = ProductFactory(sku="TRAY-1")
    data = add_po_data(
        row0=("teapot-1", "4", days(6).isoformat()), row2=("TRAY-1", "1", days(9).isoformat())
    )

    response = admin_client.post(
        reverse("admin:inventory_purchaseorder_add"), data | {"send": "on", "note": "Spring"}
    )

    po = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    assert (po.status, po.note, po.created_by.username) == (
        PurchaseOrder.Status.SENT,
        "Spring",
        "admin",
    )
    assert po.number.startswith("PO-")
    assert [
        (line.product_id, line.quantity_ordered, line.expected_date)
        for line in po.lines.order_by("id")
    ] == [(product.pk, 4, days(6)), (other.pk, 1, days(9))]
    order_line = OrderLine.objects.get(order=order)
    assert (order_line.eta, order_line.eta_reference) == (days(6) + HANDLING, po.number)
    assert messages_of(response) == [(messages.SUCCESS, f"{po.number} to Acme Ceramics sent.")]


@pytest.mark.django_db
def test_adding_a_purchase_order_with_an_unknown_sku_redisplays_the_form(
    admin_client: Client,
) -> None:
    data = add_po_data(row0=("NOPE-1", "4", days(6).isoformat()), row1=("", "2", ""))

    response = admin_client.post(reverse("admin:inventory_purchaseorder_add"), data)

    assert response.status_code == 200
    rows = response.context["rows"]
    assert rows.forms[0].errors == {"sku": ["No product has the SKU NOPE-1."]}
    assert rows.forms[1].errors == {"sku": ["Enter the SKU of the product to order."]}
    assert not PurchaseOrder.objects.exists()


@pytest.mark.django_db
def test_adding_a_purchase_order_without_lines_shows_the_service_error(
    admin_client: Client,
) -> None:
    response = admin_client.post(reverse("admin:inventory_purchaseorder_add"), add_po_data())

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "A purchase order needs at least one line."
    ]
    assert b"A purchase order needs at least one line." in response.content
    assert not PurchaseOrder.objects.exists()


@pytest.mark.django_db
def test_purchase_order_add_page_renders(admin_client: Client) -> None:
    supplier()

    response = admin_client.get(reverse("admin:inventory_purchaseorder_add"))

    assert response.status_code == 200
    assert b'name="lines-4-sku"' in response.content
    assert b'name="lines-5-sku"' not in response.content


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
def test_create_purchase_orders_from_suggestions_makes_a_draft_per_supplier(
    admin_client: Client,
) -> None:
    acme, bolt = supplier("Acme Ceramics"), supplier("Bolt Glassworks", lead_time_days=7)
    cups = ProductFactory(sku="CUP-A", reorder_point=5, preferred_supplier=acme)
    jugs = ProductFactory(sku="JUG-A", reorder_point=3, preferred_supplier=acme)
    vases = ProductFactory(
        sku="VASE-B",
        reorder_point=2,
        reorder_quantity=6,
        preferred_supplier=bolt,
        lead_time_days=None,
    )

    response = run_action(admin_client, PRODUCTS_URL, "create_purchase_orders", [cups, jugs, vases])

    pos = {po.supplier.name: po for po in PurchaseOrder.objects.select_related("supplier")}
    assert set(pos) == {"Acme Ceramics", "Bolt Glassworks"}
    assert {po.status for po in pos.values()} == {PurchaseOrder.Status.DRAFT}
    assert sorted(
        (line.product.sku, line.quantity_ordered, line.expected_date)
        for line in PurchaseOrderLine.objects.select_related("product")
    ) == [("CUP-A", 5, days(14)), ("JUG-A", 3, days(14)), ("VASE-B", 6, days(7))]
    acme_po, bolt_po = pos["Acme Ceramics"], pos["Bolt Glassworks"]
    assert messages_of(response) == [
        (
            messages.SUCCESS,
            f"Created 2 draft purchase order(s): {acme_po.number} (Acme Ceramics), "
            f"{bolt_po.number} (Bolt Glassworks)",
        )
    ]


@pytest.mark.django_db
def test_create_purchase_orders_from_suggestions_reports_every_problem_and_creates_nothing(
    admin_client: Client,
) -> None:
    ok = ProductFactory(sku="OK-1", reorder_point=5, preferred_supplier=supplier())
    orphan = ProductFactory(sku="ORPHAN-1", reorder_point=5)
    full = ProductFactory(sku="FULL-1", on_hand=10, preferred_supplier=supplier())

    response = run_action(admin_client, PRODUCTS_URL, "create_purchase_orders", [ok, orphan, full])

    assert messages_of(response) == [
        (messages.ERROR, "ORPHAN-1: no preferred supplier."),
        (messages.ERROR, "FULL-1: nothing to reorder."),
    ]
    assert not PurchaseOrder.objects.exists()


# --- the product page --------------------------------------------------------------------


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
        f"</td>\n        <td>2</td>\n        <td>{days(5) + HANDLING:%Y-%m-%d}</td>\n"
        f"        <td>Purchase order</td>\n        <td>{po.number}</td>"
    )
    assert first_row in content
    second_row = (
        f"{second.number}</a></td>\n        <td>4</td>\n"
        f"        <td>{days(30) + HANDLING:%Y-%m-%d}</td>\n"
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

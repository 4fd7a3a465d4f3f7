from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.admin.sites import site
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import Product, Stock, StockMovement
from orders.tasks import product_allocate_task
from tests.factories import ProductFactory, UserFactory, place_order

PRODUCTS_URL = reverse("admin:inventory_product_changelist")


def run_action(client: Client, url: str, action: str, objects: list[Any], **form: Any) -> Any:
    """Pick the action on the changelist, then submit its intermediate form."""
    selected = [obj.pk for obj in objects]
    page = client.post(url, {"action": action, "_selected_action": selected, "index": 0})
    assert page.status_code == 200
    assert "admin/action_form.html" in [t.name for t in page.templates]
    return client.post(url, {"action": action, "_selected_action": selected, "apply": "1", **form})


def messages_of(response: Any) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


def allocations_scheduled(callbacks: list[Any]) -> list[int]:
    """Product ids of the allocation tasks among the captured on-commit callbacks."""
    return [
        callback.args[0]
        for callback in callbacks
        if getattr(callback, "task", None) is product_allocate_task
    ]


def changelist_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_product_changelist_shows_stock_levels(admin_client: Client) -> None:
    product = ProductFactory(sku="MUG-1", on_hand=5)
    place_order((product, 3))

    response = admin_client.get(PRODUCTS_URL)

    assert response.status_code == 200
    row = response.context["cl"].result_list.get(pk=product.pk)
    assert (row.on_hand, row.allocated, row.available) == (5, 3, 2)
    assert b"MUG-1" in response.content


@pytest.mark.django_db
def test_product_changelist_queries_do_not_grow_with_rows(admin_client: Client) -> None:
    for _ in range(5):
        place_order((ProductFactory(on_hand=1), 2))
    five = changelist_queries(admin_client, PRODUCTS_URL)
    for _ in range(20):
        place_order((ProductFactory(on_hand=1), 2))

    twenty_five = changelist_queries(admin_client, PRODUCTS_URL)

    assert five == twenty_five


@pytest.mark.django_db
def test_product_change_page_shows_quantities_read_only(admin_client: Client) -> None:
    product = ProductFactory(on_hand=4)
    url = reverse("admin:inventory_product_change", args=[product.pk])

    response = admin_client.get(url)

    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    assert "stock_on_hand" not in form_fields
    assert "is_discontinued" not in form_fields
    assert "name" in form_fields


@pytest.mark.django_db
def test_product_change_saves_plain_fields_and_keeps_stock(admin_client: Client) -> None:
    product = ProductFactory(sku="LAMP-1", on_hand=4)
    url = reverse("admin:inventory_product_change", args=[product.pk])
    data = {
        "sku": "LAMP-1",
        "name": "Desk lamp, brass",
        "unit_price": "30.00",
        "backorder_policy": "deny",
        "backorder_cap": "",
        "release_date": "",
        "lead_time_days": "10",
        "safety_stock": "0",
        "reorder_point": "0",
        "reorder_quantity": "0",
        "backorder_margin": "0",
        "stock-TOTAL_FORMS": "1",
        "stock-INITIAL_FORMS": "1",
        "stock-MIN_NUM_FORMS": "0",
        "stock-MAX_NUM_FORMS": "1",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert (product.name, product.backorder_policy) == ("Desk lamp, brass", "deny")
    assert Stock.objects.get(pk=product.pk).on_hand == 4


@pytest.mark.django_db
def test_adding_a_product_goes_through_product_create(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:inventory_product_add"),
        {
            "sku": "KETTLE-1",
            "name": "Kettle",
            "unit_price": "40.00",
            "opening_stock": "7",
            "backorder_policy": "allow",
            "backorder_cap": "",
            "release_date": "",
            "lead_time_days": "",
            "safety_stock": "0",
            "reorder_point": "0",
            "reorder_quantity": "0",
            "backorder_margin": "0",
        },
    )

    assert response.status_code == 302
    product = Product.objects.get(sku="KETTLE-1")
    stock = Stock.objects.get(product=product)
    assert (stock.on_hand, stock.allocated) == (7, 0)
    movement = StockMovement.objects.get(product=product)
    assert (movement.kind, movement.quantity, movement.reason) == ("receipt", 7, "Opening stock")
    assert movement.created_by is not None
    assert movement.created_by.username == "admin"


@pytest.mark.django_db
def test_adding_a_product_with_a_duplicate_sku_shows_the_error(admin_client: Client) -> None:
    ProductFactory(sku="KETTLE-1")

    response = admin_client.post(
        reverse("admin:inventory_product_add"),
        {
            "sku": "kettle-1",
            "name": "Kettle",
            "unit_price": "40.00",
            "opening_stock": "0",
            "backorder_policy": "allow",
            "safety_stock": "0",
            "reorder_point": "0",
            "reorder_quantity": "0",
            "backorder_margin": "0",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Product.objects.count() == 1


@pytest.mark.django_db
def test_adjust_action_beyond_on_hand_shows_an_error_and_changes_nothing(
    admin_client: Client,
) -> None:
    product = ProductFactory(sku="DESK-1", on_hand=2)

    response = run_action(
        admin_client, PRODUCTS_URL, "adjust_stock", [product], quantity="-5", reason="Count"
    )

    assert response.status_code == 302
    assert messages_of(response) == [
        (
            messages.ERROR,
            f"{product}: DESK-1 has only 2 on hand; it cannot go down by 5.",
        )
    ]
    assert Stock.objects.get(pk=product.pk).on_hand == 2
    assert StockMovement.objects.filter(product=product).count() == 1


@pytest.mark.django_db
def test_adjust_action_by_zero_shows_the_service_error(admin_client: Client) -> None:
    product = ProductFactory(on_hand=2)

    response = run_action(
        admin_client, PRODUCTS_URL, "adjust_stock", [product], quantity="0", reason="Count"
    )

    assert messages_of(response) == [
        (messages.ERROR, f"{product}: An adjustment must be a whole number other than zero.")
    ]
    assert Stock.objects.get(pk=product.pk).on_hand == 2


@pytest.mark.django_db
def test_adjust_action_with_a_non_number_redisplays_the_form(admin_client: Client) -> None:
    product = ProductFactory(on_hand=2)

    response = run_action(
        admin_client, PRODUCTS_URL, "adjust_stock", [product], quantity="lots", reason=""
    )

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"quantity", "reason"}
    assert Stock.objects.get(pk=product.pk).on_hand == 2


@pytest.mark.django_db
def test_adjust_action_lists_orders_that_lost_units(admin_client: Client) -> None:
    product = ProductFactory(sku="LAMP-2", on_hand=3)
    first = place_order((product, 2))
    second = place_order((product, 1))

    response = run_action(
        admin_client, PRODUCTS_URL, "adjust_stock", [product], quantity="-2", reason="Broken"
    )

    assert messages_of(response) == [
        (
            messages.SUCCESS,
            f"LAMP-2: on hand changed by -2. Units taken back from "
            f"{second.number} (1 unit), {first.number} (1 unit).",
        )
    ]
    stock = Stock.objects.get(pk=product.pk)
    assert (stock.on_hand, stock.allocated) == (1, 1)


@pytest.mark.django_db
def test_discontinue_action(admin_client: Client) -> None:
    product = ProductFactory(sku="OLD-1")

    response = run_action(admin_client, PRODUCTS_URL, "discontinue", [product])

    product.refresh_from_db()
    assert product.is_discontinued
    assert product.discontinued_at is not None
    assert messages_of(response) == [
        (messages.SUCCESS, "OLD-1: discontinued; it accepts no new backorders.")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("model_name", ["product", "stock", "stockmovement"])
def test_inventory_changelists_render_with_rows(admin_client: Client, model_name: str) -> None:
    for _ in range(3):
        place_order((ProductFactory(on_hand=2), 3))

    response = admin_client.get(reverse(f"admin:inventory_{model_name}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 3


@pytest.mark.django_db
def test_stock_movements_cannot_be_added_changed_or_deleted(admin_client: Client) -> None:
    product = ProductFactory(on_hand=3)
    movement = StockMovement.objects.get(product=product)
    request = RequestFactory().get("/")
    request.user = UserFactory(is_superuser=True)
    model_admin = site._registry[StockMovement]

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, movement)
    assert not model_admin.has_delete_permission(request, movement)
    assert "delete_selected" not in model_admin.get_actions(request)
    assert admin_client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    delete_url = reverse("admin:inventory_stockmovement_delete", args=[movement.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    change_url = reverse("admin:inventory_stockmovement_change", args=[movement.pk])
    assert admin_client.post(change_url, {"quantity": "99"}).status_code == 403
    assert admin_client.get(change_url).status_code == 200
    movement.refresh_from_db()
    assert movement.quantity == 3


@pytest.mark.django_db
def test_products_cannot_be_deleted_in_the_admin(admin_client: Client) -> None:
    product = ProductFactory(unit_price=Decimal("1.00"))

    url = reverse("admin:inventory_product_delete", args=[product.pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()

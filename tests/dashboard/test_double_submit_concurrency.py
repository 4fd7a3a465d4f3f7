"""Concurrent POSTs with one token, on PostgreSQL: the second waits for the first to commit,
then finds the token used and writes nothing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from dashboard.access import GROUPS
from dashboard.submissions import new_key
from inventory.models import Stock, StockMovement
from notifications.models import Notification
from orders.models import Order
from tests.addresses import PHONE_ORDER_ADDRESS
from tests.factories import ProductFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLICKS = 4


def operations_user() -> Any:
    # A transactional test flushes the groups the migration made; rebuild the one needed.
    group, _ = Group.objects.get_or_create(name="Operations")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="dashboard", codename__in=GROUPS["Operations"]
        )
    )
    user = UserFactory(is_staff=True)
    user.groups.add(group)
    return user


def post_together(url: str, data: dict[str, Any]) -> list[tuple[int, str]]:
    """POST `data` from CLICKS browsers of one staff member released together; (status,
    Location) of each answer."""
    user = operations_user()
    clients = []
    for _ in range(CLICKS):
        client = Client()
        client.force_login(user)
        clients.append(client)
    barrier = threading.Barrier(CLICKS, timeout=30)
    answers: list[tuple[int, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def click(client: Client) -> None:
        try:
            barrier.wait()
            response = client.post(url, data)
            with lock:
                answers.append((response.status_code, response.get("Location", "")))
        except BaseException as exc:  # re-raised below, in the test's thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return answers


def test_concurrent_place_order_clicks_place_one_order():
    ProductFactory(sku="CAB-1", on_hand=10)
    data = {
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
        "lines-0-sku": "CAB-1",
        "lines-0-quantity": "2",
        "submission_token": new_key(),
    }

    answers = post_together(reverse("dashboard:order_new"), data)

    order = Order.objects.get()
    assert answers == [(302, reverse("dashboard:order", args=[order.pk]))] * CLICKS
    assert Notification.objects.filter(kind=Notification.Kind.ORDER_CONFIRMATION).count() == 1
    assert Stock.objects.get(product__sku="CAB-1").allocated == 2


def test_concurrent_receive_clicks_receive_once():
    phone = ProductFactory(sku="PHONE-1")
    url = reverse("dashboard:receive")
    data = {"sku": "PHONE-1", "quantity": "5", "submission_token": new_key()}

    answers = post_together(url, data)

    movement = StockMovement.objects.get(product=phone)
    assert answers == [(302, f"{url}?receipt={movement.pk}")] * CLICKS
    assert Stock.objects.get(pk=phone.pk).on_hand == 5

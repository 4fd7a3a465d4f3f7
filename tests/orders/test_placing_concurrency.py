"""Orders of different products are placed side by side, not one after the other (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from orders.models import Order
from orders.services import LineRequest, order_place
from tests.factories import ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Only reached when the second order waits for the first one to commit (the failure).
WAIT_SECONDS = 20


def test_an_order_does_not_wait_for_another_order_to_commit():
    mug, lamp = ProductFactory(on_hand=5), ProductFactory(on_hand=5)
    first_written = threading.Event()
    second_placed = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                order_place(customer_email="a@example.com", lines=[LineRequest(mug.sku, 1)])
                first_written.set()
                # Still uncommitted while the second order is placed.
                second_placed.wait(WAIT_SECONDS)
        except BaseException as exc:
            errors.append(exc)
        finally:
            first_written.set()
            connection.close()

    def second() -> None:
        try:
            first_written.wait(WAIT_SECONDS)
            order_place(customer_email="b@example.com", lines=[LineRequest(lamp.sku, 1)])
            second_placed.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    placed_alongside = second_placed.wait(WAIT_SECONDS)
    for thread in threads:
        thread.join()

    assert errors == []
    assert placed_alongside, "the second order waited for the first one's commit"
    numbers = list(Order.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 2
    assert all(number.startswith("BD-") for number in numbers)

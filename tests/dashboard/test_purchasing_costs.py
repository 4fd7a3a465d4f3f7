"""Purchase order unit costs: given when a PO is created (or later, on a line), checked, and
shown on the PO page with the PO's total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from inventory.models import PurchaseOrder, PurchaseOrderEvent
from inventory.services import PurchaseLineRequest, supplier_create
from orders.selectors import store_today
from orders.services import (
    purchase_order_create,
    purchase_order_line_cost_set,
    purchase_order_line_receive,
)
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


@pytest.fixture
def managed(client):
    user = UserFactory(username="morgan")
    user.groups.add(Group.objects.get(name="Managers"))
    client.force_login(user)
    return client


@pytest.fixture
def acme():
    return supplier_create(name="Acme Lighting", lead_time_days=10)


def form_data(acme, first_cost: str) -> dict[str, object]:
    return {
        "po-supplier": acme.pk,
        "po-send": "on",
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-0-sku": "LAMP",
        "lines-0-quantity": "10",
        "lines-0-expected_date": day(6).isoformat(),
        "lines-1-sku": "SHADE",
        "lines-1-quantity": "4",
        "lines-1-expected_date": day(8).isoformat(),
        "lines-0-unit_cost": first_cost,
        "create": "1",
    }


def test_a_po_created_by_hand_keeps_each_lines_unit_cost(managed, acme):
    ProductFactory(sku="LAMP")
    ProductFactory(sku="SHADE")

    response = managed.post(reverse("dashboard:purchase_order_new"), form_data(acme, "12.50"))

    po = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert sorted(po.lines.values_list("product__sku", "unit_cost")) == [
        ("LAMP", Decimal("12.50")),
        ("SHADE", None),  # the cost is optional
    ]
    page = managed.get(response["Location"]).content.decode()
    assert 'value="12.50" aria-label="Unit cost of LAMP"' in page
    assert "$125.00" in page  # the line's cost and the PO total
    assert "1 line without a cost" in page


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        ("-1", "Ensure this value is greater than or equal to 0."),
        ("1.005", "Ensure that there are no more than 2 decimal places."),
        ("ten", "Enter a number."),
    ],
)
def test_a_negative_or_malformed_unit_cost_is_a_form_error(managed, acme, cost, message):
    ProductFactory(sku="LAMP")
    ProductFactory(sku="SHADE")

    response = managed.post(reverse("dashboard:purchase_order_new"), form_data(acme, cost))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PurchaseOrder.objects.exists()


def test_the_service_refuses_a_negative_cost_and_old_callers_need_none(acme):
    lamp = ProductFactory(sku="LAMP")

    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        purchase_order_create(
            supplier=acme, lines=[PurchaseLineRequest(lamp, 3, day(5), Decimal("-0.01"))]
        )
    po = purchase_order_create(supplier=acme, lines=[PurchaseLineRequest(lamp, 3, day(5))])

    line = po.lines.get()
    assert line.unit_cost is None
    assert (line.cost, line.cost_outstanding) == (None, None)


def test_a_cost_set_later_is_recorded_in_the_po_history(acme):
    lamp = ProductFactory(sku="LAMP")
    po = purchase_order_create(
        supplier=acme, lines=[PurchaseLineRequest(lamp, 10, day(5))], send=True
    )
    line = po.lines.get()
    purchase_order_line_receive(line=line, quantity=4)

    line = purchase_order_line_cost_set(line=line, unit_cost=Decimal("3.25"))

    assert (line.cost, line.cost_outstanding) == (Decimal("32.50"), Decimal("19.50"))
    assert PurchaseOrderEvent.objects.filter(purchase_order=po).latest("id").message == (
        "LAMP unit cost set to $3.25"
    )
    with pytest.raises(ValidationError):
        purchase_order_line_cost_set(line=line, unit_cost=Decimal("-1"))


def test_a_manager_sets_and_clears_a_lines_cost_on_the_po_page(managed, acme):
    lamp = ProductFactory(sku="LAMP")
    po = purchase_order_create(
        supplier=acme, lines=[PurchaseLineRequest(lamp, 10, day(5))], send=True
    )
    line = po.lines.get()
    url = reverse("dashboard:po_line_cost", args=[line.pk])

    saved = managed.post(url, {"unit_cost": "4.20"})

    assert saved.status_code == 302
    page = managed.get(saved["Location"]).content.decode()
    assert f"LAMP on {po.number}: $4.20." in page
    assert "$42.00" in page  # the PO total
    refused = managed.post(url, {"unit_cost": "-4.20"})
    assert refused.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in refused.content.decode()
    line.refresh_from_db()
    assert line.unit_cost == Decimal("4.20")

    assert managed.post(url, {"unit_cost": ""}).status_code == 302
    line.refresh_from_db()
    assert line.unit_cost is None

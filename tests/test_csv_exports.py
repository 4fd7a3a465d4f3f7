"""Every CSV export neutralises spreadsheet formulas; real numbers stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from config.csv_cells import csv_cell
from orders.models import Order
from orders.selectors import store_today
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db

HOSTILE_EMAIL = "=2+5@example.com"  # a valid address that a spreadsheet would run


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Widget", "Widget"),
        ("a=b", "a=b"),
        # Money and quantities, as values or already written out, stay numbers.
        (Decimal("-3.00"), "-3.00"),
        (-3, "-3"),
        ("-3.00", "-3.00"),
        ("+12", "+12"),
        (None, ""),
        (dt.date(2026, 3, 1), "2026-03-01"),
    ],
)
def test_a_cell_never_starts_a_formula(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def rows_of(response) -> list[list[str]]:
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def hostile_order() -> Order:
    product = ProductFactory(sku="EVIL-1", name='=HYPERLINK("http://x")', on_hand=0)
    return place_order((product, 2), customer=CustomerFactory(email=HOSTILE_EMAIL))


def test_the_dashboard_report_export_neutralises_a_formula_product_name(
    client: Client, hostile_order: Order
) -> None:
    client.force_login(staff_in("Managers"))

    response = client.get(reverse("dashboard:report_export", args=["most-backordered"]))

    assert response.status_code == 200
    cells = [cell for row in rows_of(response) for cell in row]
    assert '\'=HYPERLINK("http://x")' in cells
    assert not any(cell.startswith(("=", "@", "\t", "\r")) for cell in cells)


def test_the_dashboard_compliance_export_neutralises_a_formula_email(
    client: Client, hostile_order: Order
) -> None:
    client.force_login(staff_in("Managers"))
    today = store_today().isoformat()

    response = client.get(reverse("dashboard:compliance_export"), {"start": today, "end": today})

    assert response.status_code == 200
    rows = rows_of(response)[1:]
    assert rows
    assert {row[1] for row in rows} == {"'" + HOSTILE_EMAIL}


def test_the_admin_order_record_export_neutralises_a_formula_email(
    admin_client: Client, hostile_order: Order
) -> None:
    response = admin_client.get(reverse("admin:compliance_record_csv", args=[hostile_order.pk]))

    assert response.status_code == 200
    rows = rows_of(response)[1:]
    assert rows
    assert {row[1] for row in rows} == {"'" + HOSTILE_EMAIL}

"""The managers' reports: figures, charts, pagination, CSV export and access."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import DelayNotice
from compliance.services import consent_answer, rule_run
from dashboard.reports.selectors import REPORTS
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.services import notification_send
from orders.models import Order, OrderLine
from orders.services import (
    line_cancel,
    product_allocate,
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
    shipment_create,
)
from tests.dashboard.test_overview import at, more_history, staff_in, stat_value
from tests.factories import ProductFactory, place_order, receive

pytestmark = pytest.mark.django_db
TODAY = at("2026-03-20", 12)


def build_shop() -> None:
    with time_machine.travel(at("2026-03-02"), tick=False):
        widget = ProductFactory(
            sku="WIDGET", name="Widget", unit_price=Decimal("20.00"), lead_time_days=10
        )
        gadget = ProductFactory(sku="GADGET", name="Gadget", on_hand=3)
        gizmo = ProductFactory(sku="GIZMO", name="Gizmo", lead_time_days=None)
        desk = ProductFactory(sku="DESK", name="Desk")
        # Quoted 2 March + 10 days' lead time + 1 day's handling = 13 March; promised the 5th.
        a = place_order((widget, 2), promised_ship_date=dt.date(2026, 3, 5))
        place_order((gadget, 1))
        # A notice (branch S, to the 13th) goes out, so shipping after the 5th is allowed.
        rule_run(order_ids=[a.pk])
        notification_send(notification_id=DelayNotice.objects.get(order=a).notification_id)
    with time_machine.travel(at("2026-03-04"), tick=False):
        c = place_order((widget, 1))  # quoted the 15th
    with time_machine.travel(at("2026-03-05"), tick=False):
        d = place_order((gizmo, 1))  # no date: a delay notice at once
        rule_run(order_ids=[d.pk])
    with time_machine.travel(at("2026-03-06"), tick=False):
        e = place_order((desk, 1))
    with time_machine.travel(at("2026-03-07"), tick=False):
        consent_answer(notice=DelayNotice.objects.get(order=d), choice="cancel")
    with time_machine.travel(at("2026-03-08"), tick=False):
        line_cancel(line=e.lines.get(), reason="Bought one in town")  # no notice: not a delay
    with time_machine.travel(at("2026-03-09"), tick=False):
        receive(widget, 3)
    with time_machine.travel(at("2026-03-10", 16), tick=False):
        shipment_create(order=a, carrier="UPS")  # waited 8 days, 5 late, 3 days early on ETA
    with time_machine.travel(at("2026-03-18", 16), tick=False):
        shipment_create(order=c, carrier="UPS")  # waited 14 days, 3 days late on ETA
    with time_machine.travel(at("2026-03-19"), tick=False):
        place_order((widget, 4))  # waits, ETA the 30th


def get(client, **params):
    with time_machine.travel(TODAY, tick=False):
        response = client.get(reverse("dashboard:reports"), params)
    assert response.status_code == 200
    return response.content.decode()


def export(client, slug: str, **params) -> list[list[str]]:
    with time_machine.travel(TODAY, tick=False):
        response = client.get(reverse("dashboard:report_export", args=[slug]), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    # Order numbers come from the database sequence, which PostgreSQL does not rewind between
    # tests: read them as the 1st, 2nd, ... order this test placed.
    placed = {
        order.number: f"BD-{position:06d}"
        for position, order in enumerate(Order.objects.order_by("pk"), start=1)
    }
    rows = csv.reader(io.StringIO(response.content.decode()))
    return [[placed.get(cell, cell) for cell in row] for row in rows]


@pytest.fixture
def manager_client(client):
    client.force_login(staff_in("Managers"))
    return client


def test_operations_staff_cannot_open_reports(client):
    client.force_login(staff_in("Operations"))
    assert client.get(reverse("dashboard:reports")).status_code == 403
    assert client.get(reverse("dashboard:report_export", args=["fill-rate"])).status_code == 403


def test_an_unknown_report_export_is_404(manager_client):
    url = reverse("dashboard:report_export", args=["nonsense"])
    assert manager_client.get(url).status_code == 404


def test_every_report_opens_on_an_empty_shop(manager_client):
    for slug in REPORTS:
        page = get(manager_client, report=slug)
        assert "Download CSV" in page
        assert "Nothing to report for this period." in page
        assert len(export(manager_client, slug)) == 1  # the header


def test_most_backordered_products_by_orders_and_units(manager_client):
    build_shop()
    page = get(manager_client, report="most-backordered")
    assert stat_value(page, "Products backordered") == "3"
    assert stat_value(page, "Orders with a backorder") == "5"
    assert stat_value(page, "Units backordered") == "9"
    assert "Top 10 by orders with a backorder" in page
    assert "Top 10 by units backordered" in page
    assert export(manager_client, "most-backordered") == [
        [
            "SKU",
            "Product",
            "Orders backordered",
            "Units backordered",
            "Units ordered",
            "Waiting now",
        ],
        ["WIDGET", "Widget", "3", "7", "7", "4"],
        ["DESK", "Desk", "1", "1", "1", "0"],
        ["GIZMO", "Gizmo", "1", "1", "1", "0"],
    ]


def test_wait_times_against_the_promised_date(manager_client):
    build_shop()
    page = get(manager_client, report="wait-times")
    assert stat_value(page, "Backordered lines shipped") == "2"
    assert stat_value(page, "Average wait") == "11.0 days"
    assert stat_value(page, "90th percentile wait") == "14 days"
    assert stat_value(page, "Shipped after the promised date") == "100.0%"
    assert stat_value(page, "Average lateness when late") == "5.0 days"
    rows = export(manager_client, "wait-times")
    assert rows[1:] == [
        ["BD-000003", "WIDGET", "2026-03-04", "2026-03-18", "14", "", ""],
        ["BD-000001", "WIDGET", "2026-03-02", "2026-03-10", "8", "2026-03-05", "5"],
    ]


def test_eta_accuracy_compares_the_quoted_eta_with_the_ship_date(manager_client):
    build_shop()
    page = get(manager_client, report="eta-accuracy")
    assert stat_value(page, "Lines with a quoted ETA") == "2"
    assert stat_value(page, "Shipped by the quoted ETA") == "50.0%"
    assert stat_value(page, "Within ±2 days") == "0.0%"
    assert stat_value(page, "Average error") == "3.0 days"
    assert stat_value(page, "Average days late when late") == "3.0 days"
    # Lead-time estimates have no supplier record to pad them: the padded date is the quoted one.
    assert stat_value(page, "Shipped by the padded date") == "50.0%"
    assert stat_value(page, "Mean days late, quoted ETA") == "1.5 days"
    assert stat_value(page, "Mean days late, padded date") == "1.5 days"
    assert stat_value(page, "Padded by supplier slips") == "0"
    rows = export(manager_client, "eta-accuracy")
    assert rows[0][5:] == ["Padded date", "Shipped", "Days off", "Days off padded"]
    assert sorted(rows[1:]) == [
        [
            "BD-000001",
            "WIDGET",
            "2026-03-02",
            "2026-03-13",
            "Estimated from lead time",
            "2026-03-13",
            "2026-03-10",
            "-3",
            "-3",
        ],
        [
            "BD-000003",
            "WIDGET",
            "2026-03-04",
            "2026-03-15",
            "Estimated from lead time",
            "2026-03-15",
            "2026-03-18",
            "3",
            "3",
        ],
    ]


SUPPLY_MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)


def supply_day(n: int) -> dt.date:
    return SUPPLY_MONDAY.date() + dt.timedelta(days=n)


def test_eta_accuracy_compares_the_padded_date_too(manager_client):
    with time_machine.travel(SUPPLY_MONDAY, tick=False) as clock:
        late = supplier_create(name="Late Supply")
        # Five receipts, each 2-6 days after the first promised date: 80% within 5 days.
        for slip in (2, 3, 4, 5, 6):
            clock.move_to(SUPPLY_MONDAY)
            line = purchase_order_create(
                supplier=late,
                lines=[PurchaseLineRequest(ProductFactory(on_hand=0), 4, supply_day(10))],
                send=True,
            ).lines.get()
            purchase_order_line_reschedule(
                line=line, expected_date=supply_day(10 + slip), reason="Late"
            )
            clock.move_to(SUPPLY_MONDAY + dt.timedelta(days=10 + slip))
            purchase_order_line_receive(line=line, quantity=4)
        clock.move_to(SUPPLY_MONDAY + dt.timedelta(days=30))
        lamp = ProductFactory(sku="LAMP", name="Brass lamp", on_hand=0)
        po_line = purchase_order_create(
            supplier=late, lines=[PurchaseLineRequest(lamp, 10, supply_day(40))], send=True
        ).lines.get()
        order = place_order((lamp, 2))  # quoted the 41st day: the PO date + a day's handling
        clock.move_to(SUPPLY_MONDAY + dt.timedelta(days=43))
        purchase_order_line_receive(line=po_line, quantity=10)  # 3 days late
        product_allocate(product_id=lamp.pk)
        shipment_create(order=order, carrier="UPS")  # 2 days after the quoted ETA

        clock.move_to(SUPPLY_MONDAY + dt.timedelta(days=44))
        manager_client.force_login(staff_in("Managers"))
        page = manager_client.get(
            reverse("dashboard:reports"), {"report": "eta-accuracy", "days": 30}
        ).content.decode()
        csv_text = manager_client.get(
            reverse("dashboard:report_export", args=["eta-accuracy"]), {"days": 30}
        ).content.decode()
        rows = list(csv.reader(io.StringIO(csv_text)))

    assert stat_value(page, "Lines with a quoted ETA") == "1"
    assert stat_value(page, "Shipped by the quoted ETA") == "0.0%"
    assert stat_value(page, "Shipped by the padded date") == "100.0%"
    assert stat_value(page, "Mean days late, quoted ETA") == "2.0 days"
    assert stat_value(page, "Mean days late, padded date") == "0.0 days"
    assert stat_value(page, "Padded by supplier slips") == "1"
    assert "current scorecard" in page
    # Slips now 2, 3, 3, 4, 5, 6 (this PO's own receipt counts): the 80th percentile is 5.
    [row] = rows[1:]
    assert row[3:] == [
        supply_day(41).isoformat(),
        "Purchase order",
        supply_day(46).isoformat(),
        supply_day(43).isoformat(),
        "2",
        "-3",
    ]


def test_fill_rate_counts_what_stock_covered_at_placement(manager_client):
    build_shop()
    page = get(manager_client, report="fill-rate")
    # Ten units on six orders; only the gadget came from stock.
    assert stat_value(page, "Unit fill rate") == "10.0%"
    assert stat_value(page, "Line fill rate") == "16.7%"
    assert stat_value(page, "Order fill rate") == "16.7%"
    assert stat_value(page, "Units ordered") == "10"
    rows = export(manager_client, "fill-rate")
    assert rows[-1] == ["GADGET", "Gadget", "1", "1", "1", "1", "100.0%"]


def test_cancellations_caused_by_delay(manager_client):
    build_shop()
    page = get(manager_client, report="delay-cancellations")
    assert stat_value(page, "Cancelled because of delay") == "1"
    assert stat_value(page, "Of all cancellations") == "50.0%"
    assert stat_value(page, "Refunds owed") == "$25.00"
    rows = export(manager_client, "delay-cancellations")
    assert rows[1][:5] == ["BD-000004", "2026-03-07", "Customer", "1", "25.00"]
    assert len(rows) == 2


def test_revenue_waiting_by_product(manager_client):
    build_shop()
    page = get(manager_client, report="revenue-waiting")
    assert stat_value(page, "Revenue waiting") == "$80.00"
    assert stat_value(page, "Units waiting") == "4"
    assert stat_value(page, "With no ETA") == "$0.00"
    assert export(manager_client, "revenue-waiting") == [
        ["SKU", "Product", "Revenue waiting", "Units", "Lines", "Orders", "Latest ETA"],
        ["WIDGET", "Widget", "80.00", "4", "1", "1", "2026-03-30"],
    ]


def test_the_period_limits_the_report(manager_client):
    build_shop()
    page = get(manager_client, report="most-backordered", days=30)
    assert stat_value(page, "Orders with a backorder") == "5"
    with time_machine.travel(at("2026-06-20"), tick=False):
        later = manager_client.get(reverse("dashboard:reports"), {"report": "most-backordered"})
    assert stat_value(later.content.decode(), "Orders with a backorder") == "0"


def test_csv_cells_never_start_a_formula():
    from dashboard.reports.views import exported

    assert exported("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert exported(-3) == "-3"


def test_tables_paginate(manager_client):
    with time_machine.travel(at("2026-03-01"), tick=False):
        products = [ProductFactory(sku=f"P{n:02d}", name=f"Product {n}") for n in range(30)]
        place_order(*((product, 1) for product in products))
    page = get(manager_client, report="revenue-waiting")
    assert "Page 1 of 2" in page
    assert len(re.findall(r"<tr><td class=\"nowrap\"><a href=\"/dashboard/products/", page)) == 25
    second = get(manager_client, report="revenue-waiting", page=2)
    assert len(re.findall(r"<tr><td class=\"nowrap\"><a href=\"/dashboard/products/", second)) == 5
    assert len(export(manager_client, "revenue-waiting")) == 31


def report_queries(client, slug: str) -> int:
    with (
        time_machine.travel(at("2026-03-20", 12), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert (
            client.get(reverse("dashboard:reports"), {"report": slug, "days": 90}).status_code
            == 200
        )
    return len(queries.captured_queries)


def test_reports_cost_the_same_queries_for_10_lines_as_for_150(manager_client):
    more_history(2)
    small = {slug: report_queries(manager_client, slug) for slug in REPORTS}
    assert OrderLine.objects.count() == 10
    more_history(28)
    assert OrderLine.objects.count() == 150
    assert {slug: report_queries(manager_client, slug) for slug in REPORTS} == small

"""The cash flow of backorders: money expected when waiting lines ship (by ISO week of ETA),
refunds falling due by day, and money committed in open purchase orders; its page and CSVs."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from compliance.services import rule_run
from dashboard.reports.cash_flow_views import _weekly
from dashboard.reports.selectors.cash_flow import (
    cash_flow,
    expected_captures,
    po_arrivals_by_week,
    po_commitments,
    refunds_by_day,
    supplier_commitments,
)
from inventory.models import PurchaseOrder
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import Order, OrderLine, Refund
from orders.services import (
    line_cancel,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_receive,
    refund_mark_issued,
)
from orders.services.payments import refund_due_date
from tests.factories import ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
# Wednesday 4 November 2026, noon in the store: ISO week 2026-W45 runs 2 to 8 November.
NOW = dt.datetime(2026, 11, 4, 12, 0, tzinfo=NY)
TODAY = NOW.date()
W45, W46, W47 = dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16)
HANDLING = 1  # ETA_HANDLING_DAYS default


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def acme():
    return supplier_create(name="Acme Lighting", lead_time_days=10)


@pytest.fixture
def bolt():
    return supplier_create(name="Bolt Supply", lead_time_days=10)


def set_eta(order: Order, eta: dt.date | None) -> None:
    """Put a waiting line on a given date (the state a report reads; how it got there aside)."""
    OrderLine.objects.filter(order=order).update(eta=eta)


@pytest.fixture
def waiting(clock, acme):
    """Lines waiting: paid widgets on a PO (ETA 10 Nov, W46), an unpaid cash-on-delivery lamp
    (18 Nov, W47), paid gizmos with no date, and a paid lamp whose ETA passed (28 Oct)."""
    widget = ProductFactory(sku="WIDGET", unit_price=Decimal("20.00"), on_hand=0)
    lamp = ProductFactory(sku="LAMP", unit_price=Decimal("30.00"), on_hand=0)
    gizmo = ProductFactory(sku="GIZMO", unit_price=Decimal("10.00"), on_hand=0, lead_time_days=None)
    purchase_order_create(
        supplier=acme, lines=[PurchaseLineRequest(widget, 5, W46, Decimal("8.00"))], send=True
    )
    paid_widgets = place_order((widget, 2))
    cod_lamp = place_order((lamp, 1), paid=False, payment_method=Order.PaymentMethod.COD)
    no_date = place_order((gizmo, 3))
    late_lamp = place_order((lamp, 2))
    set_eta(cod_lamp, dt.date(2026, 11, 18))
    set_eta(late_lamp, dt.date(2026, 10, 28))
    return paid_widgets, cod_lamp, no_date, late_lamp


# --- expected captures -------------------------------------------------------------------


def test_waiting_money_is_bucketed_by_the_iso_week_of_its_eta(waiting, django_assert_num_queries):
    paid_widgets, *_ = waiting
    assert paid_widgets.lines.get().eta == W46 + dt.timedelta(days=HANDLING)

    with django_assert_num_queries(1):
        weeks = expected_captures(today=TODAY)

    assert [(w.label, w.lines, w.units, w.total) for w in weeks] == [
        ("Overdue", 1, 2, Decimal("60.00")),
        ("2026-W46", 1, 2, Decimal("40.00")),
        ("2026-W47", 1, 1, Decimal("30.00")),
        ("No ETA", 1, 3, Decimal("30.00")),
    ]
    # Paid at checkout (the default): nothing is captured at shipment, the sale is recognised;
    # the cash-on-delivery lamp's money arrives then.
    assert [(w.paid_up_front, w.captured_at_shipment, w.unpaid) for w in weeks] == [
        (Decimal("60.00"), Decimal("0.00"), Decimal("0.00")),
        (Decimal("40.00"), Decimal("0.00"), Decimal("0.00")),
        (Decimal("0.00"), Decimal("0.00"), Decimal("30.00")),
        (Decimal("30.00"), Decimal("0.00"), Decimal("0.00")),
    ]


def test_with_capture_at_shipment_paid_orders_money_is_captured_when_they_ship(waiting, settings):
    settings.PAYMENT_CAPTURE = "shipment"

    weeks = {w.label: w for w in expected_captures(today=TODAY)}

    assert weeks["2026-W46"].captured_at_shipment == Decimal("40.00")
    assert weeks["2026-W46"].paid_up_front == Decimal("0.00")
    assert weeks["2026-W46"].cash_in == Decimal("40.00")
    assert weeks["2026-W47"].unpaid == Decimal("30.00")


def test_weeks_are_store_weeks_not_utc_weeks(waiting):
    _, _, _, late_lamp = waiting
    set_eta(late_lamp, dt.date(2026, 11, 6))  # Friday of W45
    # Sunday 8 November, 22:00 in New York: already Monday 9 November (W46) in UTC.
    sunday_night = dt.datetime(2026, 11, 8, 22, 0, tzinfo=NY)
    with time_machine.travel(sunday_night, tick=False):
        data = cash_flow(today=dt.date(2026, 11, 8))

    assert [w.label for w in data.captures][:2] == ["2026-W45", "2026-W46"]
    assert not data.captures[0].overdue


def test_the_next_four_weeks_include_overdue_lines_but_not_undated_ones(waiting):
    data = cash_flow(today=TODAY)

    assert data.captures_within(4) == Decimal("130.00")
    assert data.cash_in_within(4) == Decimal("30.00")


# --- refunds falling due -----------------------------------------------------------------


def test_refunds_fall_due_by_day_owed_and_at_stake(clock, django_assert_num_queries):
    widget = ProductFactory(sku="WIDGET", unit_price=Decimal("20.00"), on_hand=0)
    # Promised for Friday 6 November, but nothing will come before its lead time: at risk.
    promised = place_order((widget, 1), promised_ship_date=dt.date(2026, 11, 6))
    rule_run(order_ids=[promised.pk])
    # Two cancelled paid orders owe refunds; one of them already went back.
    owed = place_order((widget, 2))
    line_cancel(line=owed.lines.get(), reason="Found it elsewhere")
    issued = place_order((widget, 1))
    line_cancel(line=issued.lines.get(), reason="Changed mind")
    refund_mark_issued(refund=Refund.objects.get(order=issued), reference="RF-1")
    due = refund_due_date(vested_at=NOW, payment_method=Order.PaymentMethod.CARD)

    with django_assert_num_queries(2):
        days = refunds_by_day(today=TODAY)

    assert [
        (d.day, d.owed_refunds, d.owed, d.at_stake_orders, d.at_stake, d.total) for d in days
    ] == [
        (dt.date(2026, 11, 6), 0, Decimal("0.00"), 1, Decimal("20.00"), Decimal("20.00")),
        (due, 1, Decimal("40.00"), 0, Decimal("0.00"), Decimal("40.00")),
    ]
    assert due == dt.date(2026, 11, 16)  # 7 working days; Veterans Day (the 11th) is not one


def test_unpaid_and_exempt_orders_put_nothing_at_stake(clock):
    widget = ProductFactory(sku="WIDGET", unit_price=Decimal("20.00"), on_hand=0)
    cod = place_order(
        (widget, 1),
        paid=False,
        payment_method=Order.PaymentMethod.COD,
        promised_ship_date=dt.date(2026, 11, 6),
    )
    rule_run(order_ids=[cod.pk])

    assert refunds_by_day(today=TODAY) == []


# --- money committed in open purchase orders ---------------------------------------------


@pytest.fixture
def purchase_orders(clock, acme, bolt):
    bracket = ProductFactory(sku="BRACKET", unit_price=Decimal("20.00"), on_hand=0)
    shade = ProductFactory(sku="SHADE", on_hand=0)
    bulb = ProductFactory(sku="BULB", unit_price=Decimal("5.00"), on_hand=0)
    acme_po = purchase_order_create(
        supplier=acme,
        lines=[
            PurchaseLineRequest(bracket, 5, W46, Decimal("8.00")),
            PurchaseLineRequest(shade, 4, dt.date(2026, 11, 20)),  # no cost given
        ],
        send=True,
    )
    bolt_po = purchase_order_create(
        supplier=bolt,
        lines=[PurchaseLineRequest(bulb, 10, dt.date(2026, 11, 17), unit_cost=Decimal("2.50"))],
        send=True,
    )
    purchase_order_line_receive(line=bolt_po.lines.get(), quantity=4)
    # A draft commits nothing yet; a cancelled PO nothing any more.
    purchase_order_create(
        supplier=bolt, lines=[PurchaseLineRequest(bulb, 100, W47, Decimal("2.50"))]
    )
    cancelled = purchase_order_create(
        supplier=acme, lines=[PurchaseLineRequest(bracket, 50, W47, Decimal("8.00"))], send=True
    )
    purchase_order_cancel(purchase_order=cancelled, reason="Ordered twice")
    return acme_po, bolt_po


def test_open_pos_commit_unit_cost_times_units_still_to_arrive(
    purchase_orders, django_assert_num_queries
):
    acme_po, bolt_po = purchase_orders

    with django_assert_num_queries(1):
        commitments = po_commitments()

    assert [
        (c.number, c.supplier, c.committed, c.units_outstanding, c.units_without_cost)
        for c in commitments
    ] == [
        (acme_po.number, "Acme Lighting", Decimal("40.00"), 9, 4),
        (bolt_po.number, "Bolt Supply", Decimal("15.00"), 6, 0),
    ]
    assert commitments[0].next_expected == W46
    assert supplier_commitments(commitments) == [
        ("Acme Lighting", Decimal("40.00")),
        ("Bolt Supply", Decimal("15.00")),
    ]


def test_commitments_by_week_of_expected_arrival(purchase_orders, django_assert_num_queries):
    with django_assert_num_queries(1):
        weeks = po_arrivals_by_week(today=TODAY)

    assert [(w.label, w.committed, w.units_outstanding, w.units_without_cost) for w in weeks] == [
        ("2026-W46", Decimal("40.00"), 5, 0),
        ("2026-W47", Decimal("15.00"), 10, 4),
    ]


def test_a_po_without_costs_commits_no_money_but_counts_its_units(clock, acme):
    lamp = ProductFactory(sku="LAMP", on_hand=0)
    purchase_order_create(supplier=acme, lines=[PurchaseLineRequest(lamp, 7, W46)], send=True)

    data = cash_flow(today=TODAY)

    assert [(c.committed, c.units_without_cost) for c in data.commitments] == [(Decimal("0.00"), 7)]
    assert (data.committed, data.units_without_cost) == (Decimal("0.00"), 7)


def test_the_whole_report_is_five_queries_however_many_rows(
    waiting, purchase_orders, django_assert_num_queries
):
    with django_assert_num_queries(5):
        cash_flow(today=TODAY)
    more = ProductFactory(sku="MORE", unit_price=Decimal("3.00"), on_hand=0)
    for _ in range(12):
        place_order((more, 1))
    with django_assert_num_queries(5):
        cash_flow(today=TODAY)


# --- the page and its CSVs ---------------------------------------------------------------


@pytest.fixture
def managed(client):
    user = UserFactory(username="morgan")
    user.groups.add(Group.objects.get(name="Managers"))
    client.force_login(user)
    return client


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_page_shows_the_figures_charts_and_links_to_each_csv(managed, waiting, purchase_orders):
    response = managed.get(reverse("dashboard:cash_flow"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Expected at shipment, next 4 weeks" in page
    assert "$130.00" in page
    assert "Committed in open POs" in page
    assert page.count('<svg class="chart"') == 4
    for table in ("captures", "refunds", "po-commitments", "po-arrivals"):
        assert reverse("dashboard:cash_flow_export", args=[table]) in page
    reports = managed.get(reverse("dashboard:reports")).content.decode()
    assert reverse("dashboard:cash_flow") in reports


def test_the_csvs_hold_plain_values(managed, waiting, purchase_orders):
    acme_po, bolt_po = purchase_orders
    widgets_po = PurchaseOrder.objects.order_by("id").first()  # the waiting widgets' PO
    assert widgets_po is not None
    captures = managed.get(reverse("dashboard:cash_flow_export", args=["captures"]))
    commitments = managed.get(reverse("dashboard:cash_flow_export", args=["po-commitments"]))

    assert captures["Content-Disposition"] == 'attachment; filename="cash-flow-captures.csv"'
    assert rows_of(captures) == [
        [
            "Week of ETA",
            "Week starts",
            "Lines",
            "Units",
            "Captured at shipment",
            "Paid up front (recognised at shipment)",
            "Not paid yet",
            "Total",
        ],
        ["Overdue", "", "1", "2", "0.00", "60.00", "0.00", "60.00"],
        ["2026-W46", "2026-11-09", "1", "2", "0.00", "40.00", "0.00", "40.00"],
        ["2026-W47", "2026-11-16", "1", "1", "0.00", "0.00", "30.00", "30.00"],
        ["No ETA", "", "1", "3", "0.00", "30.00", "0.00", "30.00"],
    ]
    assert rows_of(commitments)[1:] == [
        [widgets_po.number, "Acme Lighting", "2026-11-09", "5", "0", "40.00"],
        [acme_po.number, "Acme Lighting", "2026-11-09", "9", "4", "40.00"],
        [bolt_po.number, "Bolt Supply", "2026-11-17", "6", "0", "15.00"],
    ]
    assert managed.get(reverse("dashboard:cash_flow_export", args=["nope"])).status_code == 404


def test_operations_staff_cannot_open_the_cash_flow(client):
    user = UserFactory(username="olive")
    user.groups.add(Group.objects.get(name="Operations"))
    client.force_login(user)

    assert client.get(reverse("dashboard:cash_flow")).status_code in (302, 403)


def test_the_weekly_charts_show_empty_weeks_between_and_overdue_first():
    bars = _weekly(
        TODAY,
        Decimal("5.00"),
        {W45: Decimal("1.00"), W47: Decimal("2.00"), W47 + dt.timedelta(weeks=20): Decimal("9")},
    )

    assert bars == [
        ("Overdue", Decimal("5.00")),
        ("Nov 2", Decimal("1.00")),
        ("Nov 9", Decimal("0.00")),
        ("Nov 16", Decimal("2.00")),
    ]

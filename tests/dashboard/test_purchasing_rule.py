"""Rule-aware planning: the reschedule preview says whom a new date pushes past their ship-by
date (each a delay notice), and the chase list ranks open lines by customers saved per day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from compliance.services import rule_run
from config.formats import format_date
from dashboard.purchasing.selectors import chase_ranking, reschedule_preview
from orders.models import Order
from orders.selectors import store_today
from tests.dashboard.test_purchasing import day, send_po
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    place_order,
    rule_deadline_set,
    staff_in,
)

pytestmark = pytest.mark.django_db


def ship_by(order: Order, deadline: dt.date) -> None:
    rule_deadline_set(order, deadline)


@pytest.fixture
def lamp():
    """POs of 3 lamps in 5 days and 4 in 10; a (2) waits until day 6, b (2) and c (3) until
    day 11."""
    product = ProductFactory(sku="LAMP", name="Desk lamp", on_hand=0, lead_time_days=14)
    first = send_po(product, (3, 5))
    second = send_po(product, (4, 10))
    orders = {
        email: place_order((product, quantity), customer=CustomerFactory(email=f"{email}@x.com"))
        for email, quantity in [("a", 2), ("b", 2), ("c", 3)]
    }
    rule_run()
    return first, second, orders


def test_a_later_date_warns_how_many_customers_miss_their_ship_by_date(lamp):
    first, _, orders = lamp
    ship_by(orders["a"], day(8))  # a: 6 → 11, past day 8: a delay notice
    ship_by(orders["c"], day(20))  # c: 11 → 13, still within day 20

    preview = reschedule_preview(line=first.lines.get(), expected_date=day(12))

    assert preview.orders_later == 2
    assert preview.delay_notices == 1
    assert preview.orders_saved == 0
    sample = {o.number: (o.ship_by, o.pushed_past_ship_by) for o in preview.sample}
    assert sample[orders["a"].number] == (day(8), True)
    assert sample[orders["c"].number] == (day(20), False)


def test_an_earlier_date_counts_customers_saved(lamp):
    _, second, orders = lamp
    ship_by(orders["b"], day(7))  # b: 11 → 4, back within day 7

    preview = reschedule_preview(line=second.lines.get(), expected_date=day(3))

    assert (preview.delay_notices, preview.orders_saved) == (0, 1)


def test_the_screen_warns_before_saving(client, lamp):
    first, _, orders = lamp
    ship_by(orders["a"], day(8))
    client.force_login(staff_in("Managers"))

    response = client.post(
        reverse("dashboard:po_line_reschedule", args=[first.lines.get().pk]),
        {"expected_date": day(12).isoformat(), "preview": "1"},
    )

    html = response.content.decode()
    assert "1 customer pushed past their ship-by date." in html
    assert "will send 1 delay option notice," in html
    assert f"{format_date(day(8))} missed" in html
    assert first.lines.get().expected_date == day(5)


def test_the_chase_list_ranks_lines_by_customers_saved_per_day(client, lamp):
    _, second, orders = lamp
    # b and c wait until day 11 but must ship by day 8: pulling the day-10 PO in to today
    # brings both within it (2 customers / 10 days). The day-5 PO would save nobody.
    ship_by(orders["b"], day(8))
    ship_by(orders["c"], day(8))
    shade = ProductFactory(sku="SHADE", on_hand=0, lead_time_days=30)
    shade_po = send_po(shade, (3, 4))
    waiting = place_order((shade, 2))
    rule_run()
    ship_by(waiting, day(3))  # ETA day 5: 1 customer saved by pulling in 4 days

    rows = chase_ranking(today=store_today())

    assert [(r.line.pk, r.customers_saved, r.days_early) for r in rows] == [
        (shade_po.lines.get().pk, 1, 4),
        (second.lines.get().pk, 2, 10),
    ]
    client.force_login(staff_in("Managers"))
    html = client.get(reverse("dashboard:purchase_order_chase")).content.decode()
    assert html.index(shade_po.number) < html.index(second.number)
    assert "<strong>0.25</strong>" in html
    assert "<strong>0.20</strong>" in html

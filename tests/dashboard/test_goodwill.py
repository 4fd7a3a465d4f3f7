"""The Goodwill screen (rules, this month's budget, grants), its rule form, the order page's
timeline, and the Goodwill report's cancellation rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from dashboard.reports.selectors import report
from orders.models import GoodwillRule, Order
from orders.services import goodwill_apply, goodwill_rule_create, line_cancel
from tests.dashboard.test_overview import stat_value
from tests.factories import ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def manager_client(client):
    """Signed in when first used (a session would expire while the clock moves on)."""

    class Manager:
        def __getattr__(self, name):
            if not getattr(client, "_signed_in", False):
                client.force_login(staff_in("Managers"))
                client._signed_in = True
            return getattr(client, name)

    return Manager()


def rule(**kwargs) -> GoodwillRule:
    fields = {
        "name": "Ten days",
        "trigger": GoodwillRule.Trigger.LONG_WAIT,
        "wait_days": 10,
        "gesture": GoodwillRule.Gesture.STORE_CREDIT,
        "amount": Decimal("10.00"),
        "monthly_budget": Decimal("20.00"),
    } | kwargs
    return goodwill_rule_create(**fields)


def delayed_shop(clock) -> list[Order]:
    """Five orders waiting since 2 November (a sixth, in stock, never waits); on the 13th the
    rule's $20 budget covers the two oldest; two orders are then cancelled."""
    product = ProductFactory(on_hand=0, sku="LAMP")
    orders = [
        place_order((product, 1), placed_at=MONDAY + dt.timedelta(hours=hour)) for hour in range(5)
    ]
    place_order((ProductFactory(on_hand=3), 1))
    rule()
    clock.move_to(MONDAY + dt.timedelta(days=11))
    goodwill_apply()
    clock.move_to(MONDAY + dt.timedelta(days=12))
    line_cancel(line=orders[0].lines.get(), reason="Too long")  # with goodwill
    line_cancel(line=orders[2].lines.get(), reason="Too long")  # without
    return orders


def test_the_report_compares_cancellations_of_delayed_orders_with_and_without_goodwill(clock):
    orders = delayed_shop(clock)

    data = report(slug="goodwill", days=30)

    stats = {stat.label: stat.value for stat in data.stats}
    assert stats == {
        "Delayed orders": "5",
        "Cancelled with goodwill": "50.0% of 2",
        "Cancelled without goodwill": "33.3% of 3",
        "Goodwill budget used this month": "$20.00",
    }
    assert [(row[0].text, row[2], row[3], row[4]) for row in data.rows] == [
        (orders[0].number, "Waited over 10 days", "Store credit", "Yes"),
        (orders[1].number, "Waited over 10 days", "Store credit", "No"),
        (orders[2].number, "Waited over 10 days", "—", "Yes"),
        (orders[3].number, "Waited over 10 days", "—", "No"),
        (orders[4].number, "Waited over 10 days", "—", "No"),
    ]
    assert data.charts[0].rows == [("With", 50.0), ("Without", 33.3)]


def test_the_goodwill_screen_shows_rules_budget_and_grants(clock, manager_client):
    orders = delayed_shop(clock)

    page = unescape(manager_client.get(reverse("dashboard:goodwill")).content.decode())

    assert stat_value(page, "Budget used this month") == "$20.00"
    assert stat_value(page, "Monthly cap (active rules)") == "$20.00"
    assert "Waiting longer than 10 days" in page
    assert "$10.00 store credit" in page
    assert orders[0].number in page
    assert orders[1].number in page
    assert orders[2].number not in page
    assert "Next email" in page


def test_the_order_page_timeline_shows_the_gesture(clock, manager_client):
    orders = delayed_shop(clock)

    page = manager_client.get(reverse("dashboard:order", args=[orders[1].pk])).content.decode()

    assert "Goodwill (waiting longer than 10 days): $10.00 store credit" in page


def test_the_goodwill_screen_reads_a_fixed_number_of_queries(
    clock, manager_client, django_assert_num_queries
):
    delayed_shop(clock)
    for n in range(3):
        rule(name=f"Rule {n}", gesture=GoodwillRule.Gesture.SHIPPING_UPGRADE)
    manager_client.get(reverse("dashboard:goodwill"))  # signs in
    # The same few whatever the number of rules and grants (no query per row).
    with django_assert_num_queries(6):
        assert manager_client.get(reverse("dashboard:goodwill")).status_code == 200


def test_a_manager_creates_and_edits_a_rule(clock, manager_client):
    response = manager_client.post(
        reverse("dashboard:goodwill_rule_new"),
        {
            "name": "Slipped dates",
            "trigger": "eta_moved",
            "gesture": "discount_code",
            "discount_percent": "15",
            "monthly_budget": "250.00",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    created = GoodwillRule.objects.get()
    assert (created.trigger, created.discount_percent, created.monthly_budget) == (
        "eta_moved",
        15,
        Decimal("250.00"),
    )

    form = manager_client.get(reverse("dashboard:goodwill_rule_edit", args=[created.pk]))
    assert 'value="Slipped dates"' in form.content.decode()
    response = manager_client.post(
        reverse("dashboard:goodwill_rule_edit", args=[created.pk]),
        {
            "name": "Slipped dates",
            "trigger": "eta_moved",
            "gesture": "discount_code",
            "discount_percent": "15",
            "monthly_budget": "300.00",
        },
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert (created.monthly_budget, created.is_active) == (Decimal("300.00"), False)


def test_a_rule_form_with_a_mistake_says_what_to_fix(manager_client):
    response = manager_client.post(
        reverse("dashboard:goodwill_rule_new"),
        {"name": "Credit", "trigger": "long_wait", "gesture": "store_credit", "amount": "5"},
    )

    page = unescape(response.content.decode())
    assert response.status_code == 400
    assert "This field is required." in page  # the monthly budget
    assert not GoodwillRule.objects.exists()
    response = manager_client.post(
        reverse("dashboard:goodwill_rule_new"),
        {
            "name": "Credit",
            "trigger": "long_wait",
            "gesture": "store_credit",
            "amount": "5",
            "monthly_budget": "50",
        },
    )
    assert "Give the number of days a wait must exceed." in unescape(response.content.decode())

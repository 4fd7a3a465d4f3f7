"""The order page's goodwill section (id "goodwill", where the cancellation-risk list links):
Managers give a rule's gesture with one button; Operations staff read what was given."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from orders.models import GoodwillGrant, GoodwillRule, Order
from orders.services import goodwill_apply, goodwill_rule_create
from tests.factories import ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 2, 17, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def waiting() -> Order:
    return place_order((ProductFactory(on_hand=0, sku="LAMP-1"), 1))


def rule(**kwargs) -> GoodwillRule:
    fields = {
        "name": "Sorry",
        "trigger": GoodwillRule.Trigger.LONG_WAIT,
        "wait_days": 10,
        "gesture": GoodwillRule.Gesture.STORE_CREDIT,
        "amount": Decimal("10.00"),
        "monthly_budget": Decimal("50.00"),
    } | kwargs
    return goodwill_rule_create(**fields)


def section(response) -> str:
    """The goodwill section's text, tags removed."""
    html = response.content.decode()
    match = re.search(r'<section[^>]*id="goodwill".*?</section>', html, re.S)
    assert match, "no goodwill section"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def signed_in(client, group: str):
    client.force_login(staff_in(group))
    return client


def test_a_manager_picks_a_rule_and_gives_goodwill(client, waiting):
    credit = rule()
    rule(name="Paused", is_active=False)
    manager = signed_in(client, "Managers")
    url = reverse("dashboard:order", args=[waiting.pk])

    before = section(manager.get(url))
    assert "Sorry — $10.00 store credit — $50.00 left this month" in before
    assert "Paused" not in before  # only active rules
    assert "Give goodwill" in before

    response = manager.post(
        reverse("dashboard:order_goodwill", args=[waiting.pk]), {"rule": credit.pk}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{url}#goodwill"
    page = manager.get(url)
    assert f"{waiting.number}: goodwill given — $10.00 store credit." in unescape(
        page.content.decode()
    )
    after = section(page)
    assert "$10.00 store credit" in after
    assert "in the next email" in after
    assert "Give goodwill" not in after
    assert GoodwillGrant.objects.get(order=waiting).rule == credit


def test_a_refusal_shows_the_page_again_with_why(client, waiting):
    small = rule(monthly_budget=Decimal("5.00"))
    manager = signed_in(client, "Managers")

    response = manager.post(
        reverse("dashboard:order_goodwill", args=[waiting.pk]), {"rule": small.pk}
    )

    assert response.status_code == 400
    assert "The rule “Sorry” has $5.00 left of this month's budget" in section(response)
    assert not GoodwillGrant.objects.exists()


def test_an_order_already_given_goodwill_shows_the_gesture_and_no_form(client, clock):
    order = place_order((ProductFactory(on_hand=0), 1), placed_at=MONDAY - dt.timedelta(days=20))
    rule(gesture=GoodwillRule.Gesture.DISCOUNT_CODE, discount_percent=10)
    [grant] = goodwill_apply()
    manager = signed_in(client, "Managers")

    text = section(manager.get(reverse("dashboard:order", args=[order.pk])))

    assert grant.code in text
    assert "waiting longer than 10 days" in text
    assert "Give goodwill" not in text


def test_operations_staff_read_the_section_without_a_form(client, waiting):
    rule()
    staff = signed_in(client, "Operations")

    text = section(staff.get(reverse("dashboard:order", args=[waiting.pk])))

    assert "No goodwill given yet" in text
    assert "Give goodwill" not in text


def test_an_order_with_nothing_waiting_offers_no_goodwill(client):
    order = place_order((ProductFactory(on_hand=5), 1))
    rule()
    manager = signed_in(client, "Managers")

    text = section(manager.get(reverse("dashboard:order", args=[order.pk])))

    assert "Nothing waits on this order" in text


def test_the_same_form_sent_twice_gives_once(client, waiting):
    credit = rule()
    manager = signed_in(client, "Managers")
    url = reverse("dashboard:order_goodwill", args=[waiting.pk])
    data = {"rule": credit.pk, "submission_token": "goodwill-once-" + "x" * 12}

    first = manager.post(url, data)
    second = manager.post(url, data)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert GoodwillGrant.objects.filter(order=waiting).count() == 1

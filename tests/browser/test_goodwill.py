"""Goodwill in Chromium: a manager opens the Goodwill screen (a rule that already granted
store credit), creates a rule with the form, and finds it in the list.

The data is written before the browser starts: the ORM must not run while Playwright's event
loop is alive.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import GoodwillRule
from orders.services import goodwill_apply, goodwill_rule_create
from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


@pytest.fixture
def granted(settings) -> str:
    """An order waiting three weeks, given $10 store credit; its number."""
    settings.MAIL_ORDER_RULE_ENABLED = False  # no deadline is the point here
    order = place_order(
        (ProductFactory(sku="LAMP-1", on_hand=0), 1),
        placed_at=timezone.now() - dt.timedelta(days=21),
    )
    goodwill_rule_create(
        name="Three weeks",
        trigger=GoodwillRule.Trigger.LONG_WAIT,
        wait_days=14,
        gesture=GoodwillRule.Gesture.STORE_CREDIT,
        amount=Decimal("10.00"),
        monthly_budget=Decimal("200.00"),
    )
    goodwill_apply()
    return order.number


def test_a_manager_creates_a_goodwill_rule(live_server, granted, manager, browser, screenshot_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, manager)
    page.get_by_role("link", name="Goodwill", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Goodwill")
    expect(page.get_by_role("link", name=granted)).to_be_visible()
    expect(page.locator(".stat").first).to_contain_text("$10.00")
    page.screenshot(path=str(screenshot_dir / "goodwill.png"), full_page=True)

    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("Moved dates")
    page.get_by_label("When").select_option(label="ETA moved later")
    page.get_by_label("Gesture").select_option(label="Discount code")
    page.get_by_label("Discount (%)").fill("10")
    page.get_by_label("Monthly budget ($)").fill("150")
    page.screenshot(path=str(screenshot_dir / "goodwill-rule-form.png"), full_page=True)
    page.get_by_role("button", name="Create rule").click()

    expect(page.get_by_text("Goodwill rule “Moved dates” created.")).to_be_visible()
    row = page.locator("tbody tr", has_text="Moved dates")
    expect(row).to_contain_text("ETA moved later")
    expect(row).to_contain_text("Discount code: 10% off")
    expect(row).to_contain_text("$150.00")
    page.screenshot(path=str(screenshot_dir / "goodwill-created.png"), full_page=True)

    # Editing it: a bigger budget.
    page.get_by_role("link", name="Moved dates").click()
    expect(page.get_by_label("Monthly budget ($)")).to_have_value("150.00")
    page.get_by_label("Monthly budget ($)").fill("200")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_text("Goodwill rule “Moved dates” saved.")).to_be_visible()
    expect(page.locator("tbody tr", has_text="Moved dates")).to_contain_text("$200.00")

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "goodwill-390.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Report", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports: Goodwill")
    expect(page.get_by_role("link", name=granted)).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "goodwill-report.png"), full_page=True)
    context.close()

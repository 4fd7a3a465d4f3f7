"""Goodwill in one click from the Cancellation risk list, in Chromium: a manager follows the
worried customer's "Goodwill" button to the order's goodwill section, picks a rule and gives
its gesture, then reads it in the section and on the timeline.

Screenshots go to BROWSER_SCREENSHOT_DIR: order-goodwill-form.png (the section as the button
opens it, with the active rules and their budget left) and order-goodwill-given.png (the
gesture given, and the timeline).
Everything the test needs from the database is made before the browser starts.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import GoodwillRule
from orders.services import goodwill_rule_create
from tests.browser.test_cancellation_risk import AtRisk, at_risk  # noqa: F401 - a fixture
from tests.browser.test_dashboard_flows import log_in, staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


@pytest.fixture
def rules() -> None:
    for name, gesture, amount in (
        ("Long wait credit", GoodwillRule.Gesture.STORE_CREDIT, "10.00"),
        ("Express on us", GoodwillRule.Gesture.SHIPPING_UPGRADE, "8.00"),
    ):
        goodwill_rule_create(
            name=name,
            trigger=GoodwillRule.Trigger.LONG_WAIT,
            wait_days=14,
            gesture=gesture,
            amount=Decimal(amount),
            monthly_budget=Decimal("200.00"),
        )


def test_a_manager_gives_goodwill_from_the_cancellation_risk_list(
    live_server,
    manager,
    at_risk: AtRisk,  # noqa: F811 - the fixture imported above
    rules,
    browser,
    screenshot_dir,
):
    number = at_risk.worried.number
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, manager)
    page.goto(f"{live_server.url}/dashboard/queue/cancellation-risk/")

    worried = page.locator("tr[data-row]").filter(has_text=number)
    worried.get_by_role("link", name="Goodwill").click()

    page.wait_for_url(re.compile(rf"/dashboard/orders/{at_risk.worried.pk}/#goodwill$"))
    section = page.locator("section#goodwill")
    expect(section).to_be_in_viewport()
    rule = section.get_by_label("Rule")
    expect(rule.locator("option")).to_have_text(
        [
            "Choose a rule…",
            "Express on us — Free shipping upgrade (costs $8.00) — $200.00 left this month",
            "Long wait credit — $10.00 store credit — $200.00 left this month",
        ]
    )
    rule.select_option(label="Long wait credit — $10.00 store credit — $200.00 left this month")
    page.screenshot(path=str(screenshot_dir / "order-goodwill-form.png"))
    section.get_by_role("button", name="Give goodwill").click()

    page.wait_for_url(re.compile(r"#goodwill$"))
    expect(page.get_by_text(f"{number}: goodwill given — $10.00 store credit.")).to_be_visible()
    section = page.locator("section#goodwill")
    expect(section).to_contain_text("$10.00 store credit")
    expect(section).to_contain_text("given by morgan")
    expect(section).to_contain_text("in the next email")
    expect(section.get_by_role("button", name="Give goodwill")).to_have_count(0)
    timeline = page.locator("section[aria-labelledby=h-timeline] li").filter(has_text="Goodwill")
    expect(timeline).to_contain_text("Goodwill (given by morgan): $10.00 store credit — morgan")
    page.screenshot(path=str(screenshot_dir / "order-goodwill-given.png"), full_page=True)
    context.close()

"""axe-core (bundled with axe-playwright-python; nothing is downloaded) finds no serious or
critical accessibility violation on any dashboard page, on the customer's status page (with and
without the delay-consent choices), on the login page or on an error page.

Everything the test needs from the database is made before the browser starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from compliance.services import order_rule_evaluate
from orders.selectors import order_status_url
from tests.browser.test_csp import PASSWORD, Shop
from tests.browser.test_csp import shop as shop  # noqa: PLC0414 - the fixture, reused
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)

BLOCKING = {"serious", "critical"}


@dataclass
class Customer:
    consent_page: str


@pytest.fixture
def customer() -> Customer:
    """An order whose delay notice asks the customer to choose (the consent answer page)."""
    stool = ProductFactory(sku="STOOL-1", name="Oak stool", on_hand=0, lead_time_days=None)
    waiting = place_order((stool, 1), customer=CustomerFactory(email="cy@example.com"))
    order_rule_evaluate(order_id=waiting.pk)
    return Customer("/" + order_status_url(order=waiting).split("://", 1)[1].split("/", 1)[1])


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it ran on this page
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


def test_no_serious_accessibility_violation_on_any_page(
    live_server, shop: Shop, customer: Customer, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    page.goto(f"{live_server.url}/dashboard/login/")
    found["/dashboard/login/"] = violations(page)
    page.get_by_label("Username").fill(shop.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))

    for path in [*shop.pages, customer.consent_page, "/dashboard/no-such-page/"]:
        page.goto(f"{live_server.url}{path}")
        found[path] = violations(page)
    page.screenshot(path=str(screenshot_dir / "error-404-staff.png"), full_page=True)
    page.goto(f"{live_server.url}{customer.consent_page}")
    assert page.get_by_role("button", name=re.compile("Cancel and refund")).count() >= 1
    page.screenshot(path=str(screenshot_dir / "consent-page.png"), full_page=True)
    context.close()
    assert {path: found_ for path, found_ in found.items() if found_} == {}

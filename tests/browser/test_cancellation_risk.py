"""Cancellation risk in Chromium: staff open it from the queue, read why each customer may
cancel, and offer the most worried one a substitute in one click, coming back to the list.

Screenshots go to BROWSER_SCREENSHOT_DIR: queue-cancellation-risk-link.png (the queue with its
link), cancellation-risk.png (two lines, the worried customer first, with their reasons) and
cancellation-risk-390.png (what is left after the substitute, at phone width).
Everything the test needs from the database is made before the browser starts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import Product
from orders.models import Order
from orders.services import order_status_view_record, product_eta_refresh
from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class AtRisk:
    worried: Order  # waited 30 days, its ETA moved twice, opened the status page 4 times
    calm: Order  # waited 8 days


@pytest.fixture
def at_risk() -> AtRisk:
    spare = ProductFactory(sku="LAMP-2", name="Brass lamp, large", on_hand=5)
    lamp = ProductFactory(
        sku="LAMP-1",
        name="Brass desk lamp",
        on_hand=0,
        lead_time_days=10,
        unit_price=Decimal("120.00"),
        substitutes=[spare],
    )
    kettle = ProductFactory(sku="KETTLE-3", name="Kettle", on_hand=0)
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=30), tick=False):
        worried = place_order((lamp, 1), customer=CustomerFactory(name="Wren"))
    with time_machine.travel(now - dt.timedelta(days=8), tick=False):
        calm = place_order((kettle, 1), customer=CustomerFactory(name="Cal"))
    for days in (20, 30):
        Product.objects.filter(pk=lamp.pk).update(lead_time_days=days)
        product_eta_refresh(product_id=lamp.pk, reason="Supplier lead time changed")
    for _ in range(4):
        order_status_view_record(order_id=worried.pk)
    return AtRisk(worried, calm)


@pytest.fixture
def operator() -> str:
    return staff("olivia", "Operations")


def row_orders(page) -> list[str]:
    return page.locator("tr[data-row] td[data-label=Order] a").all_inner_texts()


def test_staff_offer_a_substitute_to_the_customer_most_likely_to_cancel(
    live_server, operator, at_risk, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, operator)
    page.goto(f"{live_server.url}/dashboard/queue/")
    page.screenshot(path=str(screenshot_dir / "queue-cancellation-risk-link.png"))
    page.get_by_role("link", name="Cancellation risk").click()
    page.wait_for_url(re.compile(r"/dashboard/queue/cancellation-risk/$"))

    expect(page.get_by_role("heading", name="Cancellation risk")).to_be_visible()
    assert row_orders(page) == [at_risk.worried.number, at_risk.calm.number]
    worried = page.locator("tr[data-row]").filter(has_text=at_risk.worried.number)
    reasons = worried.locator(".risk-reasons li").all_inner_texts()
    assert reasons == ["waited 30 days", "ETA moved 2×", "opened status page 4×", "$120.00"]
    expect(worried.locator("td[data-label=Risk]")).to_have_text("12")  # 4 + 4 + 3 + 1
    calm = page.locator("tr[data-row]").filter(has_text=at_risk.calm.number)
    assert calm.locator(".risk-reasons li").all_inner_texts() == ["waited 8 days"]
    goodwill = worried.get_by_role("link", name="Goodwill")
    assert goodwill.get_attribute("href") == f"/dashboard/orders/{at_risk.worried.pk}/#goodwill"
    page.screenshot(path=str(screenshot_dir / "cancellation-risk.png"), full_page=True)

    worried.get_by_role("link", name="Offer substitute").click()
    page.wait_for_url(re.compile(r"/substitute/"))
    page.get_by_label("Send instead").select_option("LAMP-2")
    page.get_by_label("How the customer accepted").fill("agreed by phone")
    page.get_by_role("button", name="Send the substitute instead").click()

    page.wait_for_url(re.compile(r"/dashboard/queue/cancellation-risk/$"))
    expect(page.get_by_text("1 × LAMP-2 sent instead of LAMP-1.")).to_be_visible()
    assert row_orders(page) == [at_risk.calm.number]

    # On a phone the list never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshot_dir / "cancellation-risk-390.png"), full_page=True)
    context.close()

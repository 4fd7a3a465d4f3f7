"""The cash flow report in Chromium: a manager gives a purchase order line a unit cost (a
negative one is refused), then opens the cash flow report from the reports page and finds the
money that order commits.

Everything the test needs from the database is made before the browser starts: the ORM must
not run while Playwright's event loop is alive.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from inventory.services import supplier_create
from orders.selectors import store_today
from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


@pytest.fixture
def shop() -> str:
    """Ada waits for 2 lamps at $25; Acme Lighting sells shades."""
    lamp = ProductFactory(sku="LAMP-1", name="Brass desk lamp", on_hand=0, lead_time_days=14)
    ProductFactory(sku="SHADE-1", name="Linen shade", on_hand=0)
    place_order((lamp, 2), customer=CustomerFactory(email="ada@example.com"))
    return supplier_create(name="Acme Lighting", lead_time_days=10).name


def test_a_po_with_a_unit_cost_shows_up_in_the_cash_flow(
    live_server, shop, manager, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, manager)
    page.goto(f"{live_server.url}/dashboard/purchase-orders/new/")
    page.get_by_label("Supplier:").select_option(label=shop)
    page.get_by_label("SKU, line 1").fill("SHADE-1")
    page.get_by_label("Quantity, line 1").fill("12")
    page.get_by_label("Expected date, line 1").fill(day(9).isoformat())
    page.get_by_label("Unit cost, line 1").fill("-4")
    page.get_by_label("Send to the supplier now").check()
    page.get_by_role("button", name="Create purchase order", exact=True).click()

    expect(page.get_by_text("Ensure this value is greater than or equal to 0.")).to_be_visible()
    page.get_by_label("Unit cost, line 1").fill("7.50")
    page.screenshot(path=str(screenshot_dir / "cash-flow-po-cost.png"), full_page=True)
    page.get_by_role("button", name="Create purchase order", exact=True).click()

    page.wait_for_url(re.compile(r"/dashboard/purchase-orders/\d+/$"))
    row = page.locator("tbody tr").first.inner_text().split("\t")
    assert row[:5] == ["SHADE-1", "Linen shade", "12", "0", "12"]
    expect(page.get_by_label("Unit cost of SHADE-1")).to_have_value("7.50")
    expect(page.locator("tbody tr").first).to_contain_text("$90.00")
    expect(page.locator(".stat", has_text="PO total")).to_contain_text("$90.00")
    page.screenshot(path=str(screenshot_dir / "cash-flow-po-page.png"), full_page=True)

    # A better price agreed later: the line's cost changes on the PO page.
    page.get_by_label("Unit cost of SHADE-1").fill("8")
    page.get_by_role("button", name="Save cost").click()
    expect(page.get_by_text("SHADE-1 on PO-")).to_contain_text("$8.00")
    expect(page.locator(".stat", has_text="PO total")).to_contain_text("$96.00")
    page.get_by_label("Unit cost of SHADE-1").fill("7.50")
    page.get_by_role("button", name="Save cost").click()
    expect(page.locator(".stat", has_text="PO total")).to_contain_text("$90.00")

    page.goto(f"{live_server.url}/dashboard/reports/")
    page.get_by_role("link", name="Cash flow").click()
    page.wait_for_url(re.compile(r"/dashboard/reports/cash-flow/$"))
    expect(page.locator(".stat", has_text="Committed in open POs")).to_contain_text("$90.00")
    expect(page.locator(".stat", has_text="Expected at shipment, next 4 weeks")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.get_by_role("link", name=re.compile(r"^PO-\d+$"))).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "cash-flow.png"), full_page=True)

    with page.expect_download() as download:
        page.locator("#table-po-commitments").get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "cash-flow-po-commitments.csv"

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "cash-flow-phone.png"), full_page=True)
    context.close()

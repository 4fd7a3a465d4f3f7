"""Purchase orders in Chromium: a manager writes a draft by hand and sends it, receives part of
a line (the waiting customer gets it), and cancels an order using the keyboard alone.

Everything the test needs from the database is made before the browser starts: the ORM must
not run while Playwright's event loop is alive.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from inventory.services import PurchaseLineRequest, supplier_create
from orders.selectors import store_today
from orders.services import purchase_order_create
from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import CustomerFactory, ProductFactory, place_order
from tests.shown import shown

pytestmark = pytest.mark.django_db(transaction=True)


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


@dataclass
class Supply:
    supplier: str
    po_id: int
    po_number: str
    waiting_order: str


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


@pytest.fixture
def supply() -> Supply:
    """Ada waits for 2 lamps; a sent purchase order brings 5 in 6 days."""
    lamp = ProductFactory(sku="LAMP-1", name="Brass desk lamp", on_hand=0, lead_time_days=14)
    ProductFactory(sku="SHADE-1", name="Linen shade", on_hand=0)
    waiting = place_order((lamp, 2), customer=CustomerFactory(email="ada@example.com"))
    acme = supplier_create(name="Acme Lighting", lead_time_days=10)
    po = purchase_order_create(
        supplier=acme, lines=[PurchaseLineRequest(lamp, 5, day(6))], send=True
    )
    return Supply(acme.name, po.pk, po.number, waiting.number)


def open_page(browser, live_server, username: str, path: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, username)
    page.goto(f"{live_server.url}{path}")
    return context, page


def message(page) -> str:
    return page.locator(".message").first.inner_text()


def test_a_manager_creates_a_draft_po_then_sends_it(
    live_server, supply, manager, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, manager, "/dashboard/purchase-orders/new/")
    page.get_by_label("Supplier:").select_option(label=supply.supplier)
    page.get_by_label("Note").fill("Autumn restock")
    page.get_by_label("SKU, line 1").fill("SHADE-1")
    page.get_by_label("Quantity, line 1").fill("12")
    page.get_by_label("Expected date, line 1").fill(day(20).isoformat())
    page.screenshot(path=str(screenshot_dir / "po-new-filled.png"), full_page=True)
    page.get_by_role("button", name="Create purchase order").click()

    page.wait_for_url(re.compile(r"/dashboard/purchase-orders/\d+/$"))
    assert re.fullmatch(r"PO-\d+ saved as draft\.", message(page))
    assert page.get_by_role("heading", level=1).inner_text().endswith("Draft")
    expect(page.get_by_text("send first")).to_be_visible()
    expect(page.get_by_text("Created with 1 line")).to_be_visible()
    assert page.locator("tbody tr").first.inner_text().split("\t")[:3] == [
        "SHADE-1",
        "Linen shade",
        "12",
    ]

    page.get_by_role("button", name="Send to supplier").click()
    page.wait_for_load_state()
    assert re.fullmatch(r"PO-\d+ sent; the ETAs it covers are updated\.", message(page))
    assert page.get_by_role("heading", level=1).inner_text().endswith("Sent")
    expect(page.get_by_label("Units of SHADE-1 received")).to_be_visible()
    expect(page.get_by_text(shown(day(20))).first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "po-sent.png"), full_page=True)
    context.close()


def test_a_manager_receives_part_of_a_po_line(
    live_server, supply, manager, browser, screenshot_dir
):
    path = f"/dashboard/purchase-orders/{supply.po_id}/"
    context, page = open_page(browser, live_server, manager, path)
    page.get_by_label("Units of LAMP-1 received").fill("3")
    page.get_by_role("button", name="Receive").click()

    page.wait_for_load_state()
    assert message(page) == (
        f"Received 3 × LAMP-1 on {supply.po_number}; 1 waiting order got stock "
        "(1 now allocated in full)."
    )
    outstanding = page.locator(".stat", has_text="Units outstanding").locator(".value")
    assert outstanding.inner_text() == "2"
    page.screenshot(path=str(screenshot_dir / "po-received.png"), full_page=True)
    context.close()


def test_a_manager_cancels_a_po_by_keyboard_alone(
    live_server, supply, manager, browser, screenshot_dir
):
    path = f"/dashboard/purchase-orders/{supply.po_id}/"
    context, page = open_page(browser, live_server, manager, path)
    reason = page.get_by_label("Reason")
    for _ in range(60):
        page.keyboard.press("Tab")
        if reason.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("The cancel reason cannot be reached with Tab")
    page.keyboard.type("Supplier closed for the season")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Cancel purchase order"
    page.keyboard.press("Enter")

    page.wait_for_load_state()
    assert message(page) == f"{supply.po_number} cancelled."
    assert page.get_by_role("heading", level=1).inner_text().endswith("Cancelled")
    expect(page.get_by_text("Supplier closed for the season").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "po-cancelled.png"), full_page=True)
    context.close()

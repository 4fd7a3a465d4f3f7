"""Suppliers in Chromium: a manager opens the scorecards, sorts them by on-time rate and
follows a supplier to its receipts.

The history is written before the browser starts, with the clock set back to each delivery:
the ORM must not run while Playwright's event loop is alive.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from config.calendar import store_today
from inventory.services import PurchaseLineRequest, supplier_create
from orders.services import (
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
)
from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def deliveries(name: str, slips: list[int]) -> None:
    """Lines sent 40 days ago, promised 30 days ago, each arriving `slip` days off."""
    supplier = supplier_create(name=name, lead_time_days=10)
    # At 17:00 UTC, midday in the store: whole days added across the end of summer time
    # (early November) never cross the store's midnight.
    start = (timezone.now() - dt.timedelta(days=40)).replace(hour=17, minute=0)
    for n, slip in enumerate(slips):
        with time_machine.travel(start, tick=False) as clock:
            promised = store_today() + dt.timedelta(days=10)
            product = ProductFactory(sku=f"{name[:3].upper()}-{n}", on_hand=0)
            line = purchase_order_create(
                supplier=supplier,
                lines=[PurchaseLineRequest(product, 12, promised)],
                send=True,
            ).lines.get()
            if slip > 0:
                purchase_order_line_reschedule(
                    line=line, expected_date=promised + dt.timedelta(days=slip), reason="Late"
                )
            clock.move_to(start + dt.timedelta(days=10 + slip))
            purchase_order_line_receive(line=line, quantity=12 if slip < 4 else 9)


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


@pytest.fixture
def history() -> None:
    deliveries("Acme Lighting", [0, 2, 5, -1, 0])
    deliveries("Brightside Textiles", [0, -2, 0])


def test_a_manager_compares_suppliers_and_opens_one(
    live_server, history, manager, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, manager)
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("link", name="Suppliers", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suppliers")

    rows = page.locator("tbody tr")
    assert rows.nth(0).inner_text().split("\t")[:3] == ["Acme Lighting", "5", "60%"]
    page.screenshot(path=str(screenshot_dir / "suppliers.png"), full_page=True)

    page.get_by_role("link", name="On time").click()
    expect(rows.nth(0)).to_contain_text(re.compile(r"^\s*Brightside Textiles"))
    assert page.locator('th[aria-sort="descending"]').inner_text().lower().startswith("on time")

    page.get_by_role("link", name="Acme Lighting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Lighting")
    assert "5 receipts in the last 180 days" in page.locator(".definition").inner_text()
    assert page.locator("tbody tr").count() == 5
    assert "5 days late" in page.locator("tbody").inner_text()
    page.screenshot(path=str(screenshot_dir / "supplier.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/dashboard/suppliers/")
    page.screenshot(path=str(screenshot_dir / "suppliers-390.png"), full_page=True)
    context.close()

"""The backorder queue as a list in Chromium: staff sort it by a column header, narrow it to one
supplier's products and lines at risk, and keep the sort while filtering; then page through it.

Screenshots go to BROWSER_SCREENSHOT_DIR (e.g. test-artifacts/): queue-sorted-filtered.png
(Acme's waiting lines, most units first) and queue-sorted-filtered-390.png (the same at phone
width). Everything the test needs from the database is made before the browser starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from inventory.services import supplier_create
from orders.models import OrderLine
from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "/dashboard/queue/"


@dataclass
class Shop:
    # Acme's waiting lines by units waiting, most first; the Bolt line.
    acme_by_units: list[str]
    bolt: str


@pytest.fixture
def shop() -> Shop:
    """Nothing on hand. Acme makes lamps and shades, Bolt makes kettles: Cleo waits for 1 lamp,
    Abe for 5 shades, Bea for 3 lamps; Dan for 2 kettles."""
    acme = supplier_create(name="Acme Lighting", email="acme@example.com")
    bolt = supplier_create(name="Bolt Kitchen", email="bolt@example.com")
    lamp = ProductFactory(sku="LAMP-1", name="Brass desk lamp", on_hand=0, preferred_supplier=acme)
    shade = ProductFactory(sku="SHADE-2", name="Linen shade", on_hand=0, preferred_supplier=acme)
    kettle = ProductFactory(sku="KETTLE-3", name="Kettle", on_hand=0, preferred_supplier=bolt)

    def buyer(name: str):
        return CustomerFactory(email=f"{name.lower()}@example.com", name=name)

    cleo = place_order((lamp, 1), customer=buyer("Cleo"))
    abe = place_order((shade, 5), customer=buyer("Abe"))
    bea = place_order((lamp, 3), customer=buyer("Bea"))
    dan = place_order((kettle, 2), customer=buyer("Dan"))
    assert OrderLine.objects.filter(quantity_backordered__gt=0).count() == 4
    return Shop([abe.number, bea.number, cleo.number], dan.number)


@pytest.fixture
def operator() -> str:
    return staff("olivia", "Operations")


def row_orders(page) -> list[str]:
    return page.locator("tr[data-row] td[data-label=Order] a").all_inner_texts()


def test_sort_and_filter_the_queue(live_server, operator, shop, browser, screenshot_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, operator)
    page.goto(f"{live_server.url}{QUEUE}")
    assert len(row_orders(page)) == 4

    # Sort by customer name: click the header.
    page.get_by_role("link", name="Customer", exact=True).click()
    page.wait_for_url(re.compile(r"sort=customer"))
    assert page.locator("th[aria-sort=ascending]").text_content().startswith("Customer")

    # Narrow to Acme's products: the sort stays.
    page.get_by_label("Supplier").select_option(label="Acme Lighting")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"supplier=\d+"))
    assert "sort=customer" in page.url
    assert row_orders(page) == [shop.acme_by_units[i] for i in (0, 1, 2)]  # Abe, Bea, Cleo
    assert shop.bolt not in row_orders(page)

    # Then most units waiting first: the filter stays.
    page.get_by_role("link", name="Waiting", exact=True).click()
    page.wait_for_url(re.compile(r"sort=-waiting"))
    assert re.search(r"supplier=\d+", page.url)
    assert row_orders(page) == shop.acme_by_units
    header = page.locator("th[aria-sort=descending]")
    assert header.text_content().startswith("Waiting")
    expect(page.get_by_text("3 waiting lines, sorted by waiting, descending")).to_be_visible()
    waiting = page.locator("tr[data-row] td[data-label=Waiting]").all_inner_texts()
    assert [text.split()[0] for text in waiting] == ["5", "3", "1"]
    page.screenshot(path=str(screenshot_dir / "queue-sorted-filtered.png"), full_page=True)
    sorted_and_filtered = page.url

    # "/" jumps to the search, "j" moves along the rows.
    page.keyboard.press("j")
    assert shop.acme_by_units[0] in page.locator("tr.row-focus").inner_text()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "queue-q"

    # At risk narrows further: no Acme line is at risk (no ship-by dates yet).
    page.keyboard.press("Escape")
    page.get_by_label("only lines at risk").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"at_risk=1"))
    assert row_orders(page) == []
    expect(page.get_by_text("No waiting line matches these filters")).to_be_visible()
    page.get_by_role("link", name="Show the whole queue").click()
    page.wait_for_url(re.compile(r"/dashboard/queue/$"))
    assert len(row_orders(page)) == 4

    # On a phone the page never scrolls sideways.
    page.goto(sorted_and_filtered)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshot_dir / "queue-sorted-filtered-390.png"), full_page=True)
    context.close()

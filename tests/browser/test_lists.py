"""The lists at work in a real browser: find an order by SKU from the search, print the packing
slips of ticked orders, ship ticked orders, save a view, follow every overview card to its exact
list, and move through a list by keyboard.

Screenshots go to BROWSER_SCREENSHOT_DIR (e.g. test-artifacts/): dashboard-orders-search-sku.png
(one order found by its SKU), dashboard-orders-390.png (the same at phone width),
dashboard-packing-slips.png (two slips, one per ticked order),
dashboard-orders-bulk-shipped.png (the summary after shipping two ticked orders),
dashboard-orders-saved-view.png (a saved view chosen), dashboard-card-<label>.png (each card's
list), dashboard-orders-keyboard.png (the second row focused by "j j") and
dashboard-orders-keys-help.png (the "?" overlay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.browser.test_dashboard_flows import log_in, manager, operator
from tests.dashboard.test_overview import build_shop
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)
WIDTH, HEIGHT = 1280, 900


@dataclass
class Shop:
    lamp_order: Order
    cable_orders: list[Order]


@pytest.fixture
def shop() -> Shop:
    """A lamp order (the lamp waits) and three cable orders ready to ship."""
    lamp = ProductFactory(sku="LAMP-7", name="Brass lamp", on_hand=0, lead_time_days=10)
    cable = ProductFactory(sku="CABLE-3", name="Braided cable", on_hand=10)
    lamp_order = place_order((lamp, 1), customer=CustomerFactory(email="ada@example.com"))
    cables = [place_order((cable, 1 + i)) for i in range(3)]
    return Shop(lamp_order, cables)


__all__ = ["manager", "operator"]  # fixtures shared with the other dashboard flows


@pytest.fixture
def overview_shop() -> None:
    build_shop()


def open_page(browser, live_server, username: str):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, username)
    return context, page


def test_find_an_order_by_sku_from_the_search(live_server, operator, shop, browser, screenshot_dir):
    context, page = open_page(browser, live_server, operator)

    page.goto(f"{live_server.url}/dashboard/orders/")
    page.keyboard.press("/")
    search = page.get_by_label("Search")
    assert page.evaluate("document.activeElement.id") == "q"
    search.type("lamp-7")
    search.press("Enter")
    page.wait_for_url(re.compile(r"q=lamp-7"))

    rows = page.locator("tr[data-row]")
    assert rows.count() == 1
    assert shop.lamp_order.number in rows.first.inner_text()
    expect(page.get_by_text("1 order matches")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "dashboard-orders-search-sku.png"), full_page=True)
    # On a phone the table scrolls inside its card; the page itself never scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshot_dir / "dashboard-orders-390.png"), full_page=True)
    context.close()


def test_print_the_packing_slips_of_ticked_orders(
    live_server, operator, shop, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, operator)
    first, second = shop.cable_orders[0], shop.cable_orders[1]

    page.goto(f"{live_server.url}/dashboard/orders/")
    page.get_by_label(f"Select {first.number}").check()
    page.get_by_label(f"Select {second.number}").check()
    with context.expect_page() as opened:
        page.get_by_role("button", name="Print packing slips").click()
    slips = opened.value
    slips.wait_for_load_state()

    expect(slips.get_by_role("heading", name="Packing slips · 2 orders")).to_be_visible()
    assert slips.locator("article.slip").count() == 2
    text = slips.locator("main").inner_text()
    assert f"Order {first.number}" in text
    assert f"Order {second.number}" in text
    assert shop.lamp_order.number not in text
    expect(slips.get_by_role("button", name="Print all")).to_be_visible()
    slips.screenshot(path=str(screenshot_dir / "dashboard-packing-slips.png"), full_page=True)
    context.close()


def test_ship_ticked_orders_and_save_the_view(live_server, operator, shop, browser, screenshot_dir):
    context, page = open_page(browser, live_server, operator)
    first, second = shop.cable_orders[0], shop.cable_orders[1]

    page.goto(f"{live_server.url}/dashboard/orders/?q=cable-3")
    page.get_by_label(f"Select {first.number}").check()
    page.get_by_label(f"Select {second.number}").check()
    page.get_by_role("button", name="Ship", exact=True).click()
    page.wait_for_url(re.compile(r"/dashboard/orders/\?q=cable-3"))
    message = page.locator(".message").first.inner_text()
    assert message == f"Shipped 2 orders: {first.number}, {second.number}."
    assert page.locator("tr[data-row]").filter(has_text="Shipped").count() == 2
    page.screenshot(path=str(screenshot_dir / "dashboard-orders-bulk-shipped.png"), full_page=True)

    page.get_by_label("Name of this view").fill("Cables")
    page.get_by_role("button", name="Save view").click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/dashboard/orders/")
    page.get_by_role("link", name="Cables", exact=True).click()
    page.wait_for_url(re.compile(r"q=cable-3"))
    assert page.locator("tr[data-row]").count() == 3
    page.screenshot(path=str(screenshot_dir / "dashboard-orders-saved-view.png"), full_page=True)
    context.close()


# The cards whose figure is a number of rows on the list they open.
COUNTED_CARDS = [
    "Backordered lines",
    "Orders waiting",
    "Lines at risk",
    "Notices awaiting answers",
    "Refunds due",
    "Customers unreachable",
]


def test_every_overview_card_opens_exactly_what_it_counts(
    live_server, manager, overview_shop, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, manager)

    for label in COUNTED_CARDS:
        page.goto(f"{live_server.url}/dashboard/")
        card = page.locator("a.stat").filter(has=page.locator(".label", has_text=label))
        value = int(card.locator(".value").inner_text().replace(",", ""))
        card.click()
        page.wait_for_load_state()
        if "#refunds" in page.url:
            rows = page.locator("#refunds tbody tr")
        else:
            rows = page.locator("tr[data-row]")
        assert rows.count() == value, label
        name = re.sub(r"\W+", "-", label.lower())
        page.screenshot(path=str(screenshot_dir / f"dashboard-card-{name}.png"), full_page=True)
    context.close()


def test_move_through_the_orders_by_keyboard(live_server, operator, shop, browser, screenshot_dir):
    context, page = open_page(browser, live_server, operator)
    newest_first = [o.number for o in reversed([shop.lamp_order, *shop.cable_orders])]

    page.goto(f"{live_server.url}/dashboard/orders/")
    page.keyboard.press("j")
    page.keyboard.press("j")
    focused = page.locator("tr.row-focus")
    assert focused.count() == 1
    assert newest_first[1] in focused.inner_text()
    page.screenshot(path=str(screenshot_dir / "dashboard-orders-keyboard.png"))
    page.keyboard.press("k")
    assert newest_first[0] in page.locator("tr.row-focus").inner_text()

    page.keyboard.press("?")
    help_overlay = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_overlay).to_be_visible()
    assert "Search this list" in help_overlay.inner_text()
    page.screenshot(path=str(screenshot_dir / "dashboard-orders-keys-help.png"))
    page.keyboard.press("Escape")
    expect(help_overlay).to_be_hidden()

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/orders/\d+/$"))
    assert newest_first[0] in page.locator("h1").inner_text()
    context.close()


@pytest.fixture
def saved_view(manager) -> None:
    from django.contrib.auth import get_user_model

    from dashboard.models import SavedView

    user = get_user_model().objects.get(username=manager)
    SavedView.objects.create(user=user, list_name="orders", name="Lamps", query="q=lamp-7")


def test_a_manager_cancels_ticked_orders_with_one_reason_and_deletes_a_view(
    live_server, manager, shop, saved_view, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, manager)
    first, second = shop.cable_orders[0], shop.cable_orders[1]

    page.goto(f"{live_server.url}/dashboard/orders/")
    page.get_by_label(f"Select {first.number}").check()
    page.get_by_label(f"Select {second.number}").check()
    page.get_by_label("Reason for cancelling").fill("Duplicate orders from the shop")
    page.get_by_role("button", name="Cancel orders").click()
    page.wait_for_load_state()
    message = page.locator(".message").first.inner_text()
    assert message == f"Cancelled 2 orders: {first.number}, {second.number}."
    assert page.locator("tr[data-row]").filter(has_text="Cancelled").count() == 2
    page.screenshot(path=str(screenshot_dir / "dashboard-orders-bulk-cancelled.png"))

    page.get_by_role("button", name="Delete the view Lamps").click()
    page.wait_for_load_state()
    assert page.locator(".message").first.inner_text() == "Deleted the view “Lamps”."
    assert page.get_by_role("link", name="Lamps", exact=True).count() == 0
    context.close()

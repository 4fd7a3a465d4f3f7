"""The new-order form by keyboard: Enter in a line row checks that row's availability and stays
put; Enter in any other field places the order, as the "Place order" button does."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.browser.test_dashboard_flows import HEIGHT, WIDTH, log_in, staff
from tests.browser.test_double_submit import in_another_thread
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator() -> str:
    ProductFactory(sku="CAB-1", name="Braided cable", on_hand=10)
    ProductFactory(sku="LAMP-1", name="Desk lamp", on_hand=0, lead_time_days=10)
    return staff("olivia", "Operations")


def test_enter_checks_a_line_then_places_the_order(live_server, operator, browser, screenshot_dir):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, operator)
    page.goto(f"{live_server.url}/dashboard/orders/new/")
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))

    def focused() -> str:
        return page.evaluate("document.activeElement.id")

    # Lines first, as a caller reads them out: Enter shows each line's availability at once.
    page.locator("#id_lines-0-sku").focus()
    page.keyboard.type("LAMP-1")
    page.keyboard.press("Tab")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.locator("#quote-0")).to_contain_text("Backorder 2 backordered; ETA")
    assert focused() == "id_lines-0-quantity"
    page.keyboard.press("Tab")
    page.keyboard.type("CAB-1")
    page.keyboard.press("Enter")  # in the SKU field: quoted for one unit until a quantity is given
    expect(page.locator("#quote-1")).to_contain_text("In stock Ships now.")
    assert focused() == "id_lines-1-sku"
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    expect(page.locator("#quote-1")).to_contain_text("In stock All 3 ship now.")
    assert focused() == "id_lines-1-quantity"
    assert posts == []  # nothing was sent, let alone placed
    page.screenshot(path=str(screenshot_dir / "order-new-enter-in-lines.png"), full_page=True)

    # Enter in a customer field places the order; what is missing is said, lines kept.
    page.locator("#id_customer_email").focus()
    page.keyboard.type("pat@example.com")
    page.keyboard.press("Enter")
    expect(page.locator("#order-errors")).to_have_text("Please correct the fields marked below.")
    assert page.url.endswith("/dashboard/orders/new/")
    assert page.locator("#id_lines-1-quantity").input_value() == "3"
    expect(page.locator("#quote-1")).to_contain_text("All 3 ship now.")

    for label, value in [
        ("Customer name", "Pat Phone"),
        ("Ship to (name)", "Pat Phone"),
        ("Address line 1", "12 Harbour Road"),
        ("City", "Portland"),
        ("Postal code", "97201"),
    ]:
        page.get_by_label(label).focus()
        page.keyboard.type(value)
    page.keyboard.press("Enter")  # in the postal code field
    page.wait_for_url(re.compile(r"/dashboard/orders/\d+/$"))
    expect(page.locator(".message")).to_contain_text("placed; confirmation email queued.")
    page.screenshot(path=str(screenshot_dir / "order-new-placed-by-enter.png"), full_page=True)
    context.close()

    placed = in_another_thread(
        lambda: sorted(
            Order.objects.get().lines.values_list("product__sku", "quantity", "quantity_allocated")
        )
    )
    assert placed == [("CAB-1", 3, 3), ("LAMP-1", 2, 0)]
    assert len(posts) == 2  # the refused one and the placed one

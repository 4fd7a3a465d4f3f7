"""A phone order with a shipping address, typed in a real browser, then its packing slip."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_dashboard_flows import HEIGHT, WIDTH, log_in, staff
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator() -> str:
    ProductFactory(sku="CAB-1", name="Braided cable", on_hand=10)
    ProductFactory(sku="LAMP-1", name="Desk lamp", on_hand=0)
    return staff("olivia", "Operations")


def test_a_phone_order_with_an_address_shows_it_on_its_packing_slip(
    live_server, operator, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, operator)

    page.goto(f"{live_server.url}/dashboard/orders/new/")
    page.get_by_label("Customer email").fill("pat@example.com")
    page.get_by_label("Customer name").fill("Pat Phone")
    page.get_by_label("Ship to (name)").fill("Pat Phone")
    page.get_by_label("Phone").fill("+1 503 555 0100")
    page.get_by_label("Address line 1").fill("12 Harbour Road")
    page.get_by_label("Address line 2").fill("Flat 3")
    page.get_by_label("City").fill("Portland")
    page.get_by_label("State or region").fill("OR")
    page.get_by_label("Postal code").fill("97201")
    page.get_by_label("Country").select_option("US")
    page.fill("#id_lines-0-sku", "CAB-1")
    page.fill("#id_lines-0-quantity", "2")
    page.fill("#id_lines-1-sku", "LAMP-1")
    page.fill("#id_lines-1-quantity", "1")
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(re.compile(r"/dashboard/orders/\d+/$"))
    order_id = re.search(r"/orders/(\d+)/$", page.url).group(1)  # type: ignore[union-attr]
    ship_to = page.locator("address.ship-to")
    assert ship_to.inner_text().splitlines() == [
        "Pat Phone",
        "12 Harbour Road",
        "Flat 3",
        "Portland, OR 97201",
        "US",
        "Phone +1 503 555 0100",
    ]

    page.goto(f"{live_server.url}/dashboard/ship/{order_id}/packing-slip/")
    slip_address = page.locator(".slip-head address.ship-to")
    assert slip_address.inner_text().splitlines() == [
        "Pat Phone",
        "12 Harbour Road",
        "Flat 3",
        "Portland, OR 97201",
        "US",
        "Phone +1 503 555 0100",
    ]
    assert "Still to come" in page.content()
    page.screenshot(path=str(screenshot_dir / "packing-slip-with-address.png"), full_page=True)
    context.close()

"""Large figures fit on screen: the overview's money card at desktop and phone widths, the
chart axis of a six-figure count, and a long product name in the queue (wrapped, never cut)."""

from __future__ import annotations

import pytest

from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)

LONG_NAME = "Professional cast-iron enamelled casserole with self-basting lid, 7.5 litres"


@pytest.fixture
def big_shop() -> str:
    """$4,004,603.60 and 100,000 units waiting."""
    pan = ProductFactory(sku="PAN-1", name=LONG_NAME, on_hand=0, unit_price="40.05")
    place_order((pan, 99_990), customer=CustomerFactory(email="bulk@example.com"))
    crate = ProductFactory(sku="CRATE-1", name="Crate", on_hand=0, unit_price="0.41")
    place_order((crate, 10), customer=CustomerFactory(email="crates@example.com"))
    return staff("morgan", "Managers")


@pytest.mark.parametrize(("name", "width"), [("desktop", 1280), ("phone", 390)])
def test_big_figures_are_shown_whole(live_server, big_shop, browser, screenshot_dir, name, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, big_shop)

    card = page.locator(".stat", has_text="Revenue waiting").locator(".value")
    assert card.inner_text() == "$4,004,603.60"
    clipped = card.evaluate("e => e.scrollWidth > e.clientWidth || e.getClientRects().length > 1")
    assert not clipped
    ticks = page.locator("svg.chart").first.locator("text").all_text_contents()
    assert "100k" in ticks
    assert not any(t.startswith("00,") for t in ticks)
    page.screenshot(path=str(screenshot_dir / f"overview-big-figures-{name}.png"), full_page=True)

    page.goto(f"{live_server.url}/dashboard/queue/")
    product = page.locator("td[data-label=Product] .product-name").first
    assert product.inner_text() == LONG_NAME
    assert product.get_attribute("title") == LONG_NAME
    page.screenshot(path=str(screenshot_dir / f"queue-long-name-{name}.png"), full_page=True)
    context.close()

"""A customer opens their order's status page on a laptop and on a phone."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from orders.selectors import order_status_token
from tests.orders.test_views import MixedOrder, day, place_mixed_order, words

pytestmark = pytest.mark.django_db(transaction=True)

HANDLING = settings.ETA_HANDLING_DAYS


@pytest.fixture
def mixed() -> MixedOrder:
    return place_mixed_order()


@pytest.mark.parametrize(("name", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)])
def test_customer_reads_their_order_status(
    live_server, mixed: MixedOrder, browser, screenshot_dir, name: str, width: int, height: int
):
    url = live_server.url + reverse("customer:status", args=[order_status_token(order=mixed.order)])
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()

    response = page.goto(url)

    assert response is not None
    assert response.status == 200
    assert response.headers["referrer-policy"] == "same-origin"
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == f"Order {mixed.order.number}"
    expect(heading).to_be_visible()
    eta = page.get_by_text(f"expected to ship by {words(day(5 + HANDLING))}")
    expect(eta).to_be_visible()
    expect(page.get_by_text("no date yet")).to_be_visible()
    expect(page.get_by_text("1Z999AA10123456784")).to_be_visible()
    expect(page.get_by_role("link", name=settings.STORE_SUPPORT_EMAIL)).to_be_visible()
    # The stylesheet loaded, and nothing is wider than the screen.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if name == "phone":
        # The items table has collapsed into cards: no column headings, labelled quantities.
        expect(page.locator(".cs-items thead")).to_be_hidden()
        expect(page.get_by_text("Ordered: 3")).to_be_visible()

    page.screenshot(path=str(screenshot_dir / f"status-{name}.png"), full_page=True)
    context.close()

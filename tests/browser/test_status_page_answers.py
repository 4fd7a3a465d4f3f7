"""A customer answers a delay notice on their order's page in Chromium, on a laptop and on a
phone, with CSRF checked exactly as in production, and reads the page that follows.

Everything the test needs from the database is made before the browser starts: the ORM must
not run while Playwright's event loop is alive in this thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from compliance.models import OrderCompliance
from compliance.services import rule_run
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import Order
from orders.selectors import order_status_token, store_today
from orders.services import purchase_order_create
from tests.factories import CustomerFactory, ProductFactory, place_order, receive

pytestmark = pytest.mark.django_db(transaction=True)

HANDLING = settings.ETA_HANDLING_DAYS
THANKS = "Thank you: we have your answer and have emailed you a confirmation."
WIDTHS = [("desktop", 1280, 900), ("phone", 390, 844)]


def words(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


@dataclass
class Delayed:
    url: str
    order: Order
    revised: dt.date


def delayed_order(*, stock_arrived: bool = False) -> Delayed:
    """Promised for 3 days from now; the supplier delivers in 10: a branch S notice offers
    every answer (wait until the date, wait whatever the date, a substitute, cancel)."""
    today = store_today()
    mk2 = ProductFactory(name="Desk Lamp Mk2", unit_price=Decimal("45.00"), on_hand=4)
    lamp = ProductFactory(
        name="Desk Lamp",
        unit_price=Decimal("40.00"),
        on_hand=0,
        lead_time_days=None,
        substitutes=[mk2],
    )
    purchase_order_create(
        supplier=supplier_create(name="Lamps Inc"),
        lines=[PurchaseLineRequest(lamp, 5, today + dt.timedelta(days=10))],
        send=True,
    )
    order = place_order(
        (lamp, 1),
        customer=CustomerFactory(email="jane@example.com", name="Jane Doe"),
        promised_ship_date=today + dt.timedelta(days=3),
        shipping_charge=Decimal("5.95"),
    )
    rule_run()
    assert OrderCompliance.objects.get(order=order).state == OrderCompliance.State.NOTICE_SENT
    if stock_arrived:
        receive(lamp, 1)
        rule_run()
    return Delayed(
        url=reverse("customer:status", args=[order_status_token(order=order)]),
        order=order,
        revised=today + dt.timedelta(days=10 + HANDLING),
    )


@pytest.fixture
def delayed() -> Delayed:
    return delayed_order()


@pytest.fixture
def arrived() -> Delayed:
    return delayed_order(stock_arrived=True)


def answer_in_chromium(
    browser,
    live_server,
    screenshot_dir,
    *,
    url: str,
    button: str,
    shot: str,
    width: int,
    height: int,
):
    """Open the page, click the button, and return the page that follows (and the POST's
    status), with a screenshot of each."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    first = page.goto(live_server.url + url)
    assert first is not None
    assert first.status == 200
    assert first.headers["referrer-policy"] == "same-origin"
    page.screenshot(path=str(screenshot_dir / f"{shot}-before.png"), full_page=True)
    target = page.get_by_role("button", name=button, exact=True)
    expect(target).to_be_visible()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        target.click()
    page.wait_for_load_state()
    # Chromium sent its real Origin and the CSRF check accepted it.
    assert posted.value.request.headers.get("origin") == live_server.url
    page.screenshot(path=str(screenshot_dir / f"{shot}-after.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    return page, context, posted.value.status


@pytest.mark.parametrize(("name", "width", "height"), WIDTHS)
def test_ill_wait_until_the_date(
    delayed: Delayed, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    page, context, status = answer_in_chromium(
        browser,
        live_server,
        screenshot_dir,
        url=delayed.url,
        button=f"I'll wait until {words(delayed.revised)}",
        shot=f"answer-wait-until-{name}",
        width=width,
        height=height,
    )

    assert status == 302
    expect(page.get_by_text(THANKS)).to_be_visible()
    assert page.get_by_role("heading", name="Your order is delayed: please choose").count() == 0
    assert page.get_by_role("button").count() == 0
    expect(page.get_by_text("Waiting for stock")).to_be_visible()
    context.close()


@pytest.mark.parametrize(("name", "width", "height"), WIDTHS)
def test_ill_wait_whatever_the_date(
    delayed: Delayed, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    page, context, status = answer_in_chromium(
        browser,
        live_server,
        screenshot_dir,
        url=delayed.url,
        button="I'll wait, whatever the date",
        shot=f"answer-wait-indefinitely-{name}",
        width=width,
        height=height,
    )

    assert status == 302
    expect(page.get_by_text(THANKS)).to_be_visible()
    expect(page.get_by_text("You agreed to wait, whatever the date.")).to_be_visible()
    # The right to cancel before shipment stays, offered plainly.
    expect(page.get_by_role("button", name="Cancel before it ships")).to_be_visible()
    assert page.get_by_role("heading", name="Your order is delayed: please choose").count() == 0
    context.close()


@pytest.mark.parametrize(("name", "width", "height"), WIDTHS)
def test_send_the_substitute_instead(
    delayed: Delayed, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    page, context, status = answer_in_chromium(
        browser,
        live_server,
        screenshot_dir,
        url=delayed.url,
        button="Send Desk Lamp Mk2 instead of Desk Lamp",
        shot=f"answer-substitute-{name}",
        width=width,
        height=height,
    )

    assert status == 302
    expect(page.get_by_text(THANKS)).to_be_visible()
    substitute = page.locator(".cs-item", has_text="Desk Lamp Mk2")
    assert "1 in stock and set aside for you; it ships soon." in substitute.inner_text()
    assert page.get_by_role("button").count() == 0
    context.close()


@pytest.mark.parametrize(("name", "width", "height"), WIDTHS)
def test_cancel_and_refund(
    delayed: Delayed, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    page, context, status = answer_in_chromium(
        browser,
        live_server,
        screenshot_dir,
        url=delayed.url,
        button="Cancel and refund",
        shot=f"answer-cancel-{name}",
        width=width,
        height=height,
    )

    assert status == 302
    expect(page.get_by_text(THANKS)).to_be_visible()
    assert page.locator(".cs-status").inner_text() == "Cancelled"
    refund = page.locator(".cs-refund")
    expect(refund).to_be_visible()
    assert "$45.95" in refund.inner_text()
    assert "Not yet issued" in refund.inner_text()
    assert page.get_by_role("button").count() == 0
    context.close()


@pytest.mark.parametrize(("name", "width", "height"), WIDTHS)
def test_cancel_before_it_ships_once_the_stock_arrived(
    arrived: Delayed, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    delayed = arrived
    page, context, status = answer_in_chromium(
        browser,
        live_server,
        screenshot_dir,
        url=delayed.url,
        button="Cancel before it ships",
        shot=f"cancel-before-it-ships-{name}",
        width=width,
        height=height,
    )

    assert status == 302
    expect(page.get_by_text("Your order is cancelled. Your refund is shown below")).to_be_visible()
    assert page.locator(".cs-status").inner_text() == "Cancelled"
    assert "$45.95" in page.locator(".cs-refund").inner_text()
    assert page.get_by_role("button").count() == 0
    context.close()


@pytest.mark.parametrize(("name", "width", "height"), WIDTHS)
def test_once_the_stock_arrived_the_page_no_longer_says_delayed(
    arrived: Delayed, live_server, browser, screenshot_dir, name: str, width: int, height: int
):
    delayed = arrived
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(live_server.url + delayed.url)

    assert page.locator(".cs-status").inner_text() == "Being prepared"
    assert "delayed" not in page.locator("main").inner_text()
    expect(page.get_by_role("heading", name="Changed your mind?")).to_be_visible()
    assert [b.inner_text() for b in page.get_by_role("button").all()] == ["Cancel before it ships"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(screenshot_dir / f"stock-arrived-{name}.png"), full_page=True)
    context.close()

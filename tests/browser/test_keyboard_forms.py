"""Forms worked by keyboard alone, Tab and Enter, never the mouse: staff log in, change an
order's delivery in its dialog (and leave it with Escape), and a customer answers a delay notice.
(The queue's prioritise, a purchase order's cancel and the new-order form have their own
keyboard tests; receiving, shipping, the order page's dialogs, a new purchase order and the
orders list's filters are in test_keyboard_staff_forms.py.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.browser.test_csp import PASSWORD
from tests.browser.test_dashboard_flows import HEIGHT, WIDTH, staff
from tests.browser.test_status_page_answers import THANKS, Delayed, words
from tests.browser.test_status_page_answers import delayed as delayed  # noqa: PLC0414 - fixture
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)


def tab_to(page, accessible: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element's label, text or value starts with `accessible`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement;
                       const label = e.labels && e.labels.length ? e.labels[0].innerText : "";
                       return (label || e.innerText || e.value || "").trim(); }"""
        )
        if focused.startswith(accessible):
            return
    raise AssertionError(f"Tab never reached {accessible!r}")


def log_in_by_keyboard(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/dashboard/login/")
    tab_to(page, "Username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/$"))


@pytest.fixture
def order() -> Order:
    phone = ProductFactory(sku="PHONE-1", name="Rotary phone", on_hand=2)
    return place_order((phone, 1), customer=CustomerFactory(email="ada@example.com", name="Ada"))


@pytest.fixture
def operator() -> str:
    return staff("olivia", "Operations")


def test_staff_log_in_and_change_a_delivery_by_keyboard_alone(
    live_server, operator, order, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in_by_keyboard(page, live_server, operator)
    expect(page.get_by_role("button", name=f"Log out {operator}")).to_be_visible()

    page.goto(f"{live_server.url}/dashboard/orders/{order.pk}/")
    tab_to(page, "Change delivery…")
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Change the delivery")
    expect(dialog).to_be_visible()
    assert page.evaluate("document.activeElement.name") == "ship_preference"
    page.keyboard.press("Escape")  # changed one's mind: nothing sent, back where one was
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.innerText") == "Change delivery…"

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    for label, value in [
        ("Ship to (name)", "Ada Lovelace"),
        ("Address line 1", "1 Analytical Way"),
        ("City", "Boston"),
        ("Postal code", "02110"),
        ("Country", "US"),  # typed on the list: it picks the country
        ("Why (optional)", "customer moved"),
    ]:
        tab_to(page, label, limit=12)
        page.keyboard.type(value)
    page.screenshot(path=str(screenshot_dir / "keyboard-change-delivery.png"))
    page.keyboard.press("Enter")  # in the last field: sends the dialog's form
    expect(page.get_by_text("delivery changed for everything not yet shipped.")).to_be_visible()
    assert page.locator("address.ship-to").inner_text().splitlines()[:3] == [
        "Ada Lovelace",
        "1 Analytical Way",
        "Boston 02110",
    ]
    context.close()


def test_a_customer_answers_a_delay_notice_by_keyboard_alone(
    live_server, delayed: Delayed, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(live_server.url + delayed.url)
    choice = f"I'll wait until {words(delayed.revised)}"
    tab_to(page, choice)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.get_by_text(THANKS)).to_be_visible()
    assert page.get_by_role("button").count() == 0
    page.screenshot(path=str(screenshot_dir / "keyboard-consent-answered.png"), full_page=True)
    context.close()

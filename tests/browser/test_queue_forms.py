"""The queue's two write forms in Chromium: a manager prioritises a waiting line using the
keyboard alone, and staff cancel a waiting line with a reason.

Everything the test needs from the database is made before the browser starts: the ORM must
not run while Playwright's event loop is alive.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "/dashboard/queue/"


@dataclass
class Queue:
    first: str
    second: str
    second_id: int


@pytest.fixture
def queue() -> Queue:
    """Nothing on hand: Ada waits for 2 kettles, then Ben (unpaid) for 1."""
    kettle = ProductFactory(sku="KETTLE-1", name="Stovetop kettle, enamel", on_hand=0)
    ada = place_order((kettle, 2), customer=CustomerFactory(email="ada@example.com", name="Ada"))
    ben = place_order(
        (kettle, 1), customer=CustomerFactory(email="ben@example.com", name="Ben"), paid=False
    )
    return Queue(ada.number, ben.number, ben.pk)


def open_queue(browser, live_server, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, username)
    page.goto(f"{live_server.url}{QUEUE}")
    return context, page


def row_orders(page) -> list[str]:
    return page.locator("table.data tbody tr td[data-label=Order] a").all_inner_texts()


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


@pytest.fixture
def operator() -> str:
    return staff("olivia", "Operations")


def test_a_manager_prioritises_a_line_by_keyboard_alone(
    live_server, queue, manager, browser, screenshot_dir
):
    context, page = open_queue(browser, live_server, manager)
    assert row_orders(page) == [queue.first, queue.second]

    # Tab to Ben's "Prioritise…", open its dialog with Enter, Tab to the reason, type it and
    # send it with Enter.
    prioritise = page.locator("tbody tr").nth(1).get_by_role("link", name="Prioritise…")
    for _ in range(80):
        page.keyboard.press("Tab")
        if prioritise.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("Prioritise cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    for _ in range(10):
        if page.evaluate("document.activeElement.name") == "reason":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.type("Replacement for a broken one")
    page.screenshot(path=str(screenshot_dir / "queue-prioritise-keyboard.png"))
    page.keyboard.press("Enter")

    page.wait_for_load_state()
    message = page.locator(".message").first.inner_text()
    assert message == f"{queue.second}: KETTLE-1 moved to the front of its queue."
    assert row_orders(page) == [queue.second, queue.first]
    page.screenshot(path=str(screenshot_dir / "queue-prioritised.png"), full_page=True)
    context.close()


def test_staff_cancel_a_waiting_line_from_the_queue(
    live_server, queue, operator, browser, screenshot_dir
):
    context, page = open_queue(browser, live_server, operator)
    page.locator("tbody tr").nth(1).get_by_role("link", name="Cancel…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Why").select_option("customer")
    dialog.get_by_label("Reason").fill("Ordered by mistake")
    page.screenshot(path=str(screenshot_dir / "queue-cancel-form.png"))
    dialog.get_by_role("button", name="Cancel", exact=True).click()

    page.wait_for_load_state()
    message = page.locator(".message").first.inner_text()
    assert message == (
        f"{queue.second}: cancelled 1 × KETTLE-1. Any refund owed is on the order page."
    )
    assert row_orders(page) == [queue.first]
    page.goto(f"{live_server.url}/dashboard/orders/{queue.second_id}/")
    expect(page.get_by_text("Ordered by mistake").first).to_be_visible()
    context.close()

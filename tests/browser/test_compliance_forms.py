"""The Mail Order Rule's staff forms in a real browser: a manager marks a refund issued, records
a refund that failed and that a customer was told of a delay by phone; staff are refused, with
the reason, when they try to ship an order after its deadline.

Screenshots go to BROWSER_SCREENSHOT_DIR. Everything the test needs from the database is made
before the browser starts: the ORM must not run while Playwright's event loop is alive.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from compliance.models import NoticeFollowUp, OrderCompliance
from compliance.services import order_rule_evaluate
from notifications.models import Notification
from orders.models import Order
from orders.selectors import store_today
from orders.services import add_working_days, order_cancel
from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import CustomerFactory, ProductFactory, place_order, rule_deadline_set
from tests.shown import shown

pytestmark = pytest.mark.django_db(transaction=True)
User = get_user_model()

SCREEN = "/dashboard/compliance/"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


# Which browser test submits each of these forms: tests/browser/test_dashboard_forms.py.


@dataclass
class Owed:
    """What the screen shows, read before the browser starts."""

    refund_order: str
    refund_amount: Decimal
    waiting_order: str
    waiting_order_id: int


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


@pytest.fixture
def operator() -> str:
    return staff("olivia", "Operations")


@pytest.fixture
def owed() -> Owed:
    """A cancelled order whose refund of 80.00 is owed, and a waiting order whose delay notice
    bounced, so staff must tell the customer another way."""
    vase = ProductFactory(sku="VASE-1", name="Stoneware vase", on_hand=5, unit_price="40.00")
    cancelled = place_order((vase, 2), customer=CustomerFactory(email="ada@example.com"))
    order_cancel(order=cancelled, reason="The customer asked")
    stool = ProductFactory(sku="STOOL-1", name="Oak stool", on_hand=0, lead_time_days=None)
    waiting = place_order(
        (stool, 1), customer=CustomerFactory(email="ben@example.com", name="Ben Okafor")
    )
    order_rule_evaluate(order_id=waiting.pk)
    Notification.objects.filter(order=waiting, kind=Notification.Kind.DELAY_NOTICE).update(
        state=Notification.State.BOUNCED
    )
    order_rule_evaluate(order_id=waiting.pk)
    assert NoticeFollowUp.objects.filter(order=waiting, done_at__isnull=True).exists()
    return Owed(cancelled.number, cancelled.refunds.get().amount, waiting.number, waiting.pk)


def open_screen(browser, live_server, username: str, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, username)
    page.goto(f"{live_server.url}{SCREEN}")
    return context, page


def message(page) -> str:
    return page.locator(".message").first.inner_text()


def assert_fits(page) -> None:
    """Nothing sticks out sideways: the page scrolls only down."""
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_manager_records_a_failed_refund_and_sees_it_owed_another_way(
    live_server, manager, owed, browser, screenshot_dir
):
    number = owed.refund_order
    new_due = add_working_days(store_today(), 7)
    context, page = open_screen(browser, live_server, manager)

    row = page.locator("#refunds").get_by_role("row").filter(has_text=number)
    row.get_by_text("Refund failed?").click()
    row.get_by_label("Why it failed").fill("The card is closed")
    row.get_by_label("Owed instead by").select_option(label="Money order")
    row.screenshot(path=str(screenshot_dir / "dashboard-compliance-refund-failed-form.png"))
    row.get_by_role("button", name="Record failure").click()
    page.wait_for_url(re.compile(rf"{SCREEN}$"))

    assert message(page) == (
        f"The refund of ${owed.refund_amount:,} on {number} failed: it is now owed by money order "
        f"by {shown(new_due)}."
    )
    failed = page.locator("#failed-refunds").get_by_role("row").filter(has_text=number)
    expect(failed.get_by_role("cell", name=shown(new_due))).to_be_visible()
    expect(failed.get_by_role("cell", name="The card is closed")).to_be_visible()
    expect(failed.get_by_role("cell", name="Money order")).to_be_visible()
    # Still owed, so still listed to be marked issued, and no longer offered to fail again.
    due = page.locator("#refunds").get_by_role("row").filter(has_text=number)
    expect(due.get_by_text("owed by money order")).to_be_visible()
    assert due.get_by_text("Refund failed?").count() == 0
    # The follow-up of the bounced notice is still open beside it.
    expect(page.locator("#follow-ups").get_by_text(owed.waiting_order)).to_be_visible()
    assert_fits(page)
    page.screenshot(path=str(screenshot_dir / "dashboard-compliance-owed.png"), full_page=True)
    context.close()

    context, page = open_screen(browser, live_server, manager, viewport=PHONE)
    expect(page.locator("#failed-refunds").get_by_text("The card is closed")).to_be_visible()
    assert_fits(page)
    for section in ("refunds", "follow-ups"):
        # The forms sit at the right of wide tables, which scroll sideways inside their card.
        wrap = page.locator(f"#{section} .table-wrap")
        wrap.evaluate("node => { node.scrollLeft = node.scrollWidth; }")
        expect(page.locator(f"#{section} form").first.get_by_role("button")).to_be_visible()
        page.locator(f"#{section}").screenshot(
            path=str(screenshot_dir / f"dashboard-compliance-{section}-phone.png")
        )
    page.screenshot(
        path=str(screenshot_dir / "dashboard-compliance-owed-phone.png"), full_page=True
    )
    context.close()


def test_a_failed_refund_without_a_reason_is_refused_with_a_message(
    live_server, manager, owed, browser
):
    number = owed.refund_order
    context, page = open_screen(browser, live_server, manager)
    row = page.locator("#refunds").get_by_role("row").filter(has_text=number)
    row.get_by_text("Refund failed?").click()
    row.get_by_label("Why it failed").fill("   ")  # spaces pass the browser's own check
    row.get_by_role("button", name="Record failure").click()
    page.wait_for_url(re.compile(rf"{SCREEN}$"))

    assert message(page) == (
        f"The refund of ${owed.refund_amount:,} on {number} was not marked failed: "
        "Say why the refund failed (e.g. the card is closed)."
    )
    expect(page.locator("#failed-refunds").get_by_text("No refund has failed.")).to_be_visible()
    context.close()


def test_a_manager_records_that_the_customer_was_told_by_phone(
    live_server, manager, owed, browser, screenshot_dir
):
    number = owed.waiting_order
    context, page = open_screen(browser, live_server, manager)

    row = page.locator("#follow-ups").get_by_role("row").filter(has_text=number)
    expect(row.get_by_text("The delay notice: its email bounced")).to_be_visible()
    row.get_by_label("How they were told").fill("Phoned Ben and read the notice")
    row.get_by_role("button", name="Told").click()
    page.wait_for_url(re.compile(rf"{SCREEN}$"))

    assert message(page) == (
        f"The delay notice of {number} is recorded as given: Phoned Ben and read the notice."
    )
    follow_ups = page.locator("#follow-ups")
    expect(follow_ups.get_by_text("Every delay notice reached its customer.")).to_be_visible()
    # The bounced email stays on record, with the other way the customer was told.
    notice = page.locator("#notices").get_by_role("row").filter(has_text=number)
    expect(notice.get_by_text("Bounced")).to_be_visible()
    expect(notice.get_by_text(f"told another way {shown(store_today())}")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "dashboard-compliance-told.png"), full_page=True)

    # The order's record says how the customer was told.
    page.get_by_role("link", name=number).first.click()
    page.wait_for_url(re.compile(rf"/dashboard/orders/{owed.waiting_order_id}/$"))
    expect(page.get_by_text("Delay notice given another way: Phoned Ben").first).to_be_visible()
    context.close()


def test_a_manager_marks_a_refund_issued(live_server, manager, owed, browser):
    number = owed.refund_order
    context, page = open_screen(browser, live_server, manager)

    row = page.locator("#refunds").get_by_role("row").filter(has_text=number)
    row.get_by_label("Reference").fill("re_3PxQ2")
    row.get_by_role("button", name="Mark issued").click()
    page.wait_for_url(re.compile(rf"{SCREEN}$"))

    assert message(page) == (
        f"The refund of ${owed.refund_amount:,} on {number} is marked issued (reference re_3PxQ2)."
    )
    expect(page.locator("#refunds").get_by_text("No refund is owed.")).to_be_visible()
    context.close()


def test_a_manager_marks_a_refund_issued_from_the_order_page_and_stays_there(
    live_server, manager, owed, browser
):
    context, page = open_screen(browser, live_server, manager)
    page.locator("#refunds").get_by_role("link", name=owed.refund_order).click()
    page.wait_for_url(re.compile(r"/dashboard/orders/\d+/$"))
    order_url = page.url

    refunds = page.get_by_role("region", name="Refunds")
    refunds.get_by_label("Reference").fill("check 1042")
    refunds.get_by_role("button", name="Mark issued").click()
    page.wait_for_load_state()

    assert page.url == order_url
    assert message(page) == (
        f"The refund of ${owed.refund_amount:,} on {owed.refund_order} is marked issued "
        "(reference check 1042)."
    )
    expect(refunds.get_by_text("issued").first).to_be_visible()
    expect(refunds.get_by_text("check 1042")).to_be_visible()
    context.close()


def test_a_manager_downloads_the_records_of_a_period(live_server, manager, owed, browser):
    context, page = open_screen(browser, live_server, manager)
    with page.expect_download() as download:
        page.locator("#export").get_by_role("button").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert owed.refund_order in text
    assert owed.waiting_order in text
    context.close()


LATE_DEADLINE = store_today() - dt.timedelta(days=10)


@pytest.fixture
def late_order() -> Order:
    """In stock and ready to ship, but paid 40 days ago: its deadline passed 10 days ago without
    a notice, and the hourly run has not cancelled it yet."""
    chair = ProductFactory(sku="CHAIR-1", name="Ash chair", on_hand=1, unit_price="90.00")
    order = place_order((chair, 1), customer=CustomerFactory(email="cy@example.com"))
    long_ago = timezone.now() - dt.timedelta(days=40)
    Order.objects.filter(pk=order.pk).update(placed_at=long_ago, paid_at=long_ago)
    OrderCompliance.objects.filter(order=order).update(properly_completed_at=long_ago)
    rule_deadline_set(order, LATE_DEADLINE)
    return order


def test_shipping_an_order_after_its_deadline_is_refused_with_the_reason(
    live_server, operator, late_order, browser, screenshot_dir
):
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, operator)
    page.goto(f"{live_server.url}/dashboard/ship/{late_order.pk}/")
    page.get_by_label("Tracking number").fill("1Z999AA10123456784")
    page.get_by_role("button", name="Create shipment").click()
    page.wait_for_load_state()

    alert = page.get_by_role("alert").filter(has_text="cannot ship")
    expect(alert).to_be_visible()
    assert alert.inner_text() == (
        f"Order {late_order.number} cannot ship: under the Mail Order Rule it had to ship by "
        f"{shown(LATE_DEADLINE)} and the customer has not agreed to a later date. The delayed "
        "items must be cancelled and refunded instead."
    )
    # The page says the same date above the form.
    expect(page.locator("p", has_text=f"ship by {shown(LATE_DEADLINE)}")).to_be_visible()
    assert page.url.endswith(f"/dashboard/ship/{late_order.pk}/")  # no packing slip
    shipped = page.get_by_role("row").filter(has_text="CHAIR-1").locator('[data-label="Shipped"]')
    assert shipped.inner_text() == "0"
    assert_fits(page)
    page.screenshot(path=str(screenshot_dir / "dashboard-ship-refused.png"), full_page=True)
    context.close()

"""Staff at work in a real browser: receive stock and ship the first order in the queue; a
manager moves a purchase order's date after previewing who it affects.

Screenshots of each main screen go to BROWSER_SCREENSHOT_DIR (e.g. test-artifacts/screenshots).
Everything the test needs from the database is made before the browser starts: the ORM must
not run while Playwright's event loop is alive in this thread.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import expect

from config.formats import format_date
from dashboard.access import GROUPS
from inventory.models import Product, PurchaseOrder
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import Order
from orders.selectors import store_today
from orders.services import purchase_order_create
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "staff-password"  # noqa: S105 - UserFactory's test password
TRACKING = "1Z999AA10123456784"
WIDTH, HEIGHT = 1280, 900


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


@dataclass
class Waiting:
    product: Product
    first: Order
    second: Order


def staff(username: str, group: str) -> str:
    # A transactional test flushes the tables, and with them the groups the migration made;
    # the permissions come back (post_migrate), so the groups are rebuilt from them.
    group_row, _ = Group.objects.get_or_create(name=group)
    group_row.permissions.set(
        Permission.objects.filter(content_type__app_label="dashboard", codename__in=GROUPS[group])
    )
    user = UserFactory(username=username)
    user.groups.add(group_row)
    return username


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next=/dashboard/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))


@pytest.fixture
def operator() -> str:
    return staff("olivia", "Operations")


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


@pytest.fixture
def waiting_for_lamps() -> Waiting:
    """Nothing on hand; Ada waits for 2 lamps, then Ben for 3."""
    lamp = ProductFactory(sku="LAMP-1", name="Brass desk lamp", on_hand=0, lead_time_days=14)
    first = place_order((lamp, 2), customer=CustomerFactory(email="ada@example.com", name="Ada"))
    second = place_order((lamp, 3), customer=CustomerFactory(email="ben@example.com", name="Ben"))
    return Waiting(lamp, first, second)


@dataclass
class Slipping:
    purchase_order: PurchaseOrder
    first: Order
    last: Order


@pytest.fixture
def slipping_po() -> Slipping:
    """A sent PO of 4 lamps due in 5 days covers Ada and Ben; Cy waits on the lead time."""
    lamp = ProductFactory(sku="LAMP-2", name="Floor lamp", on_hand=0, lead_time_days=30)
    po = purchase_order_create(
        supplier=supplier_create(name="Acme Lighting", lead_time_days=30),
        lines=[PurchaseLineRequest(lamp, 4, day(5))],
        send=True,
    )
    orders = [
        place_order((lamp, quantity), customer=CustomerFactory(email=email, name=name))
        for name, email, quantity in [
            ("Ada", "ada@example.com", 2),
            ("Ben", "ben@example.com", 2),
            ("Cy", "cy@example.com", 1),
        ]
    ]
    return Slipping(po, orders[0], orders[-1])


def test_staff_receive_stock_and_ship_the_first_order_in_the_queue(
    live_server, operator, waiting_for_lamps, browser, screenshot_dir
):
    first = waiting_for_lamps.first
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, operator)

    # Receive: 2 lamps arrive; they go to Ada, first in the queue.
    page.goto(f"{live_server.url}/dashboard/receive/")
    page.get_by_label(re.compile(r"^SKU:?$")).fill("LAMP-1")
    page.get_by_label(re.compile(r"^Quantity:?$")).fill("2")
    page.get_by_role("button", name="Receive", exact=True).click()
    page.wait_for_load_state()
    result = page.get_by_role("row").filter(has_text=first.number)
    expect(result.get_by_text("Ready to ship")).to_be_visible()
    assert page.get_by_role("row").filter(has_text=waiting_for_lamps.second.number).count() == 0
    page.screenshot(path=str(screenshot_dir / "dashboard-receive.png"), full_page=True)

    # Ship Ada's order with a tracking number.
    page.goto(f"{live_server.url}/dashboard/ship/{first.pk}/")
    assert first.number in page.content()
    page.get_by_label("Tracking number").fill(TRACKING)
    page.screenshot(path=str(screenshot_dir / "dashboard-ship-order.png"), full_page=True)
    page.get_by_role("button", name=re.compile(r"\bship", re.IGNORECASE)).click()
    page.wait_for_load_state()
    expect(page.get_by_text(TRACKING).first).to_be_visible()

    # The order page shows the shipment email the customer got.
    page.goto(f"{live_server.url}/dashboard/orders/{first.pk}/")
    expect(page.get_by_text(f"Order {first.number} has shipped").first).to_be_visible()
    expect(page.get_by_text(TRACKING).first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "dashboard-order-shipped.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    context.close()


def test_a_manager_previews_and_saves_a_later_expected_date(
    live_server, manager, slipping_po, browser, screenshot_dir
):
    po = slipping_po.purchase_order
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, manager)

    page.goto(f"{live_server.url}/dashboard/purchase-orders/")
    page.get_by_role("link", name=po.number).click()
    page.wait_for_url(re.compile(rf"/dashboard/purchase-orders/{po.pk}/$"))
    page.screenshot(path=str(screenshot_dir / "dashboard-purchase-order.png"), full_page=True)

    page.get_by_role("link", name="Change expected date of LAMP-2").click()
    page.get_by_label("New expected date").fill(day(12).isoformat())
    page.get_by_label("Reason").fill("Port strike in Rotterdam")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()

    # Ada and Ben move a week later; Cy stays on the lead time. Nothing is saved yet.
    assert page.get_by_test_id("orders-changed").inner_text() == "2"
    expect(page.get_by_text("+7 days")).to_be_visible()
    sample = page.get_by_role("table")
    expect(sample.get_by_role("row").filter(has_text=slipping_po.first.number)).to_be_visible()
    assert sample.get_by_role("row").filter(has_text=slipping_po.last.number).count() == 0
    page.screenshot(path=str(screenshot_dir / "dashboard-reschedule-preview.png"), full_page=True)

    page.get_by_role("button", name="Save new date").click()
    page.wait_for_url(re.compile(rf"/dashboard/purchase-orders/{po.pk}/$"))
    message = page.locator(".message")
    assert message.inner_text() == (
        f"{po.number}: LAMP-2 now expected {format_date(day(12))}. "
        "2 customers' ETAs moved; their emails are queued."
    )
    expect(page.get_by_text("Port strike in Rotterdam")).to_be_visible()  # the PO's history
    page.screenshot(path=str(screenshot_dir / "dashboard-reschedule-saved.png"), full_page=True)

    # Ada's order shows the ETA email waiting in the outbox.
    page.goto(f"{live_server.url}/dashboard/orders/{slipping_po.first.pk}/")
    email = page.get_by_role("article", name="ETA changed")
    expect(email).to_be_visible()
    assert "not sent yet" in email.inner_text()
    page.screenshot(path=str(screenshot_dir / "dashboard-order-eta-queued.png"), full_page=True)
    context.close()

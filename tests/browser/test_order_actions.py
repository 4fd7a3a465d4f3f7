"""Acting where you look, in a real browser: ship from the order page, apply a substitute
starting from the queue, record a money order's payment then ship it (and see shipping unpaid
refused without a reason), and open the last queue row's pop-up in full.

Screenshots go to BROWSER_SCREENSHOT_DIR (e.g. test-artifacts/). Everything the test needs from
the database is made before the browser starts: the ORM must not run while Playwright's event
loop is alive in this thread.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from compliance.services import rule_run
from notifications.models import Notification
from orders.models import Order
from orders.selectors import store_today
from tests.browser.test_dashboard_flows import log_in, staff
from tests.factories import CustomerFactory, ProductFactory, place_order, rule_deadline_set

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING = "1Z999AA10123456784"
WIDTH, HEIGHT = 1280, 900


@pytest.fixture
def operator() -> str:
    return staff("olivia", "Operations")


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


def open_page(browser, live_server, username: str, *, height: int = HEIGHT):
    context = browser.new_context(viewport={"width": WIDTH, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, username)
    return context, page


@pytest.fixture
def allocated_order() -> Order:
    phone = ProductFactory(sku="PHONE-1", name="Rotary phone", on_hand=2)
    cable = ProductFactory(sku="CABLE-1", name="Coiled cable", on_hand=0)
    return place_order(
        (phone, 2), (cable, 1), customer=CustomerFactory(email="ada@example.com", name="Ada")
    )


def test_staff_ship_an_order_from_its_page(
    live_server, operator, allocated_order, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, operator)

    page.goto(f"{live_server.url}/dashboard/orders/{allocated_order.pk}/")
    page.get_by_role("link", name="Ship…").click()
    ship = page.locator("section").filter(has=page.get_by_role("heading", name="Ship what"))
    assert ship.get_by_label(re.compile(r"PHONE-1")).input_value() == "2"
    ship.get_by_label("Tracking number").fill(TRACKING)
    page.screenshot(path=str(screenshot_dir / "order-page-ship.png"), full_page=True)
    ship.get_by_role("button", name="Create shipment").click()
    page.wait_for_url(re.compile(r"/packing-slip/"))
    expect(page.get_by_text(f"shipped 2 units, tracking {TRACKING}")).to_be_visible()

    page.goto(f"{live_server.url}/dashboard/orders/{allocated_order.pk}/")
    shipments = page.locator("section").filter(has=page.get_by_role("heading", name="Shipments"))
    expect(shipments.get_by_text(TRACKING)).to_be_visible()
    # Nothing allocated any more: no ship form; the cable still waits.
    assert page.get_by_role("heading", name="Ship what is allocated").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    context.close()


@dataclass
class Substitutable:
    order: Order
    original: str
    substitute: str


@pytest.fixture
def substitutable() -> Substitutable:
    spare = ProductFactory(sku="CABLE-2", name="Braided cable", on_hand=5)
    cable = ProductFactory(sku="CABLE-1", name="Coiled cable", on_hand=0, substitutes=[spare])
    order = place_order((cable, 2), customer=CustomerFactory(email="ben@example.com", name="Ben"))
    return Substitutable(order, cable.sku, spare.sku)


def test_staff_apply_a_substitute_starting_from_the_queue(
    live_server, operator, substitutable, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, operator)

    page.goto(f"{live_server.url}/dashboard/queue/")
    row = page.get_by_role("row").filter(has_text=substitutable.order.number)
    row.get_by_role("link", name="Substitute…").click()
    page.wait_for_url(re.compile(r"/substitute/"))
    page.get_by_label("Send instead").select_option(substitutable.substitute)
    page.get_by_label("How the customer accepted").fill("agreed by phone")
    page.screenshot(path=str(screenshot_dir / "substitute-from-queue.png"), full_page=True)
    page.get_by_role("button", name="Send the substitute instead").click()
    page.wait_for_url(re.compile(r"/dashboard/queue/"))
    expect(
        page.get_by_text(
            f"2 × {substitutable.substitute} sent instead of {substitutable.original}."
        )
    ).to_be_visible()
    assert page.get_by_role("row").filter(has_text=substitutable.order.number).count() == 0

    page.goto(f"{live_server.url}/dashboard/orders/{substitutable.order.pk}/")
    lines = page.locator("section").filter(has=page.get_by_role("heading", name="Lines"))
    expect(lines.get_by_text("2 substituted")).to_be_visible()
    expect(
        page.get_by_text(
            f"2 × {substitutable.substitute} instead of {substitutable.original}: agreed by phone"
        )
    ).to_be_visible()
    # On a phone the page still fits its width (wide tables scroll inside their card).
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshot_dir / "order-page-phone.png"), full_page=True)
    context.close()


@pytest.fixture
def money_order() -> Order:
    """A money order still in the post; and an older, paid order that must ship today."""
    lamp = ProductFactory(sku="LAMP-1", name="Brass desk lamp", on_hand=2, unit_price="40.00")
    due = place_order((lamp, 1), customer=CustomerFactory(email="dee@example.com", name="Dee"))
    unpaid = place_order(
        (lamp, 1),
        paid=False,
        payment_method=Order.PaymentMethod.MONEY_ORDER,
        customer=CustomerFactory(email="cy@example.com", name="Cy"),
    )
    rule_run()
    rule_deadline_set(due, store_today())
    return unpaid


def test_an_unpaid_order_is_flagged_refused_without_a_reason_then_paid_and_shipped(
    live_server, operator, money_order, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, operator)

    # The ship list flags it.
    page.goto(f"{live_server.url}/dashboard/ship/")
    row = page.get_by_role("row").filter(has_text=money_order.number)
    expect(row.get_by_text("Unpaid")).to_be_visible()
    # The order due today leads the list, highlighted.
    first_row = page.locator("tbody tr").first
    assert first_row.get_attribute("class") == "row-due"
    expect(first_row.get_by_text("due today")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "ship-list-due-and-unpaid.png"), full_page=True)

    # Shipping it unpaid without a reason is refused, and says what to do.
    row.get_by_role("link", name="Ship", exact=True).click()
    expect(page.get_by_text("Not paid yet.", exact=True)).to_be_visible()
    page.get_by_role("button", name="Create shipment").click()
    page.wait_for_load_state()
    expect(
        page.get_by_text(
            f"Order {money_order.number} is not paid yet (Money order): record the payment first, "
            "or give a reason to ship it unpaid."
        )
    ).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "ship-unpaid-refused.png"), full_page=True)

    # Record the payment from the order page's dialog, then ship from the same page.
    page.get_by_role("link", name="Record the payment on the order page").click()
    page.get_by_role("link", name="Record payment received…").click()
    dialog = page.locator("dialog#dialog-paid")
    expect(dialog).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "order-record-payment-dialog.png"))
    dialog.get_by_role("button", name="Record payment received").click()
    page.wait_for_load_state()
    expect(page.get_by_text("payment of 40.00 recorded; the order may ship.")).to_be_visible()
    assert page.get_by_label("Reason to ship before payment arrives").count() == 0
    page.get_by_role("button", name="Create shipment").click()
    page.wait_for_url(re.compile(r"/packing-slip/"))
    expect(page.get_by_text(f"{money_order.number}: shipped 1 unit")).to_be_visible()
    context.close()


@pytest.fixture
def long_queue() -> list[Order]:
    """Twelve customers wait for the same cable: the queue's last row is far down."""
    cable = ProductFactory(sku="CABLE-9", name="Spiral cable", on_hand=0)
    return [
        place_order((cable, 1), customer=CustomerFactory(email=f"q{n}@example.com"))
        for n in range(12)
    ]


def test_the_last_rows_prioritise_pop_up_is_seen_in_full(
    live_server, manager, long_queue, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, manager, height=700)
    last = long_queue[-1]

    page.goto(f"{live_server.url}/dashboard/queue/")
    row = page.get_by_role("row").filter(has_text=last.number)
    row.get_by_role("link", name="Prioritise…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    button = dialog.get_by_role("button", name="Move to the front")
    box = dialog.bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= 700
    # Nothing covers or clips it: the topmost element at the button's centre is the button.
    centre = button.bounding_box()
    assert centre is not None
    on_top = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).textContent.trim()",
        [centre["x"] + centre["width"] / 2, centre["y"] + centre["height"] / 2],
    )
    assert on_top == "Move to the front"
    page.screenshot(path=str(screenshot_dir / "queue-last-row-prioritise.png"))

    dialog.get_by_label("Reason").fill("VIP customer")
    button.click()
    page.wait_for_load_state()
    expect(
        page.get_by_text(f"{last.number}: CABLE-9 moved to the front of its queue.")
    ).to_be_visible()
    context.close()


@pytest.fixture
def paid_by_check() -> Order:
    """A paid check order: one line waiting, one allocated, its confirmation sent."""
    phone = ProductFactory(sku="PHONE-1", name="Rotary phone", on_hand=1)
    cable = ProductFactory(sku="CABLE-1", name="Coiled cable", on_hand=0)
    order = place_order(
        (phone, 1),
        (cable, 3),
        payment_method=Order.PaymentMethod.CHECK,
        customer=CustomerFactory(email="eve@example.com", name="Eve"),
    )
    Notification.objects.filter(order=order).update(state=Notification.State.SENT)
    return order


def test_a_manager_prioritises_cancels_resends_and_records_a_bounced_check(
    live_server, manager, paid_by_check, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, manager)
    number = paid_by_check.number
    page.goto(f"{live_server.url}/dashboard/orders/{paid_by_check.pk}/")

    page.get_by_role("link", name="Prioritise…").click()
    page.get_by_role("dialog").get_by_label("Reason").fill("VIP customer")
    page.get_by_role("dialog").get_by_role("button", name="Prioritise the order").click()
    page.wait_for_load_state()
    expect(page.get_by_text(f"{number}: every open line moved to the front")).to_be_visible()

    cable_row = page.get_by_role("row").filter(has_text="CABLE-1")
    cable_row.get_by_role("link", name="Cancel…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Quantity").fill("1")
    dialog.get_by_label("Reason").fill("asked by phone")
    page.screenshot(path=str(screenshot_dir / "order-cancel-line-dialog.png"))
    dialog.get_by_role("button", name="Cancel these units").click()
    page.wait_for_load_state()
    expect(page.get_by_text(f"{number}: cancelled 1 × CABLE-1.")).to_be_visible()

    page.get_by_role("button", name="Resend this email").first.click()
    page.wait_for_load_state()
    expect(page.get_by_text("Order confirmation queued again to eve@example.com")).to_be_visible()

    page.get_by_role("link", name="Payment dishonoured…").click()
    page.get_by_role("dialog").get_by_label("Reason").fill("the check bounced")
    page.get_by_role("dialog").get_by_role("button", name="Record dishonoured payment").click()
    page.wait_for_load_state()
    expect(page.get_by_text(f"{number}: payment recorded as dishonoured")).to_be_visible()
    timeline = page.locator(".timeline")
    expect(timeline.get_by_text("Payment dishonoured: the check bounced")).to_be_visible()
    # Now unpaid: the ship form asks for a reason to ship the allocated phone.
    expect(page.get_by_label("Reason to ship before payment arrives")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "order-after-manager-actions.png"), full_page=True)
    context.close()


@dataclass
class AtRisk:
    first_line: int
    first_number: str
    second_number: str


@pytest.fixture
def at_risk_lamps() -> AtRisk:
    """Lamps: 3 due in 5 days, 4 in 10. Ada's 2 arrive on day 6 and must ship by day 8; Ben's
    2 arrive on day 11 but must ship by day 8."""
    from inventory.services import PurchaseLineRequest, supplier_create
    from orders.services import purchase_order_create

    lamp = ProductFactory(sku="LAMP-3", name="Table lamp", on_hand=0, lead_time_days=30)
    supplier = supplier_create(name="Acme Lighting", email="orders@acme.example.com")
    first, second = (
        purchase_order_create(
            supplier=supplier,
            lines=[PurchaseLineRequest(lamp, units, store_today() + dt.timedelta(days=days))],
            send=True,
        )
        for units, days in ((3, 5), (4, 10))
    )
    ada = place_order((lamp, 2), customer=CustomerFactory(email="ada@example.com", name="Ada"))
    ben = place_order((lamp, 2), customer=CustomerFactory(email="ben@example.com", name="Ben"))
    rule_run()
    for order in (ada, ben):
        rule_deadline_set(order, store_today() + dt.timedelta(days=8))
    return AtRisk(first.lines.get().pk, first.number, second.number)


def test_a_manager_sees_notices_a_later_date_causes_and_which_supplier_to_chase(
    live_server, manager, at_risk_lamps, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, manager)

    page.goto(
        f"{live_server.url}/dashboard/purchase-orders/lines/{at_risk_lamps.first_line}/reschedule/"
    )
    later = store_today() + dt.timedelta(days=12)
    page.get_by_label(re.compile(r"expected", re.IGNORECASE)).fill(later.isoformat())
    page.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    warning = page.get_by_test_id("ship-by-warning")
    assert "1 customer pushed past their ship-by date." in warning.inner_text()
    assert page.get_by_test_id("delay-notices").inner_text() == "1"
    page.screenshot(path=str(screenshot_dir / "reschedule-preview-ship-by.png"), full_page=True)

    page.goto(f"{live_server.url}/dashboard/purchase-orders/")
    page.get_by_role("link", name="Which supplier to chase").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert at_risk_lamps.second_number in rows.first.inner_text()
    assert "0.10" in rows.first.inner_text()  # Ben saved by pulling in 10 days
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth")
    page.screenshot(path=str(screenshot_dir / "purchase-order-chase.png"), full_page=True)
    context.close()


def test_staff_change_an_orders_delivery_from_its_page(
    live_server, operator, allocated_order, browser, screenshot_dir
):
    context, page = open_page(browser, live_server, operator)

    page.goto(f"{live_server.url}/dashboard/orders/{allocated_order.pk}/")
    page.get_by_role("link", name="Change delivery…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Ship preference").select_option("ship_complete")
    dialog.get_by_label("Ship to (name)").fill("Ada Lovelace")
    dialog.get_by_label("Address line 1").fill("1 Analytical Way")
    dialog.get_by_label("City").fill("Boston")
    dialog.get_by_label("Postal code").fill("02110")
    dialog.get_by_label("Country").select_option("US")
    dialog.get_by_label("Why (optional)").fill("customer moved")
    # All of it fits a laptop screen (1280 × 900): nothing to scroll to reach the buttons.
    assert dialog.evaluate("d => d.scrollHeight <= d.clientHeight")
    box = dialog.bounding_box()
    assert box is not None
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= HEIGHT
    page.screenshot(path=str(screenshot_dir / "order-change-delivery-dialog.png"))
    dialog.get_by_role("button", name="Change the delivery").click()
    page.wait_for_load_state()
    expect(page.get_by_text("delivery changed for everything not yet shipped.")).to_be_visible()
    expect(page.locator("address.ship-to").get_by_text("1 Analytical Way")).to_be_visible()
    expect(page.locator(".timeline").get_by_text("customer moved")).to_be_visible()
    context.close()

"""The staff forms worked by keyboard alone (Tab, Shift+Tab, typing, Space and Enter on controls,
Escape on dialogs; never the mouse): receive stock and ship it, record a payment and cancel a
line in the order page's dialogs then mark the refund issued, write a purchase order, and filter
the orders list.

Screenshot: keyboard-ship-focused.png (the "Create shipment" button focused by Tab, its focus
ring showing).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from inventory.services import supplier_create
from orders.models import Order
from orders.selectors import store_today
from tests.browser.test_dashboard_flows import HEIGHT, WIDTH, Waiting, staff
from tests.browser.test_dashboard_flows import (
    waiting_for_lamps as waiting_for_lamps,  # noqa: PLC0414 - fixture
)
from tests.browser.test_keyboard_forms import log_in_by_keyboard
from tests.factories import CustomerFactory, ProductFactory, place_order
from tests.shown import shown

pytestmark = pytest.mark.django_db(transaction=True)

TRACKING = "1Z999AA10123456784"

# What a person hears for the focused control: its label, else its text, else its value.
FOCUSED = """() => { const e = document.activeElement;
  if (!e || e === document.body) return "";
  const labelled = e.labels && e.labels.length ? e.labels[0].innerText : "";
  const label = e.getAttribute("aria-label") || labelled;
  return (label || e.innerText || e.value || "").trim(); }"""


def focused(page) -> str:
    return page.evaluate(FOCUSED)


def tab_to(page, name: str, *, near: str = "", backwards: bool = False, limit: int = 90) -> None:
    """Press Tab (Shift+Tab backwards) until the focused control's name starts with `name` and,
    given `near`, its table row contains that text; the site's menu is passed over ("Supplier"
    is not the menu's "Suppliers")."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        in_menu = page.evaluate("!!document.activeElement.closest('nav')")
        if (
            not in_menu
            and focused(page).startswith(name)
            and (
                not near
                or page.evaluate(
                    "near => (document.activeElement.closest('tr') || {innerText: ''})"
                    ".innerText.includes(near)",
                    near,
                )
            )
        ):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def focus_in(page, selector: str) -> bool:
    return page.evaluate("s => !!document.activeElement.closest(s)", selector)


def keyboard_page(browser, live_server, username: str):
    # en-US: a date field takes its digits month, day, year.
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in_by_keyboard(page, live_server, username)
    return context, page


@pytest.fixture
def operator() -> str:
    return staff("olivia", "Operations")


@pytest.fixture
def manager() -> str:
    return staff("morgan", "Managers")


def test_staff_receive_stock_and_ship_it_by_keyboard_alone(
    live_server, operator, waiting_for_lamps: Waiting, browser, screenshot_dir
):
    first = waiting_for_lamps.first
    context, page = keyboard_page(browser, live_server, operator)

    page.goto(f"{live_server.url}/dashboard/receive/")
    # The SKU field has the focus already: a scanner (or a person) types straight away.
    assert page.evaluate("document.activeElement.name") == "sku"
    page.keyboard.type("LAMP-1")
    tab_to(page, "Quantity", limit=3)
    page.keyboard.type("3")  # Tab selected the 1 already there: 3 replaces it
    tab_to(page, "Reference", limit=3)
    page.keyboard.type("DN-1001")
    tab_to(page, "Quantity", backwards=True, limit=3)  # a second look at the note: 2, not 3
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Received 2 × LAMP-1 (DN-1001)")).to_be_visible()
    ada = page.get_by_role("row").filter(has_text=first.number)
    expect(ada.get_by_text("Ready to ship")).to_be_visible()
    assert page.get_by_role("row").filter(has_text=waiting_for_lamps.second.number).count() == 0
    assert page.evaluate("document.activeElement.name") == "sku"  # ready for the next delivery

    tab_to(page, "Ship", near=first.number)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/dashboard/ship/{first.pk}/$"))
    tab_to(page, "Units of LAMP-1 to ship")
    assert page.evaluate("document.activeElement.value") == "2"
    for label, value in [("Carrier", "UPS"), ("Tracking number", TRACKING)]:
        tab_to(page, label, limit=3)
        page.keyboard.type(value)
    tab_to(page, "Create shipment", limit=3)
    page.screenshot(path=str(screenshot_dir / "keyboard-ship-focused.png"))
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Space")
    page.wait_for_url(re.compile(r"/packing-slip/"))
    expect(page.get_by_text(f"shipped 2 units, tracking {TRACKING}")).to_be_visible()
    context.close()


@pytest.fixture
def money_order() -> Order:
    """A money order still in the post: a phone allocated, two cables waiting."""
    phone = ProductFactory(sku="PHONE-1", name="Rotary phone", on_hand=1, unit_price="40.00")
    cable = ProductFactory(sku="CABLE-1", name="Coiled cable", on_hand=0, unit_price="12.50")
    return place_order(
        (phone, 1),
        (cable, 2),
        paid=False,
        payment_method=Order.PaymentMethod.MONEY_ORDER,
        customer=CustomerFactory(email="cy@example.com", name="Cy"),
    )


def test_a_manager_records_a_payment_cancels_a_line_and_issues_the_refund_by_keyboard(
    live_server, manager, money_order, browser
):
    context, page = keyboard_page(browser, live_server, manager)
    page.goto(f"{live_server.url}/dashboard/orders/{money_order.pk}/")

    # Record the payment: the dialog opens on its field; Space on its button sends it.
    tab_to(page, "Record payment received…")
    page.keyboard.press("Enter")
    paid = page.get_by_role("dialog", name="Record payment received")
    expect(paid).to_be_visible()
    assert page.evaluate("document.activeElement.name") == "received_at"  # empty: now
    tab_to(page, "Record payment received", limit=12)
    assert focus_in(page, "dialog#dialog-paid")
    page.keyboard.press("Space")
    expect(page.get_by_text("recorded; the order may ship.")).to_be_visible()
    expect(page.get_by_role("link", name="Record payment received…")).to_have_count(0)

    # Cancel one of the waiting cables: Escape first leaves the dialog with nothing sent.
    tab_to(page, "Cancel…", near="CABLE-1")
    page.keyboard.press("Enter")
    cancel = page.get_by_role("dialog", name="Cancel CABLE-1")
    expect(cancel).to_be_visible()
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.press("Escape")
    expect(cancel).to_be_hidden()
    assert focused(page) == "Cancel…"
    assert page.evaluate("document.activeElement.closest('tr').innerText").startswith("Coiled")

    page.keyboard.press("Enter")
    expect(cancel).to_be_visible()
    page.keyboard.type("asked by phone")
    tab_to(page, "Cause", limit=2)
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == "shop"
    tab_to(page, "Quantity", limit=2)
    page.keyboard.type("1")  # replaces the 2 waiting, selected on the way in
    # Tab goes round the dialog and never onto the page behind it.
    for _ in range(8):
        page.keyboard.press("Tab")
        assert focus_in(page, "dialog#" + cancel.get_attribute("id")) or focused(page) == ""
    tab_to(page, "Cancel these units", limit=8)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"{money_order.number}: cancelled 1 × CABLE-1.")).to_be_visible()
    cable_row = page.get_by_role("row").filter(has_text="CABLE-1").first
    assert cable_row.inner_text().split("\t")[2:7] == ["2", "0", "0", "1", "1"]

    # The paid unit cancelled is owed back: mark the refund issued from its row.
    refunds = page.locator("section").filter(has=page.get_by_role("heading", name="Refunds"))
    expect(refunds.get_by_role("cell", name="$12.50", exact=True)).to_be_visible()
    tab_to(page, "Reference")
    assert focus_in(page, ".issue-form")
    page.keyboard.type("money order 7731")
    page.keyboard.press("Enter")
    expect(refunds.get_by_text("issued", exact=True)).to_be_visible()
    expect(refunds.get_by_text("money order 7731")).to_be_visible()
    context.close()


@pytest.fixture
def shade_supplier() -> str:
    ProductFactory(sku="SHADE-1", name="Linen shade", on_hand=0)
    return supplier_create(name="Acme Lighting", lead_time_days=10).name


def test_a_manager_writes_and_sends_a_purchase_order_by_keyboard_alone(
    live_server, manager, shade_supplier, browser
):
    expected = store_today() + dt.timedelta(days=20)
    context, page = keyboard_page(browser, live_server, manager)
    page.goto(f"{live_server.url}/dashboard/purchase-orders/new/")

    tab_to(page, "Supplier")
    page.keyboard.type("Acme")  # a list picks the option its typed letters begin
    assert page.evaluate("document.activeElement.selectedOptions[0].text") == shade_supplier
    tab_to(page, "Note", limit=2)
    page.keyboard.type("Autumn restock")
    tab_to(page, "SKU, line 1", limit=2)
    page.keyboard.type("SHADE-1")
    tab_to(page, "Quantity, line 1", limit=2)
    page.keyboard.type("12")
    tab_to(page, "Expected date, line 1", limit=2)
    page.keyboard.type(expected.strftime("%m%d%Y"))
    assert page.evaluate("document.activeElement.value") == expected.isoformat()
    tab_to(page, "Send to the supplier now")
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.checked") is True
    tab_to(page, "Create purchase order", limit=2)
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/dashboard/purchase-orders/\d+/$"))
    assert re.fullmatch(r"PO-\d+ sent\.", page.locator(".message").first.inner_text())
    assert page.get_by_role("heading", level=1).inner_text().endswith("Sent")
    assert page.locator("tbody tr").first.inner_text().split("\t")[:3] == [
        "SHADE-1",
        "Linen shade",
        "12",
    ]
    expect(page.get_by_text(shown(expected)).first).to_be_visible()
    context.close()


@dataclass
class Orders:
    ada_waiting: Order
    ada_ready: Order
    ben_waiting: Order


@pytest.fixture
def orders() -> Orders:
    lamp = ProductFactory(sku="LAMP-7", name="Brass lamp", on_hand=0)
    cable = ProductFactory(sku="CABLE-3", name="Braided cable", on_hand=5)
    ada = CustomerFactory(email="ada@example.com", name="Ada")
    return Orders(
        ada_waiting=place_order((lamp, 1), customer=ada),
        ada_ready=place_order((cable, 1), customer=ada),
        ben_waiting=place_order((lamp, 1), customer=CustomerFactory(email="ben@example.com")),
    )


def test_staff_filter_the_orders_list_by_keyboard_alone(live_server, operator, orders, browser):
    context, page = keyboard_page(browser, live_server, operator)
    page.goto(f"{live_server.url}/dashboard/orders/")

    tab_to(page, "Search")
    page.keyboard.type("ada@example.com")
    tab_to(page, "Status", limit=2)
    page.keyboard.type("B")  # the list jumps to "Backordered"
    assert page.evaluate("document.activeElement.value") == "backordered"
    page.keyboard.press("Enter")  # on the list itself: the filters apply

    page.wait_for_url(re.compile(r"q=ada%40example.com.*status=backordered"))
    rows = page.locator("tr[data-row]")
    expect(rows).to_have_count(1)
    assert orders.ada_waiting.number in rows.first.inner_text()
    expect(page.get_by_text("1 order matches")).to_be_visible()
    assert page.get_by_label("Search").input_value() == "ada@example.com"
    context.close()

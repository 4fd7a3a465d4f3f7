"""Three quick clicks in a real browser: one POST leaves it (the button disables itself), and
the server writes once whatever arrives."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from inventory.models import Stock, StockMovement
from notifications.models import Notification
from orders.models import Order
from tests.browser.test_dashboard_flows import HEIGHT, WIDTH, log_in, staff
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)


def in_another_thread(query: Callable[[], Any]) -> Any:
    """Run an ORM query while Playwright's event loop holds this thread."""

    def run() -> Any:
        try:
            return query()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@pytest.fixture
def shop() -> dict[str, Any]:
    return {
        "operator": staff("olivia", "Operations"),
        "cable": ProductFactory(sku="CAB-1", name="Braided cable", on_hand=10).pk,
        "phone": ProductFactory(sku="PHONE-1", name="Phone", on_hand=0).pk,
    }


def triple_click(page: Any, button: Any) -> int:
    """Click a form's button three times, the way an impatient finger does; the number of POSTs
    that left the browser. The form is sent into a frame so the page (and its button) stay to
    be clicked again, as they do while a slow answer is on its way."""
    button.evaluate(
        """b => { const sink = document.createElement("iframe"); sink.name = "sink";
                   document.body.append(sink); b.form.target = "sink"; }"""
    )
    posts: list[str] = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    with page.expect_response(lambda response: response.request.method == "POST"):
        button.click()
    # Forced: a disabled button is clicked all the same; it must not send the form again.
    button.click(force=True)
    button.click(force=True)
    assert button.is_disabled()
    return len(posts)


def test_triple_clicks_on_place_order_and_receive_write_once(
    live_server, shop, browser, screenshot_dir
):
    operator = shop["operator"]
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, operator)

    page.goto(f"{live_server.url}/dashboard/orders/new/")
    page.fill("#id_customer_email", "pat@example.com")
    page.fill("#id_customer_name", "Pat Phone")
    page.fill("#id_ship_to_name", "Pat Phone")
    page.fill("#id_ship_to_line1", "12 Harbour Road")
    page.fill("#id_ship_to_city", "Portland")
    page.fill("#id_ship_to_postal_code", "97201")
    page.fill("#id_lines-0-sku", "CAB-1")
    page.fill("#id_lines-0-quantity", "2")
    place = page.get_by_role("button", name="Place order")
    order_posts = triple_click(page, place)
    page.goto(f"{live_server.url}/dashboard/orders/?q=pat%40example.com")
    assert page.locator("tbody tr").count() == 1
    page.screenshot(path=str(screenshot_dir / "dashboard-order-placed-once.png"), full_page=True)

    page.goto(f"{live_server.url}/dashboard/receive/")
    page.get_by_label(re.compile(r"^SKU:?$")).fill("PHONE-1")
    page.get_by_label(re.compile(r"^Quantity:?$")).fill("5")
    receive = page.get_by_role("button", name="Receive", exact=True)
    receive_posts = triple_click(page, receive)
    page.goto(f"{live_server.url}/dashboard/products/?q=PHONE-1")
    page.screenshot(path=str(screenshot_dir / "dashboard-received-once.png"), full_page=True)
    context.close()

    assert (order_posts, receive_posts) == (1, 1)
    assert in_another_thread(lambda: Order.objects.count()) == 1
    assert (
        in_another_thread(
            lambda: Notification.objects.filter(kind=Notification.Kind.ORDER_CONFIRMATION).count()
        )
        == 1
    )
    assert in_another_thread(lambda: Stock.objects.get(pk=shop["phone"]).on_hand) == 5
    assert (
        in_another_thread(lambda: StockMovement.objects.filter(product_id=shop["phone"]).count())
        == 1
    )

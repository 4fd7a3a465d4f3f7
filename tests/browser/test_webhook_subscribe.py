"""In Chromium: an admin subscribes a shop to the goodwill and waitlist events; a shopper joins
a waitlist through the form, and the webhook log lists the waitlist.joined for the shop.

Everything the test needs from the database is made before the browser starts (reads after
it go through another thread).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from inventory.models import Product
from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from tests.browser.test_dashboard_flows import HEIGHT, PASSWORD, WIDTH
from tests.browser.test_double_submit import in_another_thread
from tests.factories import ProductFactory, UserFactory
from tests.storefront.webhook_server import WebhookServer, serve_webhooks

pytestmark = pytest.mark.django_db(transaction=True)

NEW_EVENTS = ["Goodwill granted", "Waitlist joined", "Waitlist invited"]


@pytest.fixture
def shop_endpoint() -> Iterator[WebhookServer]:
    with serve_webhooks() as server:
        yield server


@pytest.fixture
def shop() -> SalesChannel:
    UserFactory(username="root", is_staff=True, is_superuser=True)
    ProductFactory(
        sku="LAMP-1", name="Desk Lamp", on_hand=0, backorder_policy=Product.BackorderPolicy.DENY
    )
    return SalesChannel.objects.create(name="Corner Shop")


def test_an_admin_subscribes_a_shop_to_goodwill_and_waitlist_events(
    shop, shop_endpoint, live_server, browser, screenshot_dir
):
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/storefront/webhooksubscription/add/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/webhooksubscription/add/$"))

    page.get_by_label("Channel").select_option(label="Corner Shop")
    page.get_by_label("URL").fill(shop_endpoint.url)
    for label in NEW_EVENTS:
        page.get_by_label(label).check()
    page.screenshot(path=str(screenshot_dir / "webhook-subscribe.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/webhooksubscription/$"))

    page.goto(f"{live_server.url}/waitlist/LAMP-1/")
    page.get_by_label("Email address").fill("ann@example.com")
    page.get_by_role("button", name="Notify me").click()
    page.wait_for_url(re.compile(r"joined=1"))

    page.goto(f"{live_server.url}/dashboard/webhooks/")
    row = page.get_by_role("row", name=re.compile("waitlist.joined"))
    expect(row).to_contain_text("Corner Shop")
    expect(row).to_contain_text("Delivered")  # sent at once: tasks run in-process here
    page.screenshot(path=str(screenshot_dir / "webhook-log-waitlist.png"), full_page=True)
    context.close()

    subscription = in_another_thread(lambda: WebhookSubscription.objects.get())
    assert subscription.event_types == ["goodwill.granted", "waitlist.joined", "waitlist.invited"]
    delivery = in_another_thread(lambda: WebhookDelivery.objects.get())
    assert delivery.payload["data"]["email"] == "ann@example.com"
    assert shop_endpoint.event_ids == [str(delivery.event_id)]

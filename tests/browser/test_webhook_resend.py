"""In Chromium: a manager opens the webhook log, filters the failed deliveries and re-sends one;
the storefront's endpoint receives the same event (same id), signed, and the row turns
Delivered."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from tests.browser.test_dashboard_flows import HEIGHT, WIDTH, log_in, staff
from tests.browser.test_double_submit import in_another_thread
from tests.storefront.webhook_server import WebhookServer, serve_webhooks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop_endpoint() -> Iterator[WebhookServer]:
    with serve_webhooks() as server:
        yield server


@pytest.fixture
def failed_delivery(shop_endpoint: WebhookServer) -> WebhookDelivery:
    secret = "s"  # noqa: S105 - a test secret
    channel = SalesChannel.objects.create(name="Corner Shop", webhook_secret=secret)
    subscription = WebhookSubscription.objects.create(
        channel=channel, url=shop_endpoint.url, event_types=["shipment.created"]
    )
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="shipment.created",
        order_number="BO-000042",
        payload={"type": "shipment.created", "order": {"number": "BO-000042"}},
        state=WebhookDelivery.State.FAILED,
        attempts=10,
        last_status_code=503,
        last_error="HTTP 503: the shop was down",
        next_attempt_at=timezone.now(),
    )


@pytest.fixture
def manager() -> str:
    return staff("mona", "Managers")


def test_a_manager_resends_a_failed_webhook(
    failed_delivery, shop_endpoint, manager, live_server, browser, screenshot_dir
):
    username = manager
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, live_server, username)

    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("State").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"state=failed"))
    assert "HTTP 503: the shop was down" in page.content()
    page.get_by_role("button", name="Re-send shipment.created for BO-000042").click()
    page.wait_for_load_state()

    expect(page.get_by_text("queued to send again")).to_be_visible()
    page.get_by_label("State").select_option("")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    page.screenshot(path=str(screenshot_dir / "webhook-resend.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    context.close()

    delivery = in_another_thread(lambda: WebhookDelivery.objects.get(pk=failed_delivery.pk))
    assert delivery.state == WebhookDelivery.State.DELIVERED
    assert delivery.last_status_code == 200
    assert shop_endpoint.event_ids == [str(failed_delivery.event_id)]

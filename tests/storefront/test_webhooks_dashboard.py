"""The webhook delivery log in the dashboard: filters, status codes, attempts and re-send."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.submissions import new_key
from storefront.models import SalesChannel, WebhookDelivery, WebhookSubscription
from tests.factories import staff_in

pytestmark = pytest.mark.django_db

State = WebhookDelivery.State
URL = "/dashboard/webhooks/"


def _delivery(channel: SalesChannel, state: str, number: str, **fields) -> WebhookDelivery:
    subscription, _ = WebhookSubscription.objects.get_or_create(
        channel=channel, url=f"https://{channel.name.lower()}.example.com/hooks"
    )
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="line.cancelled",
        order_number=number,
        payload={"type": "line.cancelled"},
        state=state,
        next_attempt_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def manager(client):
    client.force_login(staff_in("Managers"))
    return client


def test_the_log_lists_deliveries_with_status_codes_and_filters(manager, django_assert_num_queries):
    shop, other = SalesChannel.objects.create(name="Shop"), SalesChannel.objects.create(name="Mall")
    _delivery(shop, State.FAILED, "BO-1", attempts=1, last_status_code=410, last_error="HTTP 410")
    _delivery(shop, State.DELIVERED, "BO-2", attempts=3, last_status_code=200)
    for n in range(20):
        _delivery(other, State.PENDING, f"BO-{100 + n}")

    # session, user, groups' permissions, user's permissions, channels (filter), count, rows
    with django_assert_num_queries(7):
        page = manager.get(URL).content.decode()
    assert "22 deliveries" in page
    assert "HTTP 410" in page

    page = manager.get(URL, {"channel": shop.pk, "state": "failed"}).content.decode()
    assert "1 delivery" in page
    assert "BO-1" in page
    assert "BO-2" not in page
    assert re.search(r"<td class=\"num\">410</td>", page)
    assert page.count(">Re-send</button>") == 1


def test_resend_queues_the_same_event_once_per_token(manager):
    delivery = _delivery(SalesChannel.objects.create(name="Shop"), State.FAILED, "BO-1")
    token = new_key()
    url = reverse("dashboard:webhook_resend", args=[delivery.pk])

    response = manager.post(url, {"submission_token": token, "query": "state=failed"})

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?state=failed"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (State.PENDING, 0)
    event_id = delivery.event_id
    # Delivered meanwhile; the same token again does nothing.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state=State.DELIVERED)
    manager.post(url, {"submission_token": token})
    delivery.refresh_from_db()
    assert (delivery.state, delivery.event_id) == (State.DELIVERED, event_id)


def test_resend_of_a_queued_delivery_says_so(manager):
    delivery = _delivery(SalesChannel.objects.create(name="Shop"), State.PENDING, "BO-1")

    response = manager.post(
        reverse("dashboard:webhook_resend", args=[delivery.pk]),
        {"submission_token": new_key()},
        follow=True,
    )

    assert "already queued" in response.content.decode()


def test_an_admin_subscribes_a_channel_to_chosen_events(client, admin_user):
    client.force_login(admin_user)
    channel = SalesChannel.objects.create(name="Shop")

    response = client.post(
        "/admin/storefront/webhooksubscription/add/",
        {
            "channel": channel.pk,
            "url": "https://shop.example.com/hooks",
            "event_types": ["shipment.created", "refund.issued"],
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    subscription = WebhookSubscription.objects.get()
    assert subscription.event_types == ["shipment.created", "refund.issued"]
    refused = client.post(
        "/admin/storefront/webhooksubscription/add/",
        {"channel": channel.pk, "url": "https://x.example.com/", "event_types": ["order.lost"]},
    )
    assert refused.status_code == 200
    assert "order.lost is not one of the available choices" in refused.content.decode()

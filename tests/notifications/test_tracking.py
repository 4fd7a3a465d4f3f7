"""Delivery tracking: the provider's webhook records each event once; a bounce or a complaint
flags the order's customer as unreachable, through a task after commit."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from django.core import mail
from django.test import Client

from notifications.models import DeliveryEvent, Notification
from notifications.receivers import tracking_event_id
from orders.models import Order, OrderEvent
from tests.factories import CustomerFactory, ProductFactory, place_order
from tests.notifications.test_outbox import FakeESP, use_fake_esp

pytestmark = pytest.mark.django_db


@pytest.fixture
def esp(settings: Any) -> type[FakeESP]:
    return use_fake_esp(settings)


State = Notification.State
WEBHOOK_URL = "/anymail/postmark/tracking/"
WEBHOOK_SECRET = "postmark-hook:9f8e7d6c5b4a"  # noqa: S105 (test value)
BOUNCED_AT = "2025-03-04T15:16:17.1234567Z"


@pytest.fixture
def sent(
    esp: type[FakeESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> Notification:
    """Ada's order confirmation, accepted by the provider."""
    customer = CustomerFactory.create(email="ada@example.com", name="Ada Lovelace")
    with django_capture_on_commit_callbacks(execute=True):
        place_order((ProductFactory.create(on_hand=5), 1), customer=customer)
    assert len(mail.outbox) == 1
    notification = Notification.objects.get()
    assert notification.state == State.SENT
    assert notification.provider_message_id
    return notification


def unreachable_notes(order: Order) -> list[str]:
    return list(
        OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.NOTE).values_list(
            "message", flat=True
        )
    )


def signal(event: AnymailTrackingEvent) -> None:
    tracking.send(sender=PostmarkTrackingWebhookView, event=event, esp_name="Postmark")


def event_for(notification: Notification, event_type: str, **kwargs: Any) -> AnymailTrackingEvent:
    return AnymailTrackingEvent(
        event_type=event_type,
        message_id=notification.provider_message_id,
        recipient=notification.recipient,
        timestamp=dt.datetime(2025, 3, 4, 15, 16, 17, tzinfo=dt.UTC),
        **kwargs,
    )


# --- the receiver, through anymail's signal -----------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "state", "flagged"),
    [
        ("bounced", State.BOUNCED, True),
        ("complained", State.COMPLAINED, True),
        ("delivered", State.DELIVERED, False),
        ("opened", State.SENT, False),
    ],
)
def test_a_tracking_event_is_recorded_and_a_bounce_flags_the_order(
    sent: Notification,
    django_capture_on_commit_callbacks: Callable[..., Any],
    event_type: str,
    state: str,
    flagged: bool,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        signal(
            event_for(
                sent,
                event_type,
                event_id="evt-1",
                description="Unknown user",
                mta_response="550 5.1.1 mailbox not found",
            )
        )

    event = DeliveryEvent.objects.get()
    assert (event.event_id, event.event_type, event.notification_id) == (
        "postmark:evt-1",
        event_type,
        sent.pk,
    )
    assert (event.message_id, event.recipient) == (sent.provider_message_id, "ada@example.com")
    assert event.occurred_at == dt.datetime(2025, 3, 4, 15, 16, 17, tzinfo=dt.UTC)
    assert event.description == "Unknown user — 550 5.1.1 mailbox not found"
    sent.refresh_from_db()
    assert sent.state == state
    order = Order.objects.get()
    assert (order.customer_unreachable_at is not None) is flagged
    expected_notes = [f"Customer unreachable by email: {event_type}: ada@example.com"]
    assert unreachable_notes(order) == (expected_notes if flagged else [])


def test_the_order_is_flagged_only_after_the_event_is_committed(
    sent: Notification, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        signal(event_for(sent, "bounced", event_id="evt-2"))

    assert Order.objects.get().customer_unreachable_at is None
    assert len(callbacks) == 1

    callbacks[0]()
    assert Order.objects.get().customer_unreachable_at is not None


def test_an_event_without_an_id_gets_a_stable_one_so_a_replay_is_recorded_once(
    sent: Notification, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    event = event_for(sent, "bounced")
    assert event.event_id is None

    with django_capture_on_commit_callbacks(execute=True):
        signal(event)
        signal(event_for(sent, "bounced"))

    [recorded] = DeliveryEvent.objects.all()
    assert recorded.event_id == tracking_event_id(event=event, esp_name="Postmark")
    assert recorded.event_id.startswith("postmark:sha256:")
    assert unreachable_notes(Order.objects.get()) == [
        "Customer unreachable by email: bounced: ada@example.com"
    ]


def test_an_event_for_a_message_we_did_not_send_is_recorded_and_changes_nothing(
    sent: Notification, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        signal(
            AnymailTrackingEvent(
                event_type="bounced",
                event_id="evt-3",
                message_id="not-one-of-ours",
                recipient="someone@example.net",
            )
        )

    event = DeliveryEvent.objects.get()
    assert (event.notification_id, event.message_id) == (None, "not-one-of-ours")
    sent.refresh_from_db()
    assert sent.state == State.SENT
    assert Order.objects.get().customer_unreachable_at is None


# --- end to end: Postmark's webhook ---------------------------------------------------------


def postmark_bounce(notification: Notification) -> dict[str, Any]:
    """A hard bounce as Postmark posts it (https://postmarkapp.com/developer/webhooks)."""
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": notification.provider_message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": (
            "The server was unable to deliver your message (ex: unknown user, mailbox not found)."
        ),
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": notification.recipient,
        "From": "orders@example.com",
        "BouncedAt": BOUNCED_AT,
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": notification.subject,
    }


def postmark_delivery(notification: Notification) -> dict[str, Any]:
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": notification.provider_message_id,
        "Recipient": notification.recipient,
        "Tag": "",
        "DeliveredAt": BOUNCED_AT,
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {},
    }


@pytest.fixture
def postmark(settings: Any) -> Callable[..., Any]:
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}

    def post(client: Client, payload: dict[str, Any], secret: str = WEBHOOK_SECRET) -> Any:
        return client.post(
            WEBHOOK_URL,
            data=json.dumps(payload),
            content_type="application/json",
            HTTP_AUTHORIZATION="Basic " + base64.b64encode(secret.encode()).decode(),
        )

    return post


def test_a_postmark_bounce_marks_the_email_and_flags_the_order_once(
    sent: Notification,
    client: Client,
    postmark: Callable[..., Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    payload = postmark_bounce(sent)

    with django_capture_on_commit_callbacks(execute=True):
        response = postmark(client, payload)

    assert response.status_code == 200
    event = DeliveryEvent.objects.get()
    assert (event.event_id, event.event_type, event.notification_id, event.recipient) == (
        "postmark:4323372036854775807",
        "bounced",
        sent.pk,
        "ada@example.com",
    )
    assert "550 5.1.1" in event.description
    assert event.occurred_at is not None
    assert event.occurred_at.date() == dt.date(2025, 3, 4)
    sent.refresh_from_db()
    assert sent.state == State.BOUNCED
    order = Order.objects.get()
    flagged_at = order.customer_unreachable_at
    assert flagged_at is not None
    assert order.customer_unreachable_reason == "bounced: ada@example.com"
    assert unreachable_notes(order) == ["Customer unreachable by email: bounced: ada@example.com"]

    # Postmark retries a webhook it thinks failed: the replay changes nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        replay = postmark(client, payload)

    assert replay.status_code == 200
    assert callbacks == []
    assert DeliveryEvent.objects.count() == 1
    order.refresh_from_db()
    assert order.customer_unreachable_at == flagged_at
    assert unreachable_notes(order) == ["Customer unreachable by email: bounced: ada@example.com"]


def test_a_postmark_delivery_without_an_event_id_is_recorded_once(
    sent: Notification,
    client: Client,
    postmark: Callable[..., Any],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = postmark(client, postmark_delivery(sent))
        replay = postmark(client, postmark_delivery(sent))

    assert (first.status_code, replay.status_code) == (200, 200)
    event = DeliveryEvent.objects.get()
    assert event.event_type == "delivered"
    assert event.event_id.startswith("postmark:sha256:")
    sent.refresh_from_db()
    assert sent.state == State.DELIVERED
    assert Order.objects.get().customer_unreachable_at is None


def test_a_webhook_without_the_secret_is_refused_and_records_nothing(
    sent: Notification, client: Client, postmark: Callable[..., Any]
) -> None:
    response = postmark(client, postmark_bounce(sent), secret="postmark-hook:wrong")  # noqa: S106

    assert response.status_code == 400
    assert DeliveryEvent.objects.count() == 0
    sent.refresh_from_db()
    assert sent.state == State.SENT

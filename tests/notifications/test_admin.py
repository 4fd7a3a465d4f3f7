"""Admin for the outbox: read-only rows, the email as sent, and Resend as a new notification."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import DeliveryEvent, Notification
from notifications.services import delivery_event_record, notification_send
from orders.models import Order
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order
from tests.notifications.test_outbox import FakeESP, use_fake_esp

pytestmark = pytest.mark.django_db


@pytest.fixture
def esp(settings: Any) -> type[FakeESP]:
    return use_fake_esp(settings)


State = Notification.State
NOTIFICATIONS_URL = reverse("admin:notifications_notification_changelist")
DELIVERIES_URL = reverse("admin:notifications_deliveryevent_changelist")


def change_url(notification: Notification) -> str:
    return reverse("admin:notifications_notification_change", args=[notification.pk])


def messages_of(response: Any) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


def changelist_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def sent_confirmation(email: str = "ada@example.com") -> Notification:
    order = place_order(
        (ProductFactory.create(on_hand=5), 1), customer=CustomerFactory.create(email=email)
    )
    notification = Notification.objects.get(order=order)
    assert notification_send(notification_id=notification.pk) == State.SENT
    notification.refresh_from_db()
    return notification


def test_changelist_lists_each_email_with_its_order(
    admin_client: Client, esp: type[FakeESP]
) -> None:
    notification = sent_confirmation()
    order = Order.objects.get()

    response = admin_client.get(NOTIFICATIONS_URL)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [notification]
    content = response.content.decode()
    order_url = reverse("admin:orders_order_change", args=[order.pk])
    assert f'<a href="{order_url}">{order.number}</a>' in content
    assert notification.provider_message_id in content
    assert "ada@example.com" in content


def test_changelist_queries_do_not_grow_with_rows(admin_client: Client, esp: type[FakeESP]) -> None:
    product = ProductFactory.create(on_hand=100)
    for _ in range(5):
        place_order((product, 1))
    five = changelist_queries(admin_client, NOTIFICATIONS_URL)
    for _ in range(20):
        place_order((product, 1))

    assert Notification.objects.count() == 25
    assert changelist_queries(admin_client, NOTIFICATIONS_URL) == five


def test_filters_and_search_find_a_failed_email(admin_client: Client, esp: type[FakeESP]) -> None:
    sent_confirmation("ok@example.com")
    order = place_order((ProductFactory.create(on_hand=5), 1))
    failed = Notification.objects.get(order=order)
    Notification.objects.filter(pk=failed.pk).update(
        state=State.FAILED, last_error="AnymailRecipientsRefused: All recipients were rejected"
    )

    by_state = admin_client.get(NOTIFICATIONS_URL, {"state__exact": "failed"})
    by_number = admin_client.get(NOTIFICATIONS_URL, {"q": order.number})
    by_kind = admin_client.get(NOTIFICATIONS_URL, {"kind__exact": "eta_changed"})

    assert list(by_state.context["cl"].result_list) == [failed]
    assert list(by_number.context["cl"].result_list) == [failed]
    assert list(by_kind.context["cl"].result_list) == []


def test_change_page_shows_the_email_as_sent_read_only(
    admin_client: Client, esp: type[FakeESP]
) -> None:
    notification = sent_confirmation()
    Notification.objects.filter(pk=notification.pk).update(
        body_html='<p class="lead">Thanks &amp; "welcome"</p><script>alert(1)</script>'
    )

    response = admin_client.get(change_url(notification))

    assert response.status_code == 200
    content = response.content.decode()
    assert notification.subject in content
    assert '<pre style="white-space: pre-wrap; margin: 0">' in content
    # The HTML is shown inside a sandboxed iframe, never as part of the admin page.
    assert (
        'srcdoc="&lt;p class=&quot;lead&quot;&gt;Thanks &amp;amp; &quot;welcome&quot;&lt;/p&gt;'
        "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    )
    assert '<iframe sandbox=""' in content
    assert "<script>alert(1)</script>" not in content
    assert 'name="_save"' not in content
    assert (
        admin_client.post(change_url(notification), {"recipient": "x@example.com"}).status_code
        == 403
    )
    assert admin_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    delete_url = reverse("admin:notifications_notification_delete", args=[notification.pk])
    assert admin_client.get(delete_url).status_code == 403


def test_change_page_previews_an_email_not_sent_yet(admin_client: Client) -> None:
    order = place_order((ProductFactory.create(on_hand=5), 1))
    notification = Notification.objects.get(order=order)

    response = admin_client.get(change_url(notification))

    assert response.status_code == 200
    content = response.content.decode()
    assert f"Your order {order.number}: what ships now and what follows" in content
    assert "(preview: not sent yet)" in content


def test_resend_sends_a_new_notification_and_leaves_the_original(
    admin_client: Client,
    esp: type[FakeESP],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    original = sent_confirmation()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            NOTIFICATIONS_URL, {"action": "resend", "_selected_action": [original.pk]}
        )

    assert response.status_code == 302
    copy = Notification.objects.exclude(pk=original.pk).get()
    assert copy.resend_of_id == original.pk
    assert (copy.state, copy.recipient, copy.kind) == (State.SENT, "ada@example.com", original.kind)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == original.subject
    before = (original.state, original.sent_at, original.provider_message_id, original.attempts)
    original.refresh_from_db()
    assert (original.state, original.sent_at, original.provider_message_id, original.attempts) == (
        before
    )
    assert messages_of(response) == [
        (
            messages.SUCCESS,
            f"#{original.pk} resent as new notification #{copy.pk} to ada@example.com.",
        )
    ]


def test_resend_of_an_email_not_sent_yet_is_refused(
    admin_client: Client, esp: type[FakeESP]
) -> None:
    order = place_order((ProductFactory.create(on_hand=5), 1))
    pending = Notification.objects.get(order=order)

    response = admin_client.post(
        NOTIFICATIONS_URL, {"action": "resend", "_selected_action": [pending.pk]}
    )

    assert response.status_code == 302
    assert Notification.objects.count() == 1
    assert messages_of(response) == [
        (messages.ERROR, f"#{pending.pk}: This notification has not been sent yet.")
    ]


def test_staff_who_may_only_view_cannot_resend(client: Client, esp: type[FakeESP]) -> None:
    original = sent_confirmation()
    viewer = UserFactory.create()
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))
    client.force_login(viewer)

    listing = client.get(NOTIFICATIONS_URL)
    client.post(NOTIFICATIONS_URL, {"action": "resend", "_selected_action": [original.pk]})

    assert listing.status_code == 200
    assert listing.context["action_form"] is None
    assert Notification.objects.count() == 1


def test_delivery_events_are_listed_read_only(admin_client: Client, esp: type[FakeESP]) -> None:
    notification = sent_confirmation()
    delivery_event_record(
        event_id="postmark:1",
        event_type="delivered",
        message_id=notification.provider_message_id,
        recipient=notification.recipient,
    )

    listing = admin_client.get(DELIVERIES_URL)
    event = DeliveryEvent.objects.get()
    detail = admin_client.get(reverse("admin:notifications_deliveryevent_change", args=[event.pk]))
    notification_page = admin_client.get(change_url(notification))

    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [event]
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()
    assert "postmark:1" in notification_page.content.decode()  # its delivery events inline
    assert admin_client.get(reverse("admin:notifications_deliveryevent_add")).status_code == 403

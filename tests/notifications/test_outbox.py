"""The outbox: an email is written with the change that causes it and sent once, after commit.

The provider is the one thing faked (STYLE.md: mock only what is outside the project): FakeESP is
anymail's test backend plus what a real provider does that the test backend does not — string
message ids, and refusing a message before accepting it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, ClassVar

import pytest
import requests
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from inventory.models import Product, PurchaseOrder
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from notifications.services import (
    TemporaryEmailError,
    eta_changes_worth_telling,
    notification_send,
    notifications_sweep,
)
from notifications.tasks import notification_send_task
from orders.models import Order, OrderLine
from orders.selectors import store_today
from orders.services import purchase_order_create, purchase_order_line_reschedule
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
State = Notification.State
REJECTED = "rejected"


class FakeESP(AnymailTestBackend):
    """The email provider: anymail's test backend with a provider's ids and scripted refusals.

    Each entry of `script` answers one send: an exception is raised before the provider accepts
    the message (nothing reaches mail.outbox); REJECTED refuses every recipient, which anymail
    turns into AnymailRecipientsRefused. With the script empty, every send is accepted.
    """

    script: ClassVar[list[Exception | str]] = []

    def get_esp_message_id(self, message: Any) -> str:
        return str(uuid.uuid4())

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return {
                "recipient_status": {
                    email: AnymailRecipientStatus(message_id=None, status=answer)
                    for email in payload.recipient_emails
                }
            }
        return super().post_to_esp(payload, message)


def use_fake_esp(settings: Any) -> type[FakeESP]:
    # Django's test setup swaps EMAIL_BACKEND for locmem, whatever config/settings/test.py says.
    settings.EMAIL_BACKEND = f"{FakeESP.__module__}.{FakeESP.__qualname__}"
    FakeESP.script = []
    return FakeESP


@pytest.fixture
def esp(settings: Any) -> type[FakeESP]:
    return use_fake_esp(settings)


def provider_error(status: int, body: dict[str, Any]) -> AnymailAPIError:
    """What anymail raises when the provider's API answers `status`."""
    response = requests.Response()
    response.status_code = status
    response.reason = HTTPStatus(status).phrase
    response._content = json.dumps(body).encode()
    return AnymailAPIError(
        "Postmark API response", status_code=status, response=response, esp_name="Postmark"
    )


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


def send_po(product: Product, quantity: int, offset: int) -> PurchaseOrder:
    supplier = supplier_create(name=f"Supplier for {product.sku}", lead_time_days=30)
    return purchase_order_create(
        supplier=supplier, lines=[PurchaseLineRequest(product, quantity, day(offset))], send=True
    )


def window_passes(notification: Notification) -> None:
    """The batching window (or a retry's backoff) is over: the row is due now."""
    Notification.objects.filter(pk=notification.pk).update(
        send_after=timezone.now() - dt.timedelta(seconds=1)
    )


def confirmation_of(order: Order) -> Notification:
    return Notification.objects.get(order=order, kind=Kind.ORDER_CONFIRMATION)


# --- writing ------------------------------------------------------------------------------


def test_placing_an_order_writes_one_pending_confirmation() -> None:
    phone = ProductFactory.create(on_hand=5)
    customer = CustomerFactory.create(email="ada@example.com")

    order = place_order((phone, 2), customer=customer)

    rows = list(Notification.objects.values_list("kind", "state", "recipient", "order_id"))
    assert rows == [(Kind.ORDER_CONFIRMATION, State.PENDING, "ada@example.com", order.pk)]
    # The row keeps what the order said when placed; the rest is read when it is sent.
    assert confirmation_of(order).facts == {
        "lines": [
            {
                "sku": phone.sku,
                "quantity": 2,
                "allocated": 2,
                "backordered": 0,
                "eta": None,
                "eta_source": "",
            }
        ]
    }
    assert mail.outbox == []  # the send task only runs once the order has committed


def test_the_confirmation_is_sent_after_commit(
    esp: type[FakeESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    phone = ProductFactory.create(on_hand=5)
    customer = CustomerFactory.create(email="ada@example.com")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order = place_order((phone, 2), customer=customer)
        assert mail.outbox == []

    assert len(callbacks) >= 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert isinstance(email, EmailMultiAlternatives)
    assert email.to == ["ada@example.com"]
    assert email.reply_to == [settings.STORE_SUPPORT_EMAIL]
    assert email.subject == f"Your order {order.number}: what ships now and what follows"
    notification = confirmation_of(order)
    assert notification.state == State.SENT
    assert notification.attempts == 1
    assert notification.sent_at is not None
    assert notification.subject == email.subject
    assert notification.body_text == email.body
    assert order.number in notification.body_text
    assert [notification.body_html] == [content for content, _ in email.alternatives]
    status = getattr(email, "anymail_status", None)  # set by anymail's backends
    assert status is not None
    assert notification.provider_message_id == status.message_id
    assert notification.provider_message_id != ""


def test_a_rolled_back_change_writes_and_sends_nothing(
    esp: type[FakeESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    phone = ProductFactory.create(on_hand=5)

    def place_then_fail() -> None:
        with transaction.atomic():
            place_order((phone, 1))
            raise RuntimeError("payment declined after the order was written")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        place_then_fail()

    assert Order.objects.count() == 0
    assert Notification.objects.count() == 0
    assert callbacks == []
    assert mail.outbox == []


def test_a_duplicate_task_sends_one_email(esp: type[FakeESP]) -> None:
    order = place_order((ProductFactory.create(on_hand=5), 1))
    notification = confirmation_of(order)

    first = notification_send_task.delay(notification.pk).get()
    second = notification_send_task.delay(notification.pk).get()

    assert (first, second) == (State.SENT, State.SENT)
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == (State.SENT, 1)


# --- provider errors ----------------------------------------------------------------------


def test_a_temporary_provider_error_is_retried_then_sent(esp: type[FakeESP]) -> None:
    order = place_order((ProductFactory.create(on_hand=5), 1))
    notification = confirmation_of(order)
    esp.script = [provider_error(503, {"ErrorCode": 100, "Message": "Maintenance"})]

    with pytest.raises(TemporaryEmailError):
        notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.state == State.PENDING
    assert notification.attempts == 1
    assert "AnymailAPIError" in notification.last_error
    assert "503" in notification.last_error
    assert notification.send_after > timezone.now()  # backed off
    assert mail.outbox == []
    # A duplicate of the retry arriving before the backoff is over does nothing.
    assert notification_send(notification_id=notification.pk) == State.PENDING
    assert mail.outbox == []

    window_passes(notification)
    assert notification_send(notification_id=notification.pk) == State.SENT

    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.last_error) == (
        State.SENT,
        2,
        "",
    )
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        pytest.param(
            provider_error(422, {"ErrorCode": 300, "Message": "Invalid 'To' address"}),
            "422",
            id="api-4xx",
        ),
        pytest.param(REJECTED, "AnymailRecipientsRefused", id="recipient-refused"),
    ],
)
def test_a_permanent_provider_error_fails_at_once(
    esp: type[FakeESP], answer: Exception | str, error: str
) -> None:
    order = place_order((ProductFactory.create(on_hand=5), 1))
    notification = confirmation_of(order)
    esp.script = [answer]

    assert notification_send(notification_id=notification.pk) == State.FAILED

    notification.refresh_from_db()
    assert notification.state == State.FAILED
    assert notification.attempts == 1
    assert error in notification.last_error
    # What would have been sent stays visible to staff, and nothing retries it.
    assert notification.subject.startswith(f"Your order {order.number}")
    window_passes(notification)
    assert notification_send(notification_id=notification.pk) == State.FAILED
    assert mail.outbox == []


def test_the_last_attempt_fails_the_notification(esp: type[FakeESP], settings: Any) -> None:
    settings.NOTIFICATION_MAX_ATTEMPTS = 2
    order = place_order((ProductFactory.create(on_hand=5), 1))
    notification = confirmation_of(order)
    esp.script = [provider_error(503, {"Message": "Maintenance"}) for _ in range(2)]

    with pytest.raises(TemporaryEmailError):
        notification_send(notification_id=notification.pk)
    window_passes(notification)
    assert notification_send(notification_id=notification.pk) == State.FAILED

    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == (State.FAILED, 2)


# --- the sweep ------------------------------------------------------------------------------


def test_the_sweep_sends_a_notification_whose_task_was_lost_exactly_once(
    esp: type[FakeESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Placed outside the commit capture: its send task is never run, as if the broker lost it.
    order = place_order((ProductFactory.create(on_hand=5), 1))
    notification = confirmation_of(order)
    grace = dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES)

    with django_capture_on_commit_callbacks(execute=True):
        too_soon = notifications_sweep(now=timezone.now())  # its task may still be on its way
    with django_capture_on_commit_callbacks(execute=True):
        swept = notifications_sweep(now=timezone.now() + grace + dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        swept_again = notifications_sweep(now=timezone.now() + 2 * grace)

    assert (too_soon, swept, swept_again) == ([], [notification.pk], [])
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == (State.SENT, 1)


# --- ETA changes ----------------------------------------------------------------------------


@pytest.fixture
def waiting_order(
    esp: type[FakeESP], django_capture_on_commit_callbacks: Callable[..., Any]
) -> tuple[Order, PurchaseOrder, PurchaseOrder]:
    """An order waiting for a lamp (PO due in 10 days) and a shade (PO due in 12 days);
    its confirmation has gone out."""
    lamp = ProductFactory.create(sku="LAMP", name="Desk lamp", on_hand=0)
    shade = ProductFactory.create(sku="SHADE", name="Lamp shade", on_hand=0)
    lamp_po = send_po(lamp, 5, 10)
    shade_po = send_po(shade, 5, 12)
    with django_capture_on_commit_callbacks(execute=True):
        order = place_order((lamp, 2), (shade, 1))
    assert [m.subject for m in mail.outbox] == [confirmation_of(order).subject]
    mail.outbox.clear()
    return order, lamp_po, shade_po


def etas(order: Order) -> dict[str, dt.date | None]:
    return dict(
        OrderLine.objects.filter(order=order).values_list("product__sku", "eta").order_by("id")
    )


def eta_notifications(order: Order) -> list[Notification]:
    return list(Notification.objects.filter(order=order, kind=Kind.ETA_CHANGED))


def test_eta_changes_within_the_window_make_one_email_listing_each(
    waiting_order: tuple[Order, PurchaseOrder, PurchaseOrder],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    order, lamp_po, shade_po = waiting_order
    before = etas(order)

    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_line_reschedule(
            line=lamp_po.lines.get(), expected_date=day(20), reason="Factory closed"
        )
    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_line_reschedule(
            line=shade_po.lines.get(), expected_date=day(25), reason="Container delayed"
        )
    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_line_reschedule(
            line=lamp_po.lines.get(), expected_date=day(22), reason="Factory closed"
        )
    after = etas(order)

    # Each change ran its send task at once; the batch is not due until the window is over.
    assert mail.outbox == []
    [batch] = eta_notifications(order)
    assert batch.state == State.PENDING
    changes = sorted((c["sku"], c["old"], c["new"]) for c in eta_changes_worth_telling(batch.facts))
    assert changes == [
        ("LAMP", before["LAMP"].isoformat(), after["LAMP"].isoformat()),  # type: ignore[union-attr]
        ("SHADE", before["SHADE"].isoformat(), after["SHADE"].isoformat()),  # type: ignore[union-attr]
    ]
    assert batch.facts["reasons"] == ["Factory closed", "Container delayed"]

    window_passes(batch)
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications_sweep() == [batch.pk]

    assert [m.subject for m in mail.outbox] == [f"New delivery estimate for order {order.number}"]
    batch.refresh_from_db()
    assert batch.state == State.SENT
    assert order.number in batch.body_text
    assert eta_notifications(order) == [batch]


@pytest.mark.parametrize(
    ("days_earlier", "state", "emails"),
    [(1, State.SUPPRESSED, 0), (2, State.SENT, 1)],
)
def test_an_earlier_eta_is_told_only_when_it_moved_enough(
    waiting_order: tuple[Order, PurchaseOrder, PurchaseOrder],
    django_capture_on_commit_callbacks: Callable[..., Any],
    days_earlier: int,
    state: str,
    emails: int,
) -> None:
    assert settings.ETA_EMAIL_EARLIER_DAYS == 2
    order, lamp_po, _ = waiting_order
    before = etas(order)["LAMP"]

    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_line_reschedule(
            line=lamp_po.lines.get(),
            expected_date=day(10 - days_earlier),
            reason="Arrives early",
        )

    assert before is not None
    assert etas(order)["LAMP"] == before - dt.timedelta(days=days_earlier)
    [batch] = eta_notifications(order)
    window_passes(batch)
    with django_capture_on_commit_callbacks(execute=True):
        notifications_sweep()

    batch.refresh_from_db()
    assert batch.state == state
    assert len(mail.outbox) == emails


# --- message ids ----------------------------------------------------------------------------


def test_a_non_text_message_id_is_stored_as_text(settings: Any) -> None:
    # Anymail's own test backend numbers messages 0, 1, ...: 0 must not be lost as falsy.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    product = ProductFactory.create(on_hand=5)
    first = confirmation_of(place_order((product, 1)))
    second = confirmation_of(place_order((product, 1)))

    notification_send(notification_id=first.pk)
    notification_send(notification_id=second.pk)

    ids = list(
        Notification.objects.filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
        .values_list("provider_message_id", flat=True)
    )
    assert ids == ["0", "1"]

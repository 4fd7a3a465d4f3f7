"""Sending claimed rows: rendered then, sent over one connection per batch, a stable
Message-ID, backoff on temporary errors; and resending. Claiming is drain.py's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
import time
from collections.abc import Iterator, Sequence
from email.utils import parseaddr
from typing import Any

from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
)
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from orders.services import goodwill_grants_told

from ..models import Notification
from .outbox import _schedule
from .rendering import Rendered, notifications_render

logger = logging.getLogger(__name__)

State = Notification.State


class TemporaryEmailError(Exception):
    """The provider could not take the message now; try again later."""


def _is_permanent(exc: Exception) -> bool:
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return True
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None)
        return status is not None and 400 <= status < 500 and status not in (408, 429)
    return isinstance(exc, smtplib.SMTPRecipientsRefused)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(30 * 2 ** max(0, attempts - 1), 1800))


def notification_message_id(*, notification: Notification) -> str:
    """The email's Message-ID, derived from its outbox row: sending the same row again (after a
    worker died between the provider's acceptance and the row's update) repeats it, so the
    provider and the recipient's mail client can tell it is the same message."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    created = notification.created_at.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    return f"<notification-{notification.pk}.{created}@{domain}>"


def notification_send(*, notification_id: int) -> str:
    """Claim, render, send and record one notification; returns its state afterwards.

    A duplicate task finds the row already claimed and does nothing. Temporary provider errors
    put the row back as pending with a later send_after (the caller retries); permanent ones,
    and the last attempt, fail it.
    """
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, state=State.PENDING, send_after__lte=now
    ).update(state=State.SENDING, attempts=F("attempts") + 1, updated_at=now)
    notification = Notification.objects.select_related("order__customer").get(pk=notification_id)
    if not claimed:
        return notification.state
    [state] = notifications_deliver([notification]).values()
    if state == RETRYING:
        raise TemporaryEmailError(notification.last_error)
    return state


# A claimed row that went back to pending for a later attempt (deliver's outcome).
RETRYING = "retrying"
# A claimed row left for another drain: the time budget ran out before its turn.
RELEASED = "released"


def notifications_deliver(
    notifications: Sequence[Notification], *, deadline: float | None = None
) -> dict[int, str]:
    """Render and send claimed ('sending') rows over one connection to the provider, and
    record each outcome as soon as it is known; each row's outcome by id.

    Each row is recorded right after its own send, so a worker that dies mid-batch leaves at
    most the one email in flight to be sent again (under the same Message-ID). Rows not tried
    before `deadline` (time.monotonic()) go back to pending for the next drain.
    """
    outcomes: dict[int, str] = {}
    if not notifications:
        return outcomes
    rendered = notifications_render(notifications)
    connection = get_connection()
    try:
        with _outcomes_committed_without_flush():
            for index, notification in enumerate(notifications):
                if deadline is not None and time.monotonic() > deadline:
                    rest = [n.pk for n in notifications[index:]]
                    Notification.objects.filter(pk__in=rest, state=State.SENDING).update(
                        state=State.PENDING, attempts=F("attempts") - 1, updated_at=timezone.now()
                    )
                    outcomes |= dict.fromkeys(rest, RELEASED)
                    break
                outcomes[notification.pk] = _deliver_one(
                    notification, rendered[notification.pk], connection
                )
    finally:
        with contextlib.suppress(Exception):
            connection.close()
    return outcomes


@contextlib.contextmanager
def _outcomes_committed_without_flush() -> Iterator[None]:
    """Record the batch's outcomes without waiting for each commit to reach the disk
    (PostgreSQL's synchronous_commit off, for this connection while the batch is sent).

    Each outcome still commits on its own, right after its send: a worker that dies loses
    nothing it recorded. Only a crash of the database server itself can forget the last
    fraction of a second of them; those rows stay 'sending', and the sweep sends them again
    under the same Message-ID, as after a worker died mid-send. Waiting for the disk once per
    email was most of what an email cost.
    """
    if db_connection.vendor != "postgresql":
        yield
        return
    with db_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), db_connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _deliver_one(
    notification: Notification, rendered: Rendered | None, connection: BaseEmailBackend
) -> str:
    if rendered is None:
        Notification.objects.filter(pk=notification.pk).update(
            state=State.SUPPRESSED, updated_at=timezone.now()
        )
        return State.SUPPRESSED
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        reply_to=[settings.STORE_SUPPORT_EMAIL],
        headers={
            "Message-ID": notification_message_id(notification=notification),
            "X-Backorder-Desk-Notification": str(notification.pk),
        },
        connection=connection,
    )
    message.attach_alternative(rendered.html, "text/html")
    what_was_said = {
        "subject": rendered.subject,
        "body_text": rendered.text,
        "body_html": rendered.html,
    }
    try:
        connection.open()  # once per batch: a no-op while it is open
        connection.send_messages([message])
    except (AnymailError, smtplib.SMTPException, OSError) as exc:
        # The next message opens a fresh connection (an SMTP server may have hung up).
        with contextlib.suppress(Exception):
            connection.close()
        permanent = (
            _is_permanent(exc) or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
        )
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        Notification.objects.filter(pk=notification.pk).update(
            state=State.FAILED if permanent else State.PENDING,
            last_error=notification.last_error,
            send_after=timezone.now() + _backoff(notification.attempts),
            updated_at=timezone.now(),
            **what_was_said,
        )
        logger.warning(
            "Notification %s %s: %s", notification.pk, "failed" if permanent else "deferred", exc
        )
        return State.FAILED if permanent else RETRYING
    status = getattr(message, "anymail_status", None)
    Notification.objects.filter(pk=notification.pk).update(
        state=State.SENT,
        sent_at=timezone.now(),
        provider_message_id=_message_id(status),
        last_error="",
        updated_at=timezone.now(),
        **what_was_said,
    )
    if rendered.goodwill_grant is not None:
        goodwill_grants_told(grant_ids=[rendered.goodwill_grant], told_at=timezone.now())
    return State.SENT


def _message_id(status: Any) -> str:
    """The provider's id for the sent message (anymail gives str, some backends int)."""
    message_id = getattr(status, "message_id", None)
    return "" if message_id is None else str(message_id)[:200]


@transaction.atomic
def notification_resend(*, notification: Notification) -> Notification:
    """Send the same email again as a new notification (the original row is never re-sent)."""
    if notification.state in (State.PENDING, State.SENDING):
        raise ValidationError("This notification has not been sent yet.")
    # Lock the original so two quick clicks make two numbered copies, not a clash.
    Notification.objects.select_for_update().filter(pk=notification.pk).first()
    copies = notification.resends.count() + 1
    copy = Notification.objects.create(
        kind=notification.kind,
        order=notification.order,
        recipient=notification.recipient,
        dedupe_key=f"{notification.dedupe_key}:resend:{copies}"[:120],
        facts=notification.facts,
        send_after=timezone.now(),
        resend_of=notification,
    )
    _schedule([copy])
    return copy

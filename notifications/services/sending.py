"""Sending: one claim per send (a conditional UPDATE pending -> sending), a stable Message-ID,
backoff on temporary errors, and the sweep that re-enqueues what a lost task left behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
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
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from config.celery import publish_on_commit

from ..models import Notification
from .outbox import _schedule
from .rendering import notification_render

logger = logging.getLogger(__name__)

Kind = Notification.Kind
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
    notification = Notification.objects.select_related("order").get(pk=notification_id)
    if not claimed:
        return notification.state
    rendered = notification_render(notification=notification)
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
    )
    message.attach_alternative(rendered.html, "text/html")
    try:
        message.send()
    except (AnymailError, smtplib.SMTPException, OSError) as exc:
        permanent = (
            _is_permanent(exc) or notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
        )
        Notification.objects.filter(pk=notification.pk).update(
            state=State.FAILED if permanent else State.PENDING,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            send_after=timezone.now() + _backoff(notification.attempts),
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            updated_at=timezone.now(),
        )
        logger.warning(
            "Notification %s %s: %s", notification.pk, "failed" if permanent else "deferred", exc
        )
        if permanent:
            return State.FAILED
        raise TemporaryEmailError(str(exc)) from exc
    status = getattr(message, "anymail_status", None)
    Notification.objects.filter(pk=notification.pk).update(
        state=State.SENT,
        sent_at=timezone.now(),
        provider_message_id=_message_id(status),
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html,
        last_error="",
        updated_at=timezone.now(),
    )
    return State.SENT


def _message_id(status: Any) -> str:
    """The provider's id for the sent message (anymail gives str, some backends int)."""
    message_id = getattr(status, "message_id", None)
    return "" if message_id is None else str(message_id)[:200]


def notifications_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Re-enqueue due notifications whose task was lost; claim rows with SKIP LOCKED so two
    sweepers never pick the same one. Rows stuck in 'sending' for longer than a send can take
    (a worker died mid-send) go back to pending: a rare second email beats a lost one, and it
    carries the same Message-ID as the first."""
    from ..tasks import notification_send_task

    now = now or timezone.now()
    grace = dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES)
    stuck = dt.timedelta(minutes=settings.NOTIFICATION_STUCK_SENDING_MINUTES)
    with transaction.atomic():
        Notification.objects.filter(state=State.SENDING, updated_at__lt=now - stuck).update(
            state=State.PENDING, updated_at=now
        )
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(state=State.PENDING)
            .filter(
                # Lost tasks: due for a while. Batched ones: due now (their task may be gone).
                Q(send_after__lte=now - grace) | Q(send_after__lte=now, kind=Kind.ETA_CHANGED)
            )
            .order_by("send_after")
            .values_list("id", flat=True)[:limit]
        )
        for notification_id in ids:
            publish_on_commit(notification_send_task, notification_id)
    return ids


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

"""The drain: due outbox rows claimed in batches and sent, however many a transaction wrote.

A transaction that writes outbox rows publishes one drain after commit (outbox._schedule). A
drain claims up to NOTIFICATION_DRAIN_BATCH due rows at once (pending -> sending; on
PostgreSQL `SELECT ... FOR UPDATE SKIP LOCKED`, so drains running side by side take disjoint
batches), sends them over one connection and records each outcome. A full batch means more
may be waiting: before sending it, the drain publishes its successor, so idle workers join in
one after another while this one sends; a batch that is not full ends the chain.

Without a broker (tasks run in-process) a drain sends one batch and publishes nothing: a page
that wrote thousands of emails stays quick, and the rest goes with the next drains or the
sweep. The sweep (beat, every minute) puts rows stuck in 'sending' back and drains what a lost
drain left behind.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from config.celery import app as celery_app
from config.celery import publish_on_commit

from ..models import Notification
from .sending import RELEASED, RETRYING, _backoff, notifications_deliver

Kind = Notification.Kind
State = Notification.State


@dataclass
class DrainResult:
    """What one drain did, by notification id."""

    outcomes: dict[int, str] = field(default_factory=dict)

    @property
    def claimed(self) -> list[int]:
        return list(self.outcomes)

    def ids(self, outcome: str) -> list[int]:
        return [pk for pk, done in self.outcomes.items() if done == outcome]


def _claim(*, now: dt.datetime, limit: int, lost_for: dt.timedelta | None) -> list[Notification]:
    """Take up to `limit` due rows, oldest first, and mark them 'sending' (one attempt more).

    With `lost_for`, only rows due that long ago (their drain was lost), and ETA batches due
    now (nobody published a drain for the end of their window).
    """
    due = Q(send_after__lte=now)
    if lost_for is not None:
        due = Q(send_after__lte=now - lost_for) | Q(send_after__lte=now, kind=Kind.ETA_CHANGED)
    pending = Notification.objects.filter(due, state=State.PENDING).order_by("send_after", "pk")
    claim = {"state": State.SENDING, "attempts": F("attempts") + 1, "updated_at": timezone.now()}
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(
                pending.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
            )
            if ids:
                Notification.objects.filter(pk__in=ids).update(**claim)
    else:
        # No row locks (SQLite): each row is taken by its own conditional UPDATE, which only
        # one of two drains wins.
        ids = [
            pk
            for pk in pending.values_list("pk", flat=True)[:limit]
            if Notification.objects.filter(pk=pk, state=State.PENDING).update(**claim)
        ]
    if not ids:
        return []
    return list(
        Notification.objects.select_related("order__customer")
        .filter(pk__in=ids)
        .order_by("send_after", "pk")
    )


def notifications_drain(
    *,
    now: dt.datetime | None = None,
    limit: int | None = None,
    lost_for: dt.timedelta | None = None,
) -> DrainResult:
    """Claim one batch of due notifications and send it (see the module's docstring)."""
    now = now or timezone.now()
    limit = limit or settings.NOTIFICATION_DRAIN_BATCH
    claimed = _claim(now=now, limit=limit, lost_for=lost_for)
    if len(claimed) == limit:
        _drain_next()  # more may be due: another worker takes the next batch meanwhile
    deadline = time.monotonic() + settings.NOTIFICATION_DRAIN_SECONDS
    result = DrainResult(notifications_deliver(claimed, deadline=deadline))
    if result.ids(RELEASED) and len(claimed) < limit:
        _drain_next()
    if result.ids(RETRYING):
        wait = min(_backoff(1).total_seconds(), settings.TASK_COUNTDOWN_MAX_SECONDS)
        _drain_next(countdown=int(wait))
    return result


def _drain_next(countdown: int | None = None) -> None:
    """Publish another drain (now, or after `countdown` seconds); in-process tasks leave it
    to the next drain or the sweep, so a request never sends more than one batch."""
    from ..tasks import notifications_drain_task

    if celery_app.conf.task_always_eager:
        return
    publish_on_commit(notifications_drain_task, countdown=countdown)


def notifications_sweep(*, now: dt.datetime | None = None, limit: int | None = None) -> list[int]:
    """Beat's safety net: rows stuck in 'sending' for longer than a send can take (a worker
    died mid-send) go back to pending — a rare second email beats a lost one, and it carries
    the same Message-ID as the first; then due rows whose drain was lost are drained. The ids
    it claimed."""
    now = now or timezone.now()
    stuck = dt.timedelta(minutes=settings.NOTIFICATION_STUCK_SENDING_MINUTES)
    Notification.objects.filter(state=State.SENDING, updated_at__lt=now - stuck).update(
        state=State.PENDING, updated_at=timezone.now()
    )
    grace = dt.timedelta(minutes=settings.NOTIFICATION_SWEEP_AFTER_MINUTES)
    return notifications_drain(now=now, limit=limit, lost_for=grace).claimed


def notifications_send_due() -> dict[int, str]:
    """Drain batch after batch until nothing is due (a command's job where no worker runs);
    each handled notification's outcome."""
    outcomes: dict[int, str] = {}
    while claimed := notifications_drain().outcomes:
        outcomes |= claimed
        if all(outcome == RELEASED for outcome in claimed.values()):
            break
    return outcomes

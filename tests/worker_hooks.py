"""What a worker process run by a test (tests/worker_process.py) tells the test, and where it
stops so the test can kill it.

Each task's start and end, and each email the provider accepted, are written as one line to a
pipe the test reads (TEST_WORKER_EVENTS_FD). Accepted emails are also appended to a JSON-lines
file (TEST_WORKER_MAIL_LOG), the provider's record, which outlives the process. With
TEST_WORKER_HANG_AT set to "before-accepting" or "after-accepting", the worker stops for good
at the first email, before or after the provider accepted it (either way after the outbox row
was claimed and before it is updated): the test then kills it there.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from celery import signals
from django.core.mail.backends.base import BaseEmailBackend

HEADER = "X-Backorder-Desk-Notification"


def emit(event: str) -> None:
    fd = os.environ.get("TEST_WORKER_EVENTS_FD")
    if fd:
        os.write(int(fd), (event + "\n").encode())


@signals.task_prerun.connect
def _started(sender: Any = None, **kwargs: Any) -> None:
    emit(f"started {sender.name}")


@signals.task_postrun.connect
def _finished(sender: Any = None, state: str | None = None, **kwargs: Any) -> None:
    emit(f"finished {sender.name} {state}")


class RecordingEmailBackend(BaseEmailBackend):
    """The provider: records each message it accepts, with its Message-ID."""

    def send_messages(self, email_messages: Any) -> int:
        for message in email_messages:
            if os.environ.get("TEST_WORKER_HANG_AT") == "before-accepting":
                emit(f"hanging before accepting {message.extra_headers[HEADER]}")
                threading.Event().wait()  # until the test kills the process
            record = {
                "notification": int(message.extra_headers[HEADER]),
                "message_id": str(message.message()["Message-ID"]),
                "to": list(message.to),
            }
            with open(os.environ["TEST_WORKER_MAIL_LOG"], "a") as log:
                log.write(json.dumps(record) + "\n")
                log.flush()
                os.fsync(log.fileno())
            emit(f"accepted {record['notification']}")
            if os.environ.get("TEST_WORKER_HANG_AT") == "after-accepting":
                emit(f"hanging after accepting {record['notification']}")
                threading.Event().wait()  # until the test kills the process
        return len(email_messages)

"""A Celery worker in a process of its own, for tests that kill it (SIGKILL) mid-task.

It consumes the test's broker keys (the `broker` fixture of tests/celery_worker.py) and works
on the test's database, with tests/worker_settings.py; it reports each task's start and end,
and each email the provider accepted, on a pipe (tests/worker_hooks.py), so the test waits for
events, not for time.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from tests.celery_worker import Broker

ROOT = Path(__file__).resolve().parent.parent


class WorkerProcess:
    """`celery worker` (solo pool: one task at a time, in the process's main thread)."""

    def __init__(self, broker: Broker, mail_log: Path, log: Path, *, hang_at: str = "") -> None:
        self.broker = broker
        self.mail_log = mail_log
        self.log = log
        self.hang_at = hang_at  # "", "before-accepting" or "after-accepting" (worker_hooks)
        self.events: list[str] = []
        self._buffer = b""
        self.process: subprocess.Popen[bytes] | None = None
        self._read_fd = -1

    def start(self) -> WorkerProcess:
        read_fd, write_fd = os.pipe()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
            "TEST_WORKER_BROKER_URL": settings.REDIS_URL,
            "TEST_WORKER_BROKER_PREFIX": self.broker.prefix,
            "TEST_WORKER_DATABASE": str(connection.settings_dict["NAME"]),
            "TEST_WORKER_EVENTS_FD": str(write_fd),
            "TEST_WORKER_MAIL_LOG": str(self.mail_log),
        }
        if self.hang_at:
            env["TEST_WORKER_HANG_AT"] = self.hang_at
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (a fixed command line)
                [sys.executable, "-m", "celery", "-A", "config.celery:app", "worker"]
                + [
                    "--pool",
                    "solo",
                    "--loglevel",
                    "WARNING",
                    "--hostname",
                    f"{uuid.uuid4().hex}@test",
                ]
                + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=ROOT,
                env=env,
                pass_fds=(write_fd,),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        os.close(write_fd)
        self._read_fd = read_fd
        return self

    def wait_for(self, done: Callable[[str], bool], timeout: float = 30.0) -> str:
        """Read the worker's events until one satisfies `done`; that event."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                event = line.decode()
                self.events.append(event)
                if done(event):
                    return event
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read_fd], [], [], max(0.0, left))
            chunk = os.read(self._read_fd, 65536) if ready else b""
            if not chunk:
                raise AssertionError(
                    ("the worker exited" if ready else f"no such event within {timeout:.0f} s")
                    + f"; its events: {self.events[-10:]}; its log: {self.log_tail()}"
                )
            self._buffer += chunk

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, the open transaction rolled back."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close()

    def stop(self) -> None:
        """A warm shutdown (SIGTERM): the worker finishes its task and closes its connections."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        self.process = None
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1


def accepted_emails(mail_log: Path) -> list[dict[str, Any]]:
    """What the provider accepted, in order (tests/worker_hooks.py)."""
    if not mail_log.exists():
        return []
    return [json.loads(line) for line in mail_log.read_text().splitlines() if line]

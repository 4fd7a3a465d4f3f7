"""A real Celery worker for tests: publishing to Redis, and a worker that consumes in-process.

Test settings run tasks eagerly. With the `broker` fixture, `.delay()` publishes to Redis for
real, under keys of the test's own; `running_worker` starts a worker in this process
(celery.contrib.testing.worker.start_worker, threads pool) that takes the messages off the
queue and runs them in its own threads, each on its own database connection, so it sees only
what was committed, as a deployed worker would.

One worker at a time: start_worker cannot run two workers in one process (kombu's event loop
and celery.worker.state are process globals, and stopping one worker stops the other).

A test module imports broker_fixture (pytest finds the `broker` fixture in the module's names)
and marks its tests redis, postgres and django_db(transaction=True).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import redis
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import connection, connections
from django.db.backends.signals import connection_created
from kombu import pools as kombu_pools

from config import celery_app
from config.celery import broker_down_forget

QUEUE = "celery"  # the default queue; the project routes nothing elsewhere


class WorkerRuns:
    """What the in-process worker ran, recorded from its own threads by Celery's task signals.

    A subclass names the `task` it follows (`running` and `most_at_once` count its runs) and
    how long a test waits for the worker (`timeout`, seconds), and records each finished run of
    any task in `finished`, which is called holding the lock.
    """

    task: str
    timeout: float

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._test_thread = threading.current_thread()
        self.failures: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.backend_pids: set[int] = set()  # PostgreSQL server processes the worker connected to

    def finished(self, task: str, args: Any, state: str | None, retval: Any) -> None:
        raise NotImplementedError

    def on_prerun(self, sender: Any, **kwargs: Any) -> None:
        if sender.name != self.task:
            return
        with self._changed:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def on_postrun(
        self,
        sender: Any,
        args: Any = None,
        state: str | None = None,
        retval: Any = None,
        **kwargs: Any,
    ) -> None:
        # Celery's Django fixup closes them too; don't rely on it: a connection left open in a
        # worker thread would block the test database's flush and teardown.
        connections.close_all()
        with self._changed:
            if sender.name == self.task:
                self.running -= 1
            self.finished(sender.name, args, state, retval)
            self._changed.notify_all()

    def on_connection_created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.current_thread() is not self._test_thread:
            with self._changed:
                self.backend_pids.add(connection.connection.info.backend_pid)

    def wait_until(self, done: Callable[[], bool]) -> list[str]:
        """Block until `done()` holds or a run failed, at most `timeout`; the failures."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self.failures) or done(), timeout=self.timeout)
            return list(self.failures)

    def assert_connections_closed(self) -> None:
        """None of the worker's database connections is still open on the server."""
        # A server process leaves pg_stat_activity a moment after its client hung up.
        deadline = time.monotonic() + 5
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)",
                    [sorted(self.backend_pids)],
                )
                still_open = [pid for (pid,) in cursor.fetchall()]
            if not still_open or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert still_open == [], f"the worker left database connections open: {still_open}"


def _leave_logging_alone(**kwargs: Any) -> None:
    """A setup_logging receiver: the worker then keeps its hands off pytest's log handlers."""


def _drop_broker_pools() -> None:
    # The app pools its broker connections with the options of the time they were made; drop
    # the pools so publishing follows the options just set (as Celery itself does after fork).
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # Kombu also keeps process-wide pools per connection; a closed one would be handed out
    # again (even eager tasks acquire a producer), so reset those as well.
    kombu_pools.reset()


@dataclass(frozen=True)
class Broker:
    """The test's own corner of the Redis broker."""

    client: redis.Redis
    prefix: str

    def messages(self) -> list[tuple[str, str]]:
        """(task name, its arguments) of each message waiting in the default queue, oldest
        first (kombu pushes on the left and pops on the right)."""
        raw = self.client.lrange(self.prefix + QUEUE, 0, -1)
        return [
            (message["headers"]["task"], message["headers"]["argsrepr"])
            for message in map(json.loads, reversed(raw))
        ]

    def lose_everything_queued(self) -> int:
        """What a broker restart without persistence does: the queued messages are gone."""
        return int(self.client.delete(self.prefix + QUEUE))


@pytest.fixture(name="broker")
def broker_fixture() -> Iterator[Broker]:
    """Publish to Redis for real for the test's duration, under keys of this test's own.

    The Redis database may be shared (other checkouts, a developer's runserver), so every
    broker key gets a fresh prefix: the queue starts empty, the worker consumes nothing but
    this test's messages, and the keys are deleted afterwards.
    """
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = f"backorder-test-{uuid.uuid4().hex}:"
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = settings.REDIS_URL
    conf.broker_transport_options = {**saved[2], "global_keyprefix": prefix}
    _drop_broker_pools()
    broker_down_forget()  # whatever an earlier test did to the broker, this one is up
    try:
        yield Broker(client=client, prefix=prefix)
    finally:
        conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved
        _drop_broker_pools()
        broker_down_forget()
        leftovers = list(client.scan_iter(match=f"{prefix}*"))
        if leftovers:
            client.delete(*leftovers)
        client.close()


Runs = TypeVar("Runs", bound=WorkerRuns)


@contextmanager
def running_worker(runs: Runs, *, concurrency: int = 1) -> Iterator[Runs]:
    """A worker consuming the default queue in this process, with the threads pool, its runs
    recorded in `runs`; on the way out, a check that it closed its database connections."""
    receivers: list[tuple[Any, Callable[..., None]]] = [
        (signals.task_prerun, runs.on_prerun),
        (signals.task_postrun, runs.on_postrun),
        (signals.setup_logging, _leave_logging_alone),
    ]
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)
    connection_created.connect(runs.on_connection_created, weak=False)
    try:
        with start_worker(
            celery_app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            shutdown_timeout=runs.timeout,
        ):
            yield runs
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)
        connection_created.disconnect(runs.on_connection_created)
    assert runs.backend_pids, "the worker never connected to the database"
    runs.assert_connections_closed()


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Publish to this broker (keys under a prefix of the test's own) for the block's duration."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = url
    conf.broker_transport_options = {
        **saved[2],
        "global_keyprefix": f"backorder-test-{uuid.uuid4().hex}:",
    }
    _drop_broker_pools()
    broker_down_forget()
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved
        _drop_broker_pools()
        broker_down_forget()


def spare_port(candidates: range = range(6390, 6400)) -> int:
    """A port nothing listens on, for a Redis server of the test's own (or for none at all)."""
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {candidates}")

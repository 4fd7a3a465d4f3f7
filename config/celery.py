import logging
import os
import time
from typing import Any

from celery import Celery
from django.db import connection, transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("backorder_desk")
# Every Celery setting lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

# After a failed publish, this process skips publishing for a few seconds: with the broker
# hung, each attempt costs a socket timeout, and a request publishes several tasks.
BROKER_DOWN_PAUSE_SECONDS = 10.0
_broker_down_until = 0.0


class Publish:
    """An after-commit hook that publishes one task (its `task` and `args` tell which)."""

    def __init__(self, task: Any, args: tuple[Any, ...], countdown: int | None) -> None:
        self.task = task
        self.args = args
        self.countdown = countdown
        # Django logs a failing robust hook by its __qualname__ (a functools.partial has none,
        # and the request would end in an error after all).
        self.__qualname__ = f"publish {task.name}"

    def __call__(self) -> None:
        global _broker_down_until
        if app.conf.task_always_eager:
            # No broker: the task runs right here, and its errors are errors.
            self.task.apply_async(self.args, countdown=self.countdown)
            return
        if time.monotonic() < _broker_down_until:
            logger.warning(
                "Broker down: %s%r not published; a sweep will catch up.", self.task.name, self.args
            )
            return
        try:
            self.task.apply_async(self.args, countdown=self.countdown)
        except Exception:
            _broker_down_until = time.monotonic() + BROKER_DOWN_PAUSE_SECONDS
            logger.warning(
                "Could not publish %s%r after commit; a sweep will catch up.",
                self.task.name,
                self.args,
                exc_info=True,
            )


def broker_down_forget() -> None:
    """Publish again from now on (the broker is known to be back; tests)."""
    global _broker_down_until
    _broker_down_until = 0.0


def publish_on_commit(task: Any, *args: Any, countdown: int | None = None) -> None:
    """Publish `task` with `args` once the current transaction commits.

    The change is saved by then, so a broker that is down or hung must not turn the request
    into an error: the failure is logged and the periodic sweeps (allocation, outbox, rule
    engine) do the work later. The same task with the same arguments is published once per
    transaction, however often the transaction asks for it.
    """
    connection = transaction.get_connection()
    key = (task.name, _hashable(args), countdown)
    pending = _pending_publishes(connection)
    # Already asked for at this savepoint or an enclosing one: it commits whenever this does.
    if pending is not None and key in pending and pending[key] <= set(connection.savepoint_ids):
        return
    transaction.on_commit(Publish(task, args, countdown), robust=not app.conf.task_always_eager)
    if pending is not None:
        pending[key] = set(connection.savepoint_ids)


def _hashable(args: tuple[Any, ...]) -> Any:
    try:
        hash(args)
    except TypeError:  # a list of ids, say
        return repr(args)
    return args


def _pending_publishes(connection: Any) -> dict[Any, set[str]] | None:
    """The savepoints of the current transaction's publishes, by (task, args, countdown); None
    outside a transaction.

    Kept beside the connection's list of commit hooks and forgotten when Django replaces that
    list (a commit, a rollback, a savepoint rollback drops hooks by building a new list): a
    publish it names is then surely still registered, and one asked for again after a
    rollback is simply registered again.
    """
    if not connection.in_atomic_block:
        return None
    hooks = connection.run_on_commit
    kept = getattr(connection, "_pending_publishes", None)
    if kept is None or kept[0] is not hooks:
        kept = (hooks, {})
        connection._pending_publishes = kept
    return kept[1]


def publish_once_on_commit(task: Any, *args: Any, countdown: int | None = None) -> None:
    """Like publish_on_commit, but at most once per transaction for the same task and args: a
    transaction that writes a thousand rows for one drain task publishes that task once.

    A second request with a shorter countdown shortens the one already waiting. Only a hook
    registered in a savepoint still open (or outside any) is reused: Django forgets the hooks
    of a rolled-back savepoint, and a hook from a savepoint already gone is not relied upon.
    """
    if connection.in_atomic_block:
        open_savepoints = set(connection.savepoint_ids)
        # Django keeps (savepoint ids at registration, hook, robust) per hook.
        for entry in connection.run_on_commit:
            sids, hook = entry[0], entry[1]
            if (
                isinstance(hook, Publish)
                and hook.task is task
                and hook.args == args
                and set(sids) <= open_savepoints
            ):
                if hook.countdown is not None and (countdown is None or countdown < hook.countdown):
                    hook.countdown = countdown
                return
    publish_on_commit(task, *args, countdown=countdown)

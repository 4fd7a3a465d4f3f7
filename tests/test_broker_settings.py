"""The broker's timings fit the tasks: a hung broker fails a publish in seconds, and Redis never
hands a task out again while it still runs or waits for its countdown."""

from __future__ import annotations

from django.conf import settings

from config import celery_app

OURS = ("orders.", "notifications.", "compliance.")


def test_redis_hides_a_taken_task_for_minutes_longer_than_any_task_waits_and_runs() -> None:
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert 120 <= visibility <= 600  # minutes, not the hour a killed worker's task used to wait
    longest = settings.TASK_COUNTDOWN_MAX_SECONDS + settings.CELERY_TASK_TIME_LIMIT
    assert longest < visibility
    celery_app.loader.import_default_modules()
    tasks = [task for name, task in celery_app.tasks.items() if name.startswith(OURS)]
    assert len(tasks) >= 8
    for task in tasks:
        assert (
            getattr(task, "retry_backoff_max", 0) or 0
        ) <= settings.TASK_COUNTDOWN_MAX_SECONDS, task.name


def test_a_hung_broker_fails_a_publish_within_seconds() -> None:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    assert options["socket_timeout"] <= 5
    assert options["socket_connect_timeout"] <= 5
    assert settings.CELERY_BROKER_CONNECTION_TIMEOUT <= 5
    assert settings.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] <= 1

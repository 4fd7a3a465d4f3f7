"""Settings of a Celery worker that a test runs as a process of its own (tests/worker_process.py),
so that it can be killed with SIGKILL like a deployed worker: the test's database, the test's
broker keys, and an email backend that records what the provider accepted."""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import CELERY_BROKER_TRANSPORT_OPTIONS, DATABASES

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = os.environ["TEST_WORKER_BROKER_URL"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": os.environ["TEST_WORKER_BROKER_PREFIX"],
}
DATABASES["default"]["NAME"] = os.environ["TEST_WORKER_DATABASE"]
EMAIL_BACKEND = "tests.worker_hooks.RecordingEmailBackend"

import tests.worker_hooks  # noqa: E402, F401 (connects the hooks to Celery's task signals)

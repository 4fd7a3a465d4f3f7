"""Settings for pytest."""

from .base import *  # noqa: F403

SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
# The tracking webhook tests speak Postmark.
EMAIL_PROVIDER = "postmark"

# Tasks run in-process even when REDIS_URL is set; tests that need a real worker say so.
CELERY_TASK_ALWAYS_EAGER = True

# Serve static files straight from the finders, so live-server tests need no collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# Tests exercise the batching window whatever the broker.
NOTIFICATION_BATCH_MINUTES = 15

# The overview computes its figures at every visit; its cache has a test of its own.
OVERVIEW_CACHE_SECONDS = 0

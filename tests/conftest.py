import os

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

POSTGRES_HINT = (
    "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/backorder_desk "
    "(see README)"
)
REDIS_HINT = "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/15 (see README)"


def _redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(autouse=True)
def _require_backends(request: pytest.FixtureRequest) -> None:
    """Skip tests marked postgres/redis without that backend; under CI=true, fail instead."""
    missing = []
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        missing.append(POSTGRES_HINT)
    if request.node.get_closest_marker("redis") and not _redis_available():
        missing.append(REDIS_HINT)
    if not missing:
        return
    reason = "; ".join(missing)
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def client() -> Client:
    """pytest-django's client, posting dashboard forms with their one-time token."""
    from tests.form_client import FormClient

    return FormClient()

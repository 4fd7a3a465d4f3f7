"""Production refuses an unsafe email set-up; only the configured provider's webhook is mounted;
every page carries the Content-Security-Policy and Permissions-Policy headers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "SECRET_KEY": "a-production-key-for-the-test",
    "ALLOWED_HOSTS": "shop.example.com",
    "EMAIL_PROVIDER": "postmark",
    "POSTMARK_SERVER_TOKEN": "token",
}


def import_production_settings(**extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"ANYMAIL", "ANYMAIL_WEBHOOK_SECRET", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(PRODUCTION_ENV, **extra)
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", "import config.settings.production"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_production_refuses_to_start_with_a_provider_but_no_webhook_secret() -> None:
    result = import_production_settings()

    assert result.returncode == 1
    assert "ImproperlyConfigured" in result.stderr
    assert "needs ANYMAIL_WEBHOOK_SECRET" in result.stderr


def test_production_starts_with_the_webhook_secret() -> None:
    result = import_production_settings(ANYMAIL_WEBHOOK_SECRET="user:long-random-password")  # noqa: S106

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "url",
    ["/anymail/sendgrid/tracking/", "/anymail/mailgun/tracking/", "/anymail/postmark/inbound/"],
)
def test_another_providers_webhook_is_not_found(client: Client, url: str) -> None:
    assert client.post(url, data="{}", content_type="application/json").status_code == 404


@pytest.mark.django_db
def test_a_forged_bounce_without_credentials_is_refused(client: Client, settings) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "postmark-hook:9f8e7d6c5b4a"}

    response = client.post(
        "/anymail/postmark/tracking/",
        data='{"RecordType": "Bounce", "MessageID": "x", "Email": "ada@example.com"}',
        content_type="application/json",
    )

    assert response.status_code == 400


@pytest.mark.django_db
def test_pages_carry_the_content_security_policy_and_permissions_policy(client: Client) -> None:
    response = client.get("/dashboard/login/")

    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src-elem 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("style-src-attr")[0]
    policy = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()"):
        assert feature in policy

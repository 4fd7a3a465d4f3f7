import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_admin_login_page_renders_with_branding(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert "Backorder Desk" in response.content.decode()


@pytest.mark.django_db
def test_system_checks_pass():
    call_command("check", fail_level="WARNING")


def test_production_settings_pass_the_deploy_checks(tmp_path):
    """`check --deploy` with production settings prints no warnings at all."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_PROVIDER"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="".join(chr(c) for c in range(65, 123)),
        ALLOWED_HOSTS="shop.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout

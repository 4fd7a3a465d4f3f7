"""The notifications benchmark's smoke size runs and prints its figures (PostgreSQL and Redis)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_the_notifications_benchmark_smoke_run_sends_each_email_once():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}

    run = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(ROOT / "bench" / "notifications.py"), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    figures = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    assert figures["notifications.emails"] == "60"
    assert re.fullmatch(r"\d+(\.\d+)?", figures["notifications.db_limit_emails_per_second"])
    for workers in (1, 2):
        name = f"notifications.workers_{workers}"
        assert re.fullmatch(r"\d+(\.\d+)?", figures[f"{name}.emails_per_second"]), run.stdout
        assert (figures[f"{name}.sent"], figures[f"{name}.lost"]) == ("60", "0")
        assert figures[f"{name}.doubled"] == "0"
    assert figures["notifications.target_nothing_lost_or_doubled_met"] == "True"

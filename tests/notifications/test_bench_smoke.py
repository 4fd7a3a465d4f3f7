"""The notifications benchmark's smoke size runs and prints its figures (PostgreSQL and Redis)."""

from __future__ import annotations

import re

import pytest

from tests.test_bench_smoke import smoke_run

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_the_notifications_benchmark_smoke_run_sends_each_email_once():
    figures = smoke_run("notifications.py", timeout=900)
    assert figures["notifications.emails"] == "60"
    assert re.fullmatch(r"\d+(\.\d+)?", figures["notifications.db_limit_emails_per_second"])
    for workers in (1, 2):
        name = f"notifications.workers_{workers}"
        assert re.fullmatch(r"\d+(\.\d+)?", figures[f"{name}.emails_per_second"]), figures
        assert (figures[f"{name}.sent"], figures[f"{name}.lost"]) == ("60", "0")
        assert figures[f"{name}.doubled"] == "0"
    assert figures["notifications.target_nothing_lost_or_doubled_met"] == "True"

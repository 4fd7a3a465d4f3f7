"""The benchmarks' smoke sizes run and print their figures (PostgreSQL only)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.postgres


def test_the_intake_benchmark_smoke_run_prints_its_figures():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}

    run = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(ROOT / "bench" / "intake.py"), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    figures = dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)
    for name in (
        "intake.in_process.order_place.orders_per_s",
        "intake.in_process.order_place.p95_ms",
        "intake.in_process.order_place.ratio_to_limit",
        "intake.in_process.api.orders_per_s",
        "intake.in_process.api.p95_ms",
        "intake.in_process.api.ratio_to_limit",
        "intake.db_limit_1_conn_orders_per_s",
        "intake.orders_per_s",
        "intake.p50_ms",
        "intake.p95_ms",
        "intake.queries_per_order",
        "intake.db_limit_orders_per_s",
        "intake.ratio_to_limit",
    ):
        assert re.fullmatch(r"\d+(\.\d+)?", figures.get(name, "")), (name, run.stdout)
    assert figures["intake.orders"] == "160"
    assert figures["intake.non_201"] == "0"
    # 42 + 42 in-process (40 timed each), 16 warm-up and 160 over HTTP
    assert figures["intake.orders_in_database"] == "260/260"
    assert figures["intake.invariant_violations"] == "0"
    assert int(figures["intake.backordered_lines"]) > 0

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


def smoke_run(script: str, *, timeout: int = 600) -> dict[str, str]:
    """Run bench/<script> --smoke; its figures by name."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    # The suite's processes (pytest-xdist) may run two benchmarks at once: a database each.
    env["BENCH_DATABASE_SUFFIX"] = os.environ.get("PYTEST_XDIST_WORKER", "")

    run = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(ROOT / "bench" / script), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return dict(line.split(" ", 1) for line in run.stdout.splitlines() if " " in line)


def test_the_intake_benchmark_smoke_run_prints_its_figures():
    figures = smoke_run("intake.py")
    for name in (
        "intake.in_process.order_place.orders_per_s",
        "intake.in_process.order_place.p95_ms",
        "intake.in_process.order_place.ratio_to_limit",
        "intake.in_process.orm_floor.ratio_to_limit",
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
        "intake.in_process.floor.ratio_to_limit",
        "intake.floor.orders_per_s",
        "intake.floor.ratio_to_limit",
    ):
        assert re.fullmatch(r"\d+(\.\d+)?", figures.get(name, "")), (name, figures)
    assert figures["intake.orders"] == "160"
    assert figures["intake.non_201"] == "0"
    # 42 each in-process by order_place, the ORM floor and the API (40 timed each), 16
    # warm-up and 160 over HTTP; the framework floor's posts write no order
    assert figures["intake.orders_in_database"] == "302/302"
    assert figures["intake.invariant_violations"] == "0"
    assert int(figures["intake.backordered_lines"]) > 0


def test_the_deadline_benchmark_smoke_run_prints_its_figures():
    figures = smoke_run("deadline.py")
    for name in (
        "deadline.seconds",
        "deadline.queries_per_order",
        "deadline.ms_per_order",
        "deadline.alone_ms_per_order",
    ):
        assert re.fullmatch(r"\d+(\.\d+)?", figures.get(name, "")), (name, figures)
    assert figures["deadline.orders_due"] == "300"
    assert figures["deadline.cancelled"] == "300/300"
    assert figures["deadline.refunds"] == figures["deadline.cancellation_emails"] == "300"
    assert figures["deadline.waiting_untouched"] == "30/30"
    assert int(figures["deadline.waiting_etas_moved"]) > 0
    assert figures["deadline.invariant_violations"] == "0"
    # Bounded: what one order costs, not what the queue or the day's number of orders costs.
    assert float(figures["deadline.queries_per_order"]) < 20


def test_the_allocation_benchmark_smoke_run_prints_its_figures():
    figures = smoke_run("allocation.py")
    for name in (
        "allocation.step_seconds",
        "allocation.sql_seconds",
        "allocation.ratio",
        "allocation.restock_seconds",
        "allocation.restock_handover_seconds",
    ):
        assert re.fullmatch(r"\d+(\.\d+)?", figures.get(name, "")), (name, figures)
    assert figures["allocation.mail_order_rule_enabled"] == "True"
    assert figures["allocation.identical"] == "True"
    assert figures["allocation.events_identical"] == "True"
    assert figures["allocation.units_allocated"] == "969"
    # every order served has its event and its email, the receipt its ledger row
    assert figures["allocation.rows_events"] == figures["allocation.rows_notifications"] == "500"
    assert figures["allocation.rows_stock_movements"] == "1"


def test_the_dashboard_benchmark_smoke_run_times_every_list_first_and_deepest():
    figures = smoke_run("dashboard.py")

    assert figures["dashboard.orders"] == "3000"
    assert figures["dashboard.lines"] == "9000"
    for page in ("orders", "orders_by_number", "orders_by_ship_by", "queue", "ship"):
        for where in ("first", "deepest"):
            assert re.fullmatch(r"\d+\.\d", figures.get(f"dashboard.{page}_{where}_ms", "")), (
                page,
                where,
                figures,
            )
            assert figures[f"dashboard.{page}_{where}_rows"] != "0"
    assert "dashboard.overview_first_ms" in figures
    assert re.fullmatch(r"\d+\.\d", figures.get("dashboard.overview_computed_ms", "")), figures
    assert "dashboard.orders_page_30_ms" in figures
    assert not [name for name in figures if name.endswith("_status")]

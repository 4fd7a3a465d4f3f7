"""The dashboard stays laid out by area: small modules, templates under their area, CSS only in
static files."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
AREAS = {
    "auth",
    "cancellation_risk",
    "compliance",
    "goodwill",
    "lists",
    "orders",
    "overview",
    "products",
    "purchasing",
    "queue",
    "receiving",
    "reports",
    "shipping",
    "webhooks",
}
MAX_LINES = 500


def test_no_dashboard_module_is_over_500_lines():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in (ROOT / "dashboard").rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}


def test_every_screen_lives_in_its_area():
    views = {path.parent.name for path in (ROOT / "dashboard").glob("*/views.py")}
    assert views == AREAS
    assert not (ROOT / "dashboard" / "views").exists()
    loose = [
        path.name
        for path in (ROOT / "templates" / "dashboard").glob("*.html")
        if path.name != "base.html"
    ]
    assert loose == []
    folders = {path.name for path in (ROOT / "templates" / "dashboard").iterdir() if path.is_dir()}
    assert folders == AREAS


def test_dashboard_templates_carry_no_css():
    offenders = []
    for path in (ROOT / "templates" / "dashboard").rglob("*.html"):
        text = path.read_text()
        if re.search(r"<style\b|\sstyle=\"", text) or "style" in path.stem:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
# A date or moment goes through |day or |moment; only machine-read attributes keep ISO.
RAW_DATE = re.compile(r"\|date:(?!'c'|'Y-m-d')")
MONEY_NAME = re.compile(
    r"\{\{\s*[\w.]*(amount|price|charge|owed|revenue|refunded|goods_value)\b(?![^}]*\|money)[^}]*\}\}"
)


def test_templates_show_dates_and_money_only_through_the_shared_filters():
    offenders = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.*"):
            if path.suffix not in {".html", ".txt"} or ".venv" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                where = f"{path.relative_to(ROOT)}:{number}"
                raw = RAW_DATE.search(line) or MONEY_NAME.search(line)
                if raw or "floatformat" in line or "${{" in line:
                    offenders.append(where)
    assert offenders == []

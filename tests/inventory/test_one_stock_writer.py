"""Stock quantities have one writer: inventory/stock.py. Every other module calls it, so a
change to how on hand, allocated or the movement ledger are written happens in one place."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "inventory" / "stock.py"
# Not the application: tests, migrations, the benchmarks' bulk data set-up, the environment.
SKIPPED = {"tests", "migrations", "bench", ".venv", "node_modules", ".git"}
STOCK_FIELDS = {"on_hand", "allocated"}
MODELS = {"Stock", "StockMovement"}


def _source_files() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not SKIPPED.intersection(path.relative_to(ROOT).parts)
    ]


def stock_writes(source: str) -> list[tuple[int, str]]:
    """(line, what) for every write of stock quantities in `source`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            keywords = {k.arg for k in node.keywords}
            if method in {"update", "bulk_update"} and keywords & STOCK_FIELDS:
                found.append((node.lineno, f".{method}({', '.join(keywords & STOCK_FIELDS)}=...)"))
            owner = node.func.value
            if (
                method in {"create", "bulk_create", "update", "get_or_create", "update_or_create"}
                and isinstance(owner, ast.Attribute)
                and owner.attr == "objects"
                and isinstance(owner.value, ast.Name)
                and owner.value.id in MODELS
            ):
                found.append((node.lineno, f"{owner.value.id}.objects.{method}"))
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in STOCK_FIELDS:
                found.append((node.lineno, f"assignment to .{target.attr}"))
    return found


def test_only_inventory_stock_writes_stock_quantities():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in _source_files()
        if path != WRITER
        for line, what in stock_writes(path.read_text())
    ]
    assert offenders == [], "Write stock through inventory/stock.py:\n" + "\n".join(offenders)


def test_the_check_finds_each_kind_of_write():
    """The check itself must see the writes that used to be scattered over the services."""
    scattered = """
Stock.objects.filter(pk=1).update(allocated=F("allocated") + 2, updated_at=now)
stocks[1].allocated += 2
Stock.objects.filter(pk=1).update(on_hand=F("on_hand") - 1)
StockMovement.objects.create(product_id=1, kind="receipt", quantity=1)
Stock.objects.create(product=product)
stock.on_hand = 5
"""
    assert len(stock_writes(scattered)) == 6
    assert stock_writes(WRITER.read_text()), "inventory/stock.py writes stock"
    harmless = """
LowStockAlert(on_hand=p.on_hand, available=p.available)
Product.objects.annotate(on_hand=F("stock__on_hand"), allocated=F("stock__allocated"))
OrderLine.objects.filter(pk=1).update(quantity_allocated=F("quantity_allocated") + 1)
line.quantity_allocated -= 1
"""
    assert stock_writes(harmless) == []

"""Importing products and stock counts from CSV: a plan to preview, then one all-or-nothing apply.

A stock count becomes an adjustment through `stock_adjust` (the one path that changes on hand
and settles the queue); applying the same counts again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models, transaction
from django.db.models.functions import Lower

from config.csv_cells import FORMULA_STARTS
from inventory.bounds import MAX_LEAD_TIME_DAYS, MAX_QUANTITY
from inventory.locks import lock_stocks
from inventory.models import Product, Stock, Supplier

from .allocation import stock_adjust
from .catalogue import ProductsRefused, products_upsert

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 5000
STOCK_COUNT_REASON = "stock count import"
# A cell saying "none" empties an optional setting (a blank cell leaves it as it is).
NONE_WORDS = frozenset({"none", "no cap", "-"})


class ImportKind(models.TextChoices):
    PRODUCTS = "products", "Products"
    STOCK_COUNTS = "stock_counts", "Stock counts"


# Each kind's columns: name in the file (and its accepted aliases) → field; the first is required.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    ImportKind.PRODUCTS: {
        "sku": ("sku",),
        "name": ("name", "product name"),
        "unit_price": ("unit price", "price"),
        "backorder_policy": ("backorder policy", "policy"),
        "backorder_cap": ("backorder cap", "cap"),
        "lead_time_days": ("lead time days", "lead time"),
        "preferred_supplier": ("supplier", "preferred supplier"),
    },
    ImportKind.STOCK_COUNTS: {
        "sku": ("sku",),
        "counted": ("counted", "counted on hand", "on hand", "quantity"),
    },
}
LABELS = {
    "name": "name",
    "unit_price": "price",
    "backorder_policy": "backorder policy",
    "backorder_cap": "backorder cap",
    "lead_time_days": "lead time (days)",
    "preferred_supplier": "supplier",
    "on_hand": "on hand",
}


class ImportRefused(Exception):
    """The file cannot be imported as it is (its size, encoding, columns or rows)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class ImportStale(Exception):
    """The products or stock changed since the preview: the plan shown is no longer the plan."""


@dataclass(frozen=True)
class RowError:
    row: int
    message: str


@dataclass
class PlannedRow:
    row: int
    sku: str
    action: str  # "create", "change" or "unchanged"
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (what, was, becomes)
    values: dict[str, Any] = field(default_factory=dict)
    product: Product | None = None


@dataclass
class ImportPlan:
    kind: str
    rows: list[PlannedRow]
    errors: list[RowError]
    content_hash: str

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def changed(self) -> int:
        return self.count("change")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def fingerprint(self) -> str:
        """The same file against the same products and stock gives the same fingerprint."""
        shown = [(row.row, row.sku, row.action, row.changes) for row in self.rows]
        text = json.dumps([self.kind, self.content_hash, shown], default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ImportResult:
    kind: str
    created: int
    changed: int
    unchanged: int


def _header_key(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").lower().split())


def _cell(text: str | None) -> str:
    # Our own CSV exports put a ' before a would-be formula; read it back as the text it was.
    text = (text or "").strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def _read(kind: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (row number in the spreadsheet, {field: cell}); refuses the file
    when it cannot be read at all."""
    if kind not in COLUMNS:
        raise ImportRefused(["Choose what the file holds: products or stock counts."])
    if len(content) > MAX_IMPORT_BYTES:
        raise ImportRefused(
            [f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it up."]
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(["The file is not UTF-8 text; save it as “CSV UTF-8”."]) from None
    if "\x00" in text:
        raise ImportRefused(["The file is not a CSV text file."])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise ImportRefused(["The file is empty: the first row must name the columns."])
        aliases = {alias: name for name, names in COLUMNS[kind].items() for alias in (name, *names)}
        fields: list[str | None] = []
        problems = []
        for cell in header:
            key = _header_key(cell)
            name = aliases.get(key) or aliases.get(key.replace(" ", "_"))
            if key and name is None:
                problems.append(f"Unknown column '{cell.strip()[:40]}'.")
            if name is not None and name in fields:
                problems.append(f"The column '{cell.strip()}' appears twice.")
            fields.append(name)
        if "sku" not in fields:
            problems.append("The file needs a 'sku' column.")
        if kind == ImportKind.STOCK_COUNTS and "counted" not in fields:
            problems.append("The file needs a 'counted' column (the units counted on hand).")
        if problems:
            expected = ", ".join(names[0] for names in COLUMNS[kind].values())
            raise ImportRefused([*problems, f"The columns of a {kind} file are: {expected}."])
        rows: list[tuple[int, dict[str, str]]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                raise ImportRefused(
                    [f"The file has more than {MAX_IMPORT_ROWS:,} rows; split it up."]
                )
            values = {
                name: _cell(cells[index] if index < len(cells) else "")
                for index, name in enumerate(fields)
                if name is not None
            }
            rows.append((reader.line_num, values))
    except csv.Error as exc:
        raise ImportRefused(
            [f"Row {reader.line_num}: the file is not valid CSV ({exc})."]
        ) from None
    if not rows:
        raise ImportRefused(["The file has a header but no rows."])
    return rows


def _whole(text: str, *, what: str, most: int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ValueError(f"{what} must be a whole number (got '{text[:20]}').") from None
    if not 0 <= number <= most:
        raise ValueError(f"{what} must be between 0 and {most:,} (got {number:,}).")
    return number


def _optional_whole(text: str, *, what: str, most: int) -> int | None:
    return None if text.lower() in NONE_WORDS else _whole(text, what=what, most=most)


def _price(text: str) -> Decimal:
    try:
        price = Decimal(text.replace(",", "")) if text else Decimal("nan")
    except InvalidOperation:
        price = Decimal("nan")
    if not price.is_finite():
        raise ValueError(f"The price must be an amount such as 12.50 (got '{text[:20]}').")
    if price < 0 or price >= Decimal("1e10"):
        raise ValueError(f"The price must be between 0 and 9,999,999,999.99 (got {text[:20]}).")
    if price != price.quantize(Decimal("0.01")):
        raise ValueError(f"The price has more than two decimals (got {text[:20]}).")
    return price.quantize(Decimal("0.01"))


def _policy(text: str) -> str:
    word = text.lower().split(" ")[0]
    if word not in Product.BackorderPolicy.values:
        raise ValueError(f"The backorder policy is 'allow' or 'deny' (got '{text[:20]}').")
    return word


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Supplier):
        return value.name
    return str(value)


def _existing_products(skus: list[str]) -> dict[str, Product]:
    keys = sorted({sku.lower() for sku in skus if sku})
    found = (
        Product.objects.annotate(sku_key=Lower("sku"))
        .filter(sku_key__in=keys)
        .select_related("preferred_supplier")
    )
    return {product.sku.lower(): product for product in found}


def _product_row(
    row: int,
    values: dict[str, str],
    product: Product | None,
    suppliers: dict[str, Supplier],
) -> PlannedRow:
    sku = values["sku"]
    wanted: dict[str, Any] = {}
    errors: list[str] = []
    given = {name for name, text in values.items() if text}
    for name, text in values.items():
        if name == "sku" or not text:
            continue
        try:
            if name == "name":
                if len(text) > 200:
                    raise ValueError("The name is at most 200 characters.")
                wanted[name] = text
            elif name == "unit_price":
                wanted[name] = _price(text)
            elif name == "backorder_policy":
                wanted[name] = _policy(text)
            elif name == "backorder_cap":
                wanted[name] = _optional_whole(text, what="The backorder cap", most=MAX_QUANTITY)
            elif name == "lead_time_days":
                wanted[name] = _optional_whole(
                    text, what="The lead time (days)", most=MAX_LEAD_TIME_DAYS
                )
            elif name == "preferred_supplier":
                if text.lower() in NONE_WORDS:
                    wanted[name] = None
                elif text.lower() in suppliers:
                    wanted[name] = suppliers[text.lower()]
                else:
                    raise ValueError(f"No supplier is named '{text[:60]}'; add it first.")
        except ValueError as exc:
            errors.append(str(exc))
    if product is None:
        if "name" not in given:
            errors.append(f"{sku} is a new product: give its name.")
        if "unit_price" not in given:
            errors.append(f"{sku} is a new product: give its price.")
    if errors:
        raise ValueError(" ".join(errors))
    if product is None:
        changes = [(LABELS[name], "", _shown(value)) for name, value in wanted.items()]
        return PlannedRow(row, sku, "create", changes, wanted)
    changes = [
        (LABELS[name], _shown(getattr(product, name)), _shown(value))
        for name, value in wanted.items()
        if getattr(product, name) != value
    ]
    changed = {name: value for name, value in wanted.items() if getattr(product, name) != value}
    return PlannedRow(
        row, product.sku, "change" if changed else "unchanged", changes, changed, product
    )


def _count_row(
    row: int, values: dict[str, str], product: Product | None, on_hand: dict[int, int]
) -> PlannedRow:
    sku = values["sku"]
    if product is None:
        raise ValueError(f"No product has the SKU '{sku}'.")
    counted = _whole(values["counted"], what="The count", most=MAX_QUANTITY)
    before = on_hand.get(product.pk, 0)
    if counted == before:
        return PlannedRow(row, product.sku, "unchanged", [], {}, product)
    return PlannedRow(
        row,
        product.sku,
        "change",
        [(LABELS["on_hand"], str(before), str(counted))],
        {"adjustment": counted - before},
        product,
    )


def catalogue_import_plan(*, kind: str, content: bytes) -> ImportPlan:
    """What importing the file would do, row by row, and what is wrong with which row.

    Reads only; raises ImportRefused when the file as a whole cannot be read."""
    read = _read(kind, content)
    products = _existing_products([values.get("sku", "") for _, values in read])
    suppliers: dict[str, Supplier] = {}
    on_hand: dict[int, int] = {}
    if kind == ImportKind.PRODUCTS:
        suppliers = {supplier.name.lower(): supplier for supplier in Supplier.objects.all()}
    else:
        on_hand = dict(
            Stock.objects.filter(pk__in=[p.pk for p in products.values()]).values_list(
                "pk", "on_hand"
            )
        )
    rows: list[PlannedRow] = []
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    for row, values in read:
        sku = values.get("sku", "")
        if not sku:
            errors.append(RowError(row, "The SKU is empty."))
            continue
        if len(sku) > 64:
            errors.append(RowError(row, "The SKU is at most 64 characters."))
            continue
        if sku.lower() in first_row:
            errors.append(RowError(row, f"{sku} is already on row {first_row[sku.lower()]}."))
            continue
        first_row[sku.lower()] = row
        product = products.get(sku.lower())
        try:
            if kind == ImportKind.PRODUCTS:
                rows.append(_product_row(row, values, product, suppliers))
            else:
                rows.append(_count_row(row, values, product, on_hand))
        except ValueError as exc:
            errors.append(RowError(row, str(exc)))
    return ImportPlan(kind, rows, errors, hashlib.sha256(content).hexdigest())


@transaction.atomic
def catalogue_import_apply(
    *, kind: str, content: bytes, fingerprint: str, actor: Any = None
) -> ImportResult:
    """Apply a previewed import in one transaction: every row or none.

    Raises ImportRefused (the file or a row is wrong) or ImportStale (the products or stock
    moved since the preview, whose fingerprint is given)."""
    if kind == ImportKind.STOCK_COUNTS:
        # Counts are compared with on hand under the stock locks, taken in pk order up front.
        skus = [values.get("sku", "") for _, values in _read(kind, content)]
        lock_stocks(product_ids=[product.pk for product in _existing_products(skus).values()])
    plan = catalogue_import_plan(kind=kind, content=content)
    if plan.errors:
        raise ImportRefused([f"Row {error.row}: {error.message}" for error in plan.errors])
    if plan.fingerprint != fingerprint:
        raise ImportStale(
            "The products or stock changed since the preview; check the new preview and apply."
        )
    if kind == ImportKind.PRODUCTS:
        to_write = [row for row in plan.rows if row.action != "unchanged"]
        try:
            products_upsert(
                items=[{"sku": row.sku, **row.values} for row in to_write],
                reason="product settings imported",
                actor=actor,
            )
        except ProductsRefused as refused:
            raise ImportRefused(
                [
                    f"Row {to_write[index].row}: {' '.join(sum(errors.values(), []))}"
                    for index, errors in sorted(refused.errors.items())
                ]
            ) from None
        return ImportResult(kind, plan.created, plan.changed, plan.unchanged)
    for planned in sorted(plan.rows, key=lambda r: r.product.pk if r.product else 0):
        if planned.action == "change" and planned.product is not None:
            stock_adjust(
                product=planned.product,
                quantity=planned.values["adjustment"],
                reason=STOCK_COUNT_REASON,
                reference=f"CSV row {planned.row}",
                actor=actor,
            )
    return ImportResult(kind, plan.created, plan.changed, plan.unchanged)

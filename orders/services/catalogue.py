"""Creating and updating many products at once by SKU (a storefront's catalogue sync)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from inventory.locks import lock_stocks
from inventory.models import Product
from inventory.stock import stocks_open, stocks_touch

from .eta import _eta_refresh_products

# What a sync may set; discontinuing has its own service (it cancels the waiting lines).
UPSERT_FIELDS = (
    "name",
    "unit_price",
    "backorder_policy",
    "backorder_cap",
    "is_preorder",
    "release_date",
    "lead_time_days",
    "backorder_limit_from_incoming",
    "backorder_margin",
    "exempt_from_mail_order_rule",
    "preferred_supplier",
)
# Changing these moves the ETAs of the product's waiting lines.
ETA_FIELDS = frozenset({"lead_time_days", "preferred_supplier", "is_preorder", "release_date"})
MAX_UPSERT_ITEMS = 500


class ProductsRefused(Exception):
    """Some items are wrong: nothing was written. `errors` maps an item's index to its
    messages by field ('sku', a field name, or 'non_field_errors')."""

    def __init__(self, errors: dict[int, dict[str, list[str]]]) -> None:
        super().__init__(f"{len(errors)} product(s) refused")
        self.errors = errors


@dataclass(frozen=True)
class UpsertResult:
    sku: str
    action: str  # "created", "changed" or "unchanged"
    changed: tuple[str, ...] = ()


def _clean(product: Product, fields: Sequence[str]) -> dict[str, list[str]]:
    try:
        product.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors = {
            field: messages
            for field, messages in exc.message_dict.items()
            if field in fields or field == "__all__"
        }
    else:
        errors = {}
    if product.is_preorder and product.release_date is None:
        errors.setdefault("release_date", []).append("A preorder needs a release date.")
    return {("non_field_errors" if f == "__all__" else f): m for f, m in errors.items()}


@transaction.atomic
def products_upsert(
    *,
    items: Sequence[Mapping[str, Any]],
    reason: str = "product settings synced",
    actor: Any = None,
) -> list[UpsertResult]:
    """Create or update products by SKU (case-insensitive), all or nothing.

    Each item has a `sku` and any of UPSERT_FIELDS (`preferred_supplier` a Supplier); a new
    product needs a name and a price. Waiting lines' ETAs move with the settings they rest on
    (`reason` says why on their timeline). Raises ProductsRefused naming every bad item;
    nothing is written then."""
    if len(items) > MAX_UPSERT_ITEMS:
        raise ValidationError(f"Send at most {MAX_UPSERT_ITEMS} products at once.")
    keys = [str(item.get("sku", "")).strip().lower() for item in items]
    existing: dict[str, Product] = {
        p.sku.lower(): p
        for p in Product.objects.annotate(sku_key=Lower("sku")).filter(sku_key__in=set(keys))
    }
    # Settings that decide what an order may take change under the products' stock locks.
    stocks = lock_stocks(product_ids=[p.pk for p in existing.values()])
    errors: dict[int, dict[str, list[str]]] = {}
    seen: dict[str, int] = {}
    planned: list[tuple[Product, str, tuple[str, ...]]] = []
    for index, (item, key) in enumerate(zip(items, keys, strict=True)):
        unknown = sorted(set(item) - {"sku", *UPSERT_FIELDS})
        if unknown:
            errors[index] = {name: ["Not a product setting this accepts."] for name in unknown}
            continue
        if not key:
            errors[index] = {"sku": ["Give the product's SKU."]}
            continue
        if key in seen:
            errors[index] = {"sku": [f"The SKU is already item {seen[key]} of this request."]}
            continue
        seen[key] = index
        wanted = {name: item[name] for name in UPSERT_FIELDS if name in item}
        found = existing.get(key)
        if found is None:
            missing = [name for name in ("name", "unit_price") if wanted.get(name) in (None, "")]
            if missing:
                errors[index] = {name: ["A new product needs this."] for name in missing}
                continue
            product = Product(sku=str(item["sku"]).strip(), **wanted)
            action, changed = "created", tuple(wanted)
        else:
            product = found
            changed = tuple(n for n, value in wanted.items() if getattr(product, n) != value)
            for name in changed:
                setattr(product, name, wanted[name])
            action = "changed" if changed else "unchanged"
        problems = _clean(product, ("sku", *wanted))
        if problems:
            errors[index] = problems
            continue
        planned.append((product, action, changed))
    if errors:
        raise ProductsRefused(errors)

    new = [product for product, action, _ in planned if action == "created"]
    try:
        with transaction.atomic():
            Product.objects.bulk_create(new)
    except IntegrityError:
        # Another request created one of these SKUs a moment ago.
        raise ProductsRefused(
            {keys.index(p.sku.lower()): {"sku": ["Created meanwhile; send it again."]} for p in new}
        ) from None
    stocks_open(products=new)
    updates = [(product, changed) for product, action, changed in planned if action == "changed"]
    fields = sorted({name for _, changed in updates for name in changed})
    if updates:
        Product.objects.bulk_update([product for product, _ in updates], fields)
        stocks_touch(product_ids=[product.pk for product, _ in updates], now=timezone.now())
    moved = [product.pk for product, changed in updates if ETA_FIELDS.intersection(changed)]
    if moved:
        _eta_refresh_products(product_ids=moved, reason=reason, actor=actor, stocks=stocks)
    return [UpsertResult(product.sku, action, changed) for product, action, changed in planned]

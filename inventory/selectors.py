from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from .models import (
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseReceipt,
    Stock,
    StockMovement,
    Supplier,
)


def product_ledger(*, product_id: int) -> QuerySet[StockMovement]:
    return StockMovement.objects.filter(product_id=product_id).select_related("created_by")


def stock_ledger_mismatches() -> list[tuple[int, str, int, int]]:
    """(product id, sku, on hand, ledger sum) for every product whose on hand ≠ its movements."""
    sums = dict(
        StockMovement.objects.values_list("product_id")
        .annotate(total=Sum("quantity"))
        .order_by()
        .values_list("product_id", "total")
    )
    return [
        (stock.pk, stock.product.sku, stock.on_hand, sums.get(stock.pk, 0))
        for stock in Stock.objects.select_related("product").order_by("pk")
        if stock.on_hand != sums.get(stock.pk, 0)
    ]


def earlier_receipt(*, product_id: int, reference: str) -> StockMovement | None:
    """The latest receipt of the product under `reference` (case and spaces ignored), if any:
    receiving under it again is most likely the same delivery entered twice."""
    reference = reference.strip()
    if not reference:
        return None
    return (
        StockMovement.objects.filter(
            product_id=product_id,
            kind=StockMovement.Kind.RECEIPT,
            reference__iexact=reference,
        )
        .order_by("-created_at", "-id")
        .first()
    )


def largest_receipt(*, product_id: int) -> int:
    found = StockMovement.objects.filter(
        product_id=product_id, kind=StockMovement.Kind.RECEIPT
    ).aggregate(largest=Max("quantity"))["largest"]
    return int(found or 0)


def products_without_stock() -> QuerySet[Product]:
    return Product.objects.filter(stock__isnull=True)


@dataclass(frozen=True)
class Supply:
    """Units still to arrive on one open purchase-order line."""

    expected_date: dt.date
    quantity: int
    reference: str


def open_purchase_lines() -> QuerySet[PurchaseOrderLine]:
    """Lines of sent purchase orders with units still to arrive."""
    return PurchaseOrderLine.objects.filter(
        is_cancelled=False,
        quantity_received__lt=F("quantity_ordered"),
        purchase_order__status__in=PurchaseOrder.OPEN_STATUSES,
    )


def incoming_supply(*, product_ids: Iterable[int]) -> dict[int, list[Supply]]:
    """Each product's open supply, earliest expected first (one query)."""
    supply: dict[int, list[Supply]] = defaultdict(list)
    rows = (
        open_purchase_lines()
        .filter(product_id__in=list(product_ids))
        .order_by("expected_date", "id")
        .values_list(
            "product_id",
            "expected_date",
            "quantity_ordered",
            "quantity_received",
            "purchase_order__number",
        )
    )
    for product_id, expected, ordered, received, number in rows:
        supply[product_id].append(Supply(expected, ordered - received, number))
    return supply


def incoming_units_subquery() -> Subquery:
    """Units on open purchase orders for the product at OuterRef('pk'), for annotations."""
    return Subquery(
        open_purchase_lines()
        .filter(product_id=OuterRef("pk"))
        .values("product_id")
        .annotate(units=Sum(F("quantity_ordered") - F("quantity_received")))
        .values("units")[:1]
    )


def purchase_order_detail(*, purchase_order_id: int) -> PurchaseOrder:
    return (
        PurchaseOrder.objects.select_related("supplier", "created_by")
        .prefetch_related("lines__product", "events")
        .get(pk=purchase_order_id)
    )


# --- supplier reliability -------------------------------------------------------------------

SCORECARD_DAYS = 180
ONE_PLACE = Decimal("0.1")


def nearest_rank(values: Sequence[int], share: float) -> int | None:
    """The smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _share(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


@dataclass(frozen=True)
class SupplierScorecard:
    """How one supplier kept its dates over a window: slips are days after the first promised
    date (late positive, early negative), one per receipt."""

    supplier_id: int
    name: str
    slips: tuple[int, ...] = ()
    lines: int = 0
    units_ordered: int = 0
    units_received: int = 0
    date_moves: int = 0

    @property
    def receipts(self) -> int:
        return len(self.slips)

    @property
    def on_time(self) -> int:
        return sum(1 for slip in self.slips if slip <= 0)

    @property
    def on_time_percent(self) -> int | None:
        return _share(self.on_time, self.receipts)

    @property
    def median_slip(self) -> Decimal | None:
        if not self.slips:
            return None
        return Decimal(str(statistics.median(self.slips))).quantize(ONE_PLACE)

    def slip_percentile(self, share: float) -> int | None:
        return nearest_rank(self.slips, share)

    @property
    def p90_slip(self) -> int | None:
        return self.slip_percentile(0.9)

    @property
    def fill_percent(self) -> int | None:
        return _share(self.units_received, self.units_ordered)

    @property
    def average_date_moves(self) -> Decimal | None:
        if not self.lines:
            return None
        return (Decimal(self.date_moves) / self.lines).quantize(ONE_PLACE)


def supplier_scorecards(
    *, today: dt.date, days: int = SCORECARD_DAYS, supplier_ids: Iterable[int] | None = None
) -> list[SupplierScorecard]:
    """Every supplier's scorecard over the `days` store days up to `today`, by name: receipts in
    the window, and the purchase-order lines first promised in it that are closed or due (fill
    rate and date moves). Three queries, whatever the history."""
    since = today - dt.timedelta(days=days - 1)
    suppliers = Supplier.objects.order_by("name")
    receipts = PurchaseReceipt.objects.filter(received_on__range=(since, today))
    promised = Coalesce("promised_date", "expected_date")
    lines = (
        PurchaseOrderLine.objects.exclude(purchase_order__status=PurchaseOrder.Status.DRAFT)
        .alias(promised=promised)
        .filter(promised__gte=since)
        .filter(
            Q(
                purchase_order__status__in=[
                    PurchaseOrder.Status.RECEIVED,
                    PurchaseOrder.Status.CANCELLED,
                ]
            )
            | Q(expected_date__lte=today)
        )
    )
    if supplier_ids is not None:
        ids = list(supplier_ids)
        suppliers = suppliers.filter(pk__in=ids)
        receipts = receipts.filter(supplier_id__in=ids)
        lines = lines.filter(purchase_order__supplier_id__in=ids)
    slips: dict[int, list[int]] = defaultdict(list)
    for supplier_id, slip in receipts.order_by().values_list("supplier_id", "slip_days"):
        slips[supplier_id].append(slip)
    totals: dict[int, Any] = {
        row["purchase_order__supplier_id"]: row
        for row in lines.values("purchase_order__supplier_id")
        .annotate(
            lines=Count("id"),
            ordered=Sum("quantity_ordered"),
            received=Sum("quantity_received"),
            moves=Sum("reschedule_count"),
        )
        .order_by()
    }
    cards = []
    for supplier_id, name in suppliers.values_list("id", "name"):
        row = totals.get(supplier_id) or {}
        cards.append(
            SupplierScorecard(
                supplier_id=supplier_id,
                name=name,
                slips=tuple(sorted(slips.get(supplier_id, ()))),
                lines=row.get("lines") or 0,
                units_ordered=row.get("ordered") or 0,
                units_received=row.get("received") or 0,
                date_moves=row.get("moves") or 0,
            )
        )
    return cards


def supplier_receipts(*, supplier_id: int, limit: int = 50) -> QuerySet[PurchaseReceipt]:
    """A supplier's latest receipts with their purchase order and product, newest first."""
    return (
        PurchaseReceipt.objects.filter(supplier_id=supplier_id)
        .select_related("line__purchase_order", "line__product")
        .order_by("-received_on", "-id")[:limit]
    )


# --- how sure a supplier's date is ------------------------------------------------------------

# A supplier needs this many receipts in the window before its slips pad a date.
RANGE_MIN_RECEIPTS = 5
LIKELY_SHARE = 0.8


@dataclass(frozen=True)
class DateRange:
    """A promised date padded by the supplier's measured slips: between `earliest` and `latest`
    (its 10th and 90th percentile), and `likely` by (80th percentile)."""

    promised: dt.date
    earliest: dt.date
    likely: dt.date
    latest: dt.date
    receipts: int
    likely_percent: int = round(100 * LIKELY_SHARE)


def supply_date_ranges(
    *, dated: Iterable[tuple[str, dt.date]], today: dt.date
) -> dict[tuple[str, dt.date], DateRange]:
    """For each (purchase order number, date that depends on it), the date padded by the
    PO's supplier's slips, when the supplier has at least RANGE_MIN_RECEIPTS receipts in the
    scorecard window. Slips count from each line's first promise, so a date already moved is
    padded as if it had not been: on the cautious side. Four queries, or none."""
    dated = list(dated)
    if not dated:
        return {}
    supplier_of = dict(
        PurchaseOrder.objects.filter(number__in={number for number, _ in dated}).values_list(
            "number", "supplier_id"
        )
    )
    if not supplier_of:
        return {}
    cards = {
        card.supplier_id: card
        for card in supplier_scorecards(today=today, supplier_ids=set(supplier_of.values()))
        if card.receipts >= RANGE_MIN_RECEIPTS
    }
    ranges = {}
    for number, date in dated:
        card = cards.get(supplier_of.get(number, 0))
        if card is None:
            continue
        low, likely, high = (card.slip_percentile(s) or 0 for s in (0.1, LIKELY_SHARE, 0.9))
        earliest = max(date + dt.timedelta(days=low), today)
        latest = max(date + dt.timedelta(days=high), earliest)
        ranges[(number, date)] = DateRange(
            promised=date,
            earliest=earliest,
            likely=min(max(date + dt.timedelta(days=likely), earliest), latest),
            latest=latest,
            receipts=card.receipts,
        )
    return ranges

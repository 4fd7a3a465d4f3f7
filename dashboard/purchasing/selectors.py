"""Reads for the purchasing screens: the purchase-order list and page, reorder suggestions, and
the preview of what moving an expected date would do to customers' ETAs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    F,
    IntegerField,
    Min,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Lower

from compliance.models import OrderCompliance
from compliance.selectors import at_risk_lines_q, ship_by_expression
from inventory.models import (
    Product,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
)
from inventory.selectors import Supply, open_purchase_lines
from notifications.services import eta_changes_worth_telling
from orders.models import Order, OrderLine
from orders.selectors import (
    Eta,
    EtaWalker,
    eta_contexts,
    product_replenishment,
    store_today,
    waiting_line_batches,
)

from ..lists.filters import NO_DATE, window_q

QUEUE_BATCH_SIZE = 2000
SAMPLE_SIZE = 10

_OUTSTANDING = Q(
    lines__is_cancelled=False, lines__quantity_received__lt=F("lines__quantity_ordered")
)


# A sent time after every real one, so unsent orders sort last going up (never NULL).
NOT_SENT = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def purchase_order_list(
    *,
    status: str = "",
    supplier_id: int | None = None,
    due: str = "",
    today: dt.date | None = None,
) -> QuerySet[PurchaseOrder]:
    """Purchase orders, newest first, with lines, units outstanding and the next expected date
    (and that date and the sent time never NULL, to sort on). `due` is a DUE_WINDOWS key over
    the next expected date.

    One query per page (plus the count): the line figures are aggregated in it.
    """
    next_expected = Min("lines__expected_date", filter=_OUTSTANDING)
    orders = PurchaseOrder.objects.select_related("supplier").annotate(
        supplier_name=F("supplier__name"),
        line_count=Count("lines"),
        units_outstanding=Coalesce(
            Sum(
                F("lines__quantity_ordered") - F("lines__quantity_received"),
                filter=_OUTSTANDING,
            ),
            0,
            output_field=IntegerField(),
        ),
        next_expected=next_expected,
        next_expected_key=Coalesce(next_expected, Value(NO_DATE), output_field=DateField()),
        sent_key=Coalesce("sent_at", Value(NOT_SENT), output_field=DateTimeField()),
    )
    if status:
        orders = orders.filter(status=status)
    if supplier_id is not None:
        orders = orders.filter(supplier_id=supplier_id)
    if due:
        orders = orders.filter(window_q("next_expected", due, today=today or store_today()))
    return orders.order_by("-created_at", "-id")


def purchase_order_page(*, purchase_order_id: int) -> PurchaseOrder:
    """One purchase order with its lines (and products) and its history (and who did what)."""
    return (
        PurchaseOrder.objects.select_related("supplier", "created_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=PurchaseOrderLine.objects.select_related("product").order_by("id"),
            ),
            Prefetch(
                "events",
                queryset=PurchaseOrderEvent.objects.select_related("actor", "line__product"),
            ),
        )
        .get(pk=purchase_order_id)
    )


def purchase_line_for_reschedule(*, line_id: int) -> PurchaseOrderLine:
    return PurchaseOrderLine.objects.select_related("product", "purchase_order__supplier").get(
        pk=line_id
    )


def reorder_suggestions() -> QuerySet[Product]:
    """Products to reorder (suggested quantity above 0), grouped by preferred supplier."""
    suggestions: Any = product_replenishment()
    return suggestions.filter(suggested_quantity__gt=0).order_by(
        Lower("preferred_supplier__name").asc(nulls_last=True), "sku"
    )


def products_by_sku(skus: Iterable[str]) -> dict[str, Product]:
    """Products by lower-cased SKU, in one query (SKUs are unique whatever their case)."""
    wanted = {sku.strip().lower() for sku in skus if sku.strip()}
    if not wanted:
        return {}
    products = Product.objects.annotate(sku_lower=Lower("sku")).filter(sku_lower__in=wanted)
    return {product.sku.lower(): product for product in products}


# --- what moving an expected date would do ----------------------------------------------


@dataclass(frozen=True)
class AffectedOrder:
    order_id: int
    number: str
    customer: str
    old: dt.date | None
    new: dt.date | None
    ship_by: dt.date | None = None
    pushed_past_ship_by: bool = False

    @property
    def shift_days(self) -> int | None:
        if self.old is None or self.new is None:
            return None
        return (self.new - self.old).days


@dataclass
class ReschedulePreview:
    """What `purchase_order_line_reschedule` would write, worked out without writing it."""

    old_date: dt.date
    new_date: dt.date
    counts_as_supply: bool
    lines_waiting: int = 0
    lines_later: int = 0
    lines_earlier: int = 0
    orders_later: int = 0
    orders_earlier: int = 0
    orders_changed: int = 0
    orders_emailed: int = 0
    max_days_later: int = 0
    max_days_earlier: int = 0
    lines_to_unknown: int = 0
    # Orders whose ETA moves past their ship-by date: each gets a delay option notice (or a
    # renewed one) from the rule engine. And orders whose ETA comes back within it.
    orders_pushed_past_ship_by: int = 0
    orders_saved: int = 0
    sample: list[AffectedOrder] = field(default_factory=list)

    @property
    def delay_notices(self) -> int:
        return self.orders_pushed_past_ship_by

    @property
    def lines_changed(self) -> int:
        return self.lines_later + self.lines_earlier


def _is_later(old: Eta, new: Eta) -> bool:
    if old.date is None:
        return False
    return new.date is None or new.date > old.date


def _supplies_with(
    *, product_id: int, line_id: int, expected_date: dt.date
) -> tuple[list[Supply], bool]:
    """The product's open supply as `incoming_supply` builds it, with one line's date moved."""
    rows = list(
        open_purchase_lines()
        .filter(product_id=product_id)
        .values_list(
            "id", "expected_date", "quantity_ordered", "quantity_received", "purchase_order__number"
        )
    )
    moved = [
        (expected_date if pk == line_id else expected, pk, ordered - received, number)
        for pk, expected, ordered, received, number in rows
    ]
    moved.sort(key=lambda row: (row[0], row[1]))
    supplies = [Supply(expected, units, number) for expected, _, units, number in moved]
    return supplies, any(pk == line_id for pk, *_ in rows)


def _ship_by_dates(order_ids: list[int]) -> dict[int, dt.date]:
    """Each order's ship-by date (compliance.selectors), for the orders that have one."""
    dates: dict[int, dt.date] = {}
    for start in range(0, len(order_ids), QUEUE_BATCH_SIZE):
        rows = (
            OrderCompliance.objects.filter(order_id__in=order_ids[start : start + QUEUE_BATCH_SIZE])
            .annotate(ship_by=ship_by_expression(""))
            .filter(ship_by__isnull=False)
            .values_list("order_id", "ship_by")
        )
        dates.update(rows)
    return dates


def _ship_by_effects(
    *, moves: dict[int, list[tuple[dt.date | None, dt.date | None]]], exempt: bool
) -> tuple[set[int], set[int], dict[int, dt.date]]:
    """Of the orders whose ETAs move (old, new), those pushed past their ship-by date and those
    brought back within it; and the ship-by dates. An unknown ETA counts as past."""
    if exempt or not moves:
        return set(), set(), {}
    ship_by = _ship_by_dates(sorted(moves))
    pushed: set[int] = set()
    saved: set[int] = set()
    for order_id, changes in moves.items():
        last_day = ship_by.get(order_id)
        if last_day is None:
            continue

        def past(day: dt.date | None, last_day: dt.date = last_day) -> bool:
            return day is None or day > last_day

        if any(not past(old) and past(new) for old, new in changes):
            pushed.add(order_id)
        elif any(past(old) and not past(new) for old, new in changes):
            saved.add(order_id)
    return pushed, saved, ship_by


def reschedule_preview(
    *, line: PurchaseOrderLine, expected_date: dt.date, sample_size: int = SAMPLE_SIZE
) -> ReschedulePreview:
    """How many customers' ETAs would move, and by how much, if `line` were expected on
    `expected_date`. Reads only: the product's supply is rebuilt in memory with the date moved
    and its queue walked once, in batches, exactly as the ETA refresh walks it.

    ETAs are compared with what each line holds now, as the refresh compares them, so a stale
    ETA that any refresh would correct counts too. Queries: 3 + 1 per 2,000 waiting lines + 1.
    """
    product = Product.objects.select_related("preferred_supplier").get(pk=line.product_id)
    context = eta_contexts(products=[product], today=store_today())[product.pk]
    supplies, counts_as_supply = _supplies_with(
        product_id=product.pk, line_id=line.pk, expected_date=expected_date
    )
    walker = EtaWalker(dataclasses.replace(context, supplies=supplies))
    preview = ReschedulePreview(
        old_date=line.expected_date, new_date=expected_date, counts_as_supply=counts_as_supply
    )
    later: set[int] = set()
    earlier: set[int] = set()
    changes_by_order: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    first_change: dict[int, tuple[Eta, Eta]] = {}
    moves: dict[int, list[tuple[dt.date | None, dt.date | None]]] = defaultdict(list)
    for batch in waiting_line_batches(product_id=product.pk, batch_size=QUEUE_BATCH_SIZE):
        for waiting_line in batch:
            line_id, order_id, old = waiting_line.id, waiting_line.order_id, waiting_line.eta
            backordered = waiting_line.backordered
            preview.lines_waiting += 1
            new = walker.take(backordered)
            if new == old:
                continue
            if new.date == old.date:
                # Same day, another basis (e.g. now covered by this PO): no customer sees it.
                continue
            if _is_later(old, new):
                preview.lines_later += 1
                later.add(order_id)
            else:
                preview.lines_earlier += 1
                earlier.add(order_id)
            if old.date is not None and new.date is not None:
                days = (new.date - old.date).days
                preview.max_days_later = max(preview.max_days_later, days)
                preview.max_days_earlier = max(preview.max_days_earlier, -days)
            elif new.date is None:
                preview.lines_to_unknown += 1
            first_change.setdefault(order_id, (old, new))
            moves[order_id].append((old.date, new.date))
            changes_by_order[order_id][str(line_id)] = {
                "sku": product.sku,
                "old": old.date.isoformat() if old.date else None,
                "old_source": old.source,
                "new": new.date.isoformat() if new.date else None,
                "source": new.source,
            }
    preview.orders_later = len(later)
    preview.orders_earlier = len(earlier)
    preview.orders_changed = len(changes_by_order)
    preview.orders_emailed = sum(
        1
        for changes in changes_by_order.values()
        if eta_changes_worth_telling({"changes": changes})
    )
    pushed, saved, ship_by = _ship_by_effects(
        moves=moves, exempt=product.exempt_from_mail_order_rule
    )
    preview.orders_pushed_past_ship_by = len(pushed)
    preview.orders_saved = len(saved)
    sample_ids = list(first_change)[:sample_size]
    if sample_ids:
        orders = Order.objects.select_related("customer").in_bulk(sample_ids)
        for order_id in sample_ids:
            order = orders[order_id]
            old, new = first_change[order_id]
            preview.sample.append(
                AffectedOrder(
                    order_id=order_id,
                    number=order.number,
                    customer=str(order.customer),
                    old=old.date,
                    new=new.date,
                    ship_by=ship_by.get(order_id),
                    pushed_past_ship_by=order_id in pushed,
                )
            )
    return preview


# --- which supplier to chase ---------------------------------------------------------------

CHASE_CANDIDATES = 40


@dataclass(frozen=True)
class ChaseRow:
    """An open purchase-order line and what pulling it in to today would do."""

    line: PurchaseOrderLine
    days_early: int
    customers_saved: int

    @property
    def saved_per_day(self) -> float:
        return self.customers_saved / self.days_early

    @property
    def saved_per_day_shown(self) -> Decimal:
        """The ratio as the chase list prints it, to two places."""
        return Decimal(self.customers_saved / self.days_early).quantize(Decimal("0.01"))


def chase_ranking(*, today: dt.date, candidates: int = CHASE_CANDIDATES) -> list[ChaseRow]:
    """Open purchase-order lines ranked by customers saved from a delay notice per day pulled
    in: for each line still due after today whose product has customers at risk, how many of
    their orders would be back within their ship-by date if it arrived today, divided by the
    days that is earlier. Lines that would save nobody are left out.

    Only the `candidates` lines due soonest are worked out (one preview each)."""
    at_risk_products = OrderLine.objects.filter(at_risk_lines_q()).values("product_id")
    lines = list(
        open_purchase_lines()
        .filter(product_id__in=at_risk_products, expected_date__gt=today)
        .select_related("product", "purchase_order__supplier")
        .order_by("expected_date", "id")[:candidates]
    )
    rows = []
    for line in lines:
        preview = reschedule_preview(line=line, expected_date=today, sample_size=0)
        if preview.orders_saved:
            rows.append(
                ChaseRow(
                    line=line,
                    days_early=(line.expected_date - today).days,
                    customers_saved=preview.orders_saved,
                )
            )
    rows.sort(key=lambda row: (-row.saved_per_day, -row.customers_saved, row.line.pk))
    return rows

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import (
    Case,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from config.calendar import store_today as store_today
from inventory.models import Product, Stock
from inventory.selectors import (
    incoming_supply,
    incoming_units_subquery,
    largest_receipt,
    products_without_stock,
    stock_ledger_mismatches,
)

from .decisions import LineDecision as LineDecision
from .decisions import line_decision as line_decision
from .eta import Eta as Eta
from .eta import EtaContext as EtaContext
from .eta import EtaWalker as EtaWalker
from .eta import new_line_eta as new_line_eta
from .models import Order, OrderEvent, OrderLine, Refund, ShippingRate
from .money import refund_owed_on_close
from .reliability import DateRange as DateRange
from .reliability import line_eta_ranges as line_eta_ranges
from .status_links import ORDER_STATUS_SALT as ORDER_STATUS_SALT
from .status_links import order_status_token as order_status_token
from .status_links import order_status_url as order_status_url
from .status_links import order_status_urls as order_status_urls

QUEUE_ORDER = ("-priority", "queued_at", "id")

# A quantity more than ten times the product's largest order line or receipt is asked about
# before it is saved (a typo, a scanner stuck on a key); below the floor, never.
UNUSUAL_QUANTITY_FACTOR = 10
UNUSUAL_QUANTITY_FLOOR = 100


def product_queue(*, product_id: int) -> QuerySet[OrderLine]:
    """A product's waiting lines in allocation order."""
    return (
        OrderLine.objects.filter(product_id=product_id, quantity_backordered__gt=0)
        .select_related("order__customer", "product")
        .order_by(*QUEUE_ORDER)
    )


def order_list() -> QuerySet[Order]:
    return Order.objects.with_status().select_related("customer")


def order_detail(*, order_id: int) -> Order:
    """One order with lines, timeline, shipments and refunds, in a fixed number of queries."""
    return (
        Order.objects.with_status()
        .select_related("customer")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor")),
            "shipments__lines__order_line__product",
            "refunds",
        )
        .get(pk=order_id)
    )


def products_with_idle_stock(*, limit: int = 500) -> list[int]:
    """Products with units free while lines wait for them (their allocation never ran: a
    lost task, a worker that died), in one query, lowest id first."""
    return list(
        Stock.objects.filter(allocated__lt=F("on_hand"))
        .filter(
            Exists(OrderLine.objects.filter(product=OuterRef("pk"), quantity_backordered__gt=0))
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def holds_stock_unflagged() -> list[str]:
    """The numbers of the orders holding allocated units whose Order.holds_stock is clear (it
    may stay set on an order holding none: readers check the lines too)."""
    holding = Exists(OrderLine.objects.filter(order=OuterRef("pk"), quantity_allocated__gt=0))
    return list(
        Order.objects.filter(holding, holds_stock=False)
        .order_by("number")
        .values_list("number", flat=True)
    )


def invariant_violations() -> list[str]:
    """Every breach of the stock and order invariants (1–5 and 7) in the database, in words."""
    problems: list[str] = []
    for stock in Stock.objects.filter(allocated__gt=F("on_hand")).select_related("product"):
        problems.append(
            f"{stock.product.sku}: allocated {stock.allocated} exceeds on hand {stock.on_hand}."
        )
    for product in products_without_stock():
        problems.append(f"{product.sku}: has no stock row.")
    for _, sku, on_hand, ledger in stock_ledger_mismatches():
        problems.append(f"{sku}: on hand {on_hand} but its movements add up to {ledger}.")
    bad_lines = OrderLine.objects.filter(
        quantity__lt=F("quantity_allocated") + F("quantity_shipped") + F("quantity_cancelled")
    ).select_related("order", "product")
    for line in bad_lines:
        problems.append(
            f"{line.order.number} line {line.pk} ({line.product.sku}): allocated "
            f"{line.quantity_allocated} + shipped {line.quantity_shipped} + cancelled "
            f"{line.quantity_cancelled} exceeds ordered {line.quantity}."
        )
    mismatched_generated = OrderLine.objects.exclude(
        quantity_backordered=F("quantity")
        - F("quantity_allocated")
        - F("quantity_shipped")
        - F("quantity_cancelled")
    )
    for line in mismatched_generated.select_related("order"):
        problems.append(f"{line.order.number} line {line.pk}: backordered is not derived.")
    line_sums = dict(
        OrderLine.objects.values_list("product_id")
        .annotate(total=Sum("quantity_allocated"))
        .order_by()
        .values_list("product_id", "total")
    )
    for stock in Stock.objects.select_related("product").order_by("pk"):
        if stock.allocated != (line_sums.get(stock.pk) or 0):
            problems.append(
                f"{stock.product.sku}: stock says {stock.allocated} allocated, its lines say "
                f"{line_sums.get(stock.pk) or 0}."
            )
    for number in holds_stock_unflagged():  # (the ready-to-ship list reads the flag)
        problems.append(f"{number}: holds allocated units but is not flagged as holding stock.")
    # Every event belongs to an order (OrderEvent.order has no database constraint).
    for event in OrderEvent.objects.exclude(Exists(Order.objects.filter(pk=OuterRef("order_id")))):
        problems.append(f"Event {event.pk}: its order {event.order_id} does not exist.")
    # 5: stock is never left free while a line waits for it.
    idle = (
        Stock.objects.filter(allocated__lt=F("on_hand"))
        .filter(
            Exists(OrderLine.objects.filter(product=OuterRef("pk"), quantity_backordered__gt=0))
        )
        .select_related("product")
    )
    for stock in idle:
        problems.append(
            f"{stock.product.sku}: {stock.available} available while lines still wait for it."
        )
    # 7: every paid, cancelled unit is covered by a refund obligation (for a closed order:
    # everything paid minus what the shipped items alone cost).
    table = active_shipping_rate()
    order_ids = set(
        OrderLine.objects.filter(quantity_cancelled__gt=0, order__amount_paid__gt=0).values_list(
            "order_id", flat=True
        )
    )
    owed: dict[int, Decimal] = dict.fromkeys(order_ids, Decimal("0"))
    owed.update(
        Refund.objects.filter(order_id__in=order_ids)
        .values_list("order_id")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("order_id", "total")
    )
    lines_by_order: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=owed):
        lines_by_order[line.order_id].append(line)
    for order in Order.objects.filter(pk__in=owed):
        lines = lines_by_order[order.pk]
        if all(line.quantity_open == 0 for line in lines):
            expected = refund_owed_on_close(order=order, lines=lines, table=table)
        else:
            cancelled = sum(
                (x.unit_price * (x.quantity_cancelled - x.quantity_substituted) for x in lines),
                Decimal("0"),
            )
            expected = min(order.amount_paid, cancelled)
        if owed[order.pk] < expected:
            problems.append(
                f"{order.number}: {expected} of paid goods cancelled but only "
                f"{owed[order.pk]} owed back."
            )
    return problems


# --- ETAs --------------------------------------------------------------------------------


def eta_contexts(
    *, product_ids: Iterable[int] = (), products: Iterable[Product] = (), today: dt.date
) -> dict[int, EtaContext]:
    """ETA inputs for several products: one query for their supply, one more when given ids.

    Products passed in should come with `select_related("preferred_supplier")`.
    """
    ids = list(product_ids)
    loaded = list(products)
    if ids:
        loaded += Product.objects.select_related("preferred_supplier").filter(pk__in=ids)
    supply = incoming_supply(product_ids=[p.pk for p in loaded])
    handling = settings.ETA_HANDLING_DAYS
    return {
        product.pk: EtaContext(
            supplies=supply.get(product.pk, []),
            today=today,
            lead_time_days=product.effective_lead_time_days,
            handling_days=handling,
            is_discontinued=product.is_discontinued,
            release_date=product.release_date if product.is_preorder else None,
        )
        for product in loaded
    }


@dataclass(frozen=True)
class WaitingLine:
    id: int
    order_id: int
    backordered: int
    eta: Eta


def waiting_line_batches(*, product_id: int, batch_size: int) -> Iterator[list[WaitingLine]]:
    """A product's waiting lines in queue order, one query per batch (keyset pages, so memory
    stays one batch and lines are never skipped or repeated)."""
    waiting = OrderLine.objects.filter(product_id=product_id, quantity_backordered__gt=0)
    after: tuple[int, dt.datetime, int] | None = None
    while True:
        page = waiting
        if after is not None:
            priority, queued_at, line_id = after
            page = page.filter(
                Q(priority__lt=priority)
                | Q(priority=priority, queued_at__gt=queued_at)
                | Q(priority=priority, queued_at=queued_at, id__gt=line_id)
            )
        rows = list(
            page.order_by(*QUEUE_ORDER).values_list(
                "id",
                "order_id",
                "priority",
                "queued_at",
                "quantity_backordered",
                "eta",
                "eta_source",
                "eta_reference",
            )[:batch_size]
        )
        if not rows:
            return
        yield [
            WaitingLine(line_id, order_id, backordered, Eta(eta, source, reference))
            for line_id, order_id, _, _, backordered, eta, source, reference in rows
        ]
        if len(rows) < batch_size:
            return
        after = (rows[-1][2], rows[-1][3], rows[-1][0])


# --- what a new order would get ----------------------------------------------------------


class QuoteStatus(models.TextChoices):
    IN_STOCK = "in_stock", "In stock"
    BACKORDER = "backorder", "Backorder"
    PREORDER = "preorder", "Preorder"
    NOT_ORDERABLE = "not_orderable", "Not orderable"


@dataclass(frozen=True)
class Quote:
    status: str
    quantity: int
    in_stock: int
    backordered: int
    eta: Eta | None
    release_date: dt.date | None = None
    reason: str = ""


def waiting_units(
    *, product_ids: Iterable[int], priority: int = 0
) -> tuple[dict[int, int], dict[int, int]]:
    """Backordered units per product: all, and those a new line of `priority` queues behind."""
    total: dict[int, int] = defaultdict(int)
    ahead: dict[int, int] = defaultdict(int)
    rows = (
        OrderLine.objects.filter(product_id__in=list(product_ids), quantity_backordered__gt=0)
        .values_list("product_id", "priority")
        .annotate(units=Sum("quantity_backordered"))
        .order_by()
    )
    for product_id, line_priority, units in rows:
        total[product_id] += units
        if line_priority >= priority:
            ahead[product_id] += units
    return total, ahead


def product_quote(*, product: Product, quantity: int, now: dt.datetime | None = None) -> Quote:
    """What an order for `quantity` units would get right now (what a storefront shows)."""
    return products_quote(items=[(product, quantity)], now=now)[0]


def products_quote(
    *, items: Sequence[tuple[Product, int]], now: dt.datetime | None = None
) -> list[Quote]:
    """product_quote for several (product, quantity) pairs, each quoted on its own, in a fixed
    number of queries however many there are (products should come with
    `select_related("preferred_supplier")`)."""
    products = [product for product, quantity in items if _is_quantity(quantity)]
    ids = [product.pk for product in products]
    # Read afresh: a product held by the caller may carry a stock row read before a change.
    stocks = {s.pk: s for s in Stock.objects.filter(pk__in=ids)} if ids else {}
    total, ahead = waiting_units(product_ids=ids) if ids else ({}, {})
    contexts = eta_contexts(products=products, today=store_today(now)) if ids else {}
    return [
        _quote(
            product=product,
            quantity=quantity,
            available=stocks[product.pk].available,
            waiting_total=total.get(product.pk, 0),
            waiting_ahead=ahead.get(product.pk, 0),
            context=contexts[product.pk],
        )
        if _is_quantity(quantity)
        else Quote(
            QuoteStatus.NOT_ORDERABLE, quantity, 0, 0, None, reason="Quantity must be at least 1."
        )
        for product, quantity in items
    ]


def _is_quantity(quantity: object) -> bool:
    return not isinstance(quantity, bool) and isinstance(quantity, int) and quantity > 0


def _quote(
    *,
    product: Product,
    quantity: int,
    available: int,
    waiting_total: int,
    waiting_ahead: int,
    context: EtaContext,
) -> Quote:
    decision = line_decision(
        product=product,
        quantity=quantity,
        available=available,
        waiting_ahead=waiting_ahead,
        waiting_total=waiting_total,
        incoming=sum(s.quantity for s in context.supplies),
    )
    release = product.release_date if product.is_preorder else None
    if decision.refusal:
        return Quote(
            QuoteStatus.NOT_ORDERABLE,
            quantity,
            decision.take,
            decision.backordered,
            None,
            release,
            reason=decision.refusal[:1].upper() + decision.refusal[1:],
        )
    if not decision.backordered:
        return Quote(QuoteStatus.IN_STOCK, quantity, decision.take, 0, None, release)
    eta = new_line_eta(
        context=context,
        units_ahead=waiting_ahead,
        available=available,
        backordered=decision.backordered,
    )
    status = QuoteStatus.PREORDER if product.is_preorder else QuoteStatus.BACKORDER
    return Quote(status, quantity, decision.take, decision.backordered, eta, release)


# --- replenishment -----------------------------------------------------------------------


def product_replenishment() -> QuerySet[Product]:
    """Every product with on hand, allocated, available, backordered, incoming, projected and a
    suggested reorder quantity (0 when none is needed), in one query."""
    backordered = Subquery(
        OrderLine.objects.filter(product=OuterRef("pk"), quantity_backordered__gt=0)
        .values("product_id")
        .annotate(units=Sum("quantity_backordered"))
        .values("units")[:1]
    )
    integer = models.IntegerField()
    target = ExpressionWrapper(F("reorder_point") + F("safety_stock"), output_field=integer)
    return (
        Product.objects.select_related("stock", "preferred_supplier")
        .annotate(
            on_hand=F("stock__on_hand"),
            allocated=F("stock__allocated"),
            available=ExpressionWrapper(
                F("stock__on_hand") - F("stock__allocated"), output_field=integer
            ),
            backordered=Coalesce(backordered, 0, output_field=integer),
            incoming=Coalesce(incoming_units_subquery(), 0, output_field=integer),
        )
        .annotate(
            projected=ExpressionWrapper(
                F("on_hand") + F("incoming") - F("allocated") - F("backordered"),
                output_field=integer,
            )
        )
        .annotate(
            suggested_quantity=Case(
                When(
                    Q(is_discontinued=False, projected__lt=target),
                    then=Greatest(
                        ExpressionWrapper(target - F("projected"), output_field=integer),
                        F("reorder_quantity"),
                        output_field=integer,
                    ),
                ),
                default=Value(0),
                output_field=integer,
            )
        )
    )


# --- the customer's signed link (made in status_links) -----------------------------------


def order_from_status_token(*, token: str) -> Order | None:
    """The order a token was made for, or None for a tampered, foreign or stale token."""
    try:
        payload = signing.loads(token, salt=ORDER_STATUS_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("o"), int):
        return None
    return order_list().filter(pk=payload["o"], number=payload.get("n")).first()


def active_shipping_rate() -> ShippingRate | None:
    """The shipping rate table in use, with its bands; None when the settings' rate applies."""
    return ShippingRate.objects.filter(is_active=True).prefetch_related("bands").first()


@dataclass(frozen=True)
class UsualQuantity:
    """The largest order line and receipt a product has seen, and the quantity beyond which
    a new one is far above the usual."""

    largest_order_line: int
    largest_receipt: int

    @property
    def limit(self) -> int:
        largest = max(self.largest_order_line, self.largest_receipt)
        return max(UNUSUAL_QUANTITY_FLOOR, UNUSUAL_QUANTITY_FACTOR * largest)

    def far_above(self, quantity: int) -> bool:
        return abs(quantity) > self.limit

    def warning(self, *, sku: str, quantity: int) -> str:
        return (
            f"{abs(quantity)} units of {sku} is far above the usual: its largest order line "
            f"was {self.largest_order_line} and its largest receipt {self.largest_receipt} "
            f"(more than {self.limit} is checked)."
        )


def usual_quantity(*, product_id: int) -> UsualQuantity:
    """What is usual for one product: see UNUSUAL_QUANTITY_FACTOR."""
    largest_line = OrderLine.objects.filter(product_id=product_id).aggregate(
        largest=Max("quantity")
    )["largest"]
    return UsualQuantity(
        largest_order_line=int(largest_line or 0),
        largest_receipt=largest_receipt(product_id=product_id),
    )

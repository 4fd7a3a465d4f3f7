"""The dashboard's reads for the queue, products, receiving and shipping screens.

Each returns a queryset (or a small dataclass) that already carries everything its template
shows, so a page costs the same queries for 10 rows as for 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, overload

from django.db import connection
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce, RowNumber

from compliance.models import OrderCompliance
from compliance.selectors import at_risk_lines_q, line_at_risk, ship_by_expression
from config.calendar import store_today
from config.formats import format_date
from inventory.models import Product
from orders.models import Order, OrderLine
from orders.selectors import QUEUE_ORDER

from ..lists.filters import DEADLINE_WINDOWS, NO_DATE, channel_q, consent_q, window_q
from .places import queue_places

CONSENT_LABELS = dict(OrderCompliance.State.choices)
CONSENT_SHORT = {
    "on_time": "On time",
    "notice_sent": "Notice sent",
    "renewed_notice_sent": "Renewed notice sent",
    "consented": "Consented",
    "consented_indefinitely": "Consented, any delay",
    "awaiting_payment": "Awaiting payment",
    "exempt": "Exempt",
    "shipped": "Shipped",
    "cancelled": "Cancelled",
}
# The rule's last check closed the order (nothing left open then), yet this line waits: say so
# rather than "Shipped" beside a line that has not shipped.
STALE_STATES = {
    "shipped": (
        "Check due",
        "The rule last found nothing left to ship; this line waits, so the "
        "next check (hourly) updates it.",
    ),
    "cancelled": (
        "Check due",
        "The rule last found the order cancelled; this line waits, so the "
        "next check (hourly) updates it.",
    ),
}
CONSENT_BADGES = {
    "on_time": "ok",
    "consented": "info",
    "consented_indefinitely": "info",
    "notice_sent": "warn",
    "renewed_notice_sent": "warn",
}

# --- backorder queue ---------------------------------------------------------------------


def _waiting_ahead(aggregate: Count | Sum) -> CombinedExpression:
    """A subquery over the waiting lines of the outer line's product that come before it in
    allocation order, or are it (priority first, then queued_at, then id). Two index ranges
    of orderline_queue_idx: higher priority, then the same priority up to the line."""

    def over(lines: QuerySet[OrderLine]) -> Coalesce:
        return Coalesce(
            Subquery(
                lines.filter(quantity_backordered__gt=0, product_id=OuterRef("product_id"))
                .values("product_id")
                .annotate(total=aggregate)
                .values("total")[:1],
                output_field=IntegerField(),
            ),
            0,
            output_field=IntegerField(),
        )

    higher = OrderLine.objects.filter(priority__gt=OuterRef("priority"))
    same = OrderLine.objects.filter(
        # queued_at <= the line's bounds the index range; the Q() settles ties by id.
        Q(queued_at__lt=OuterRef("queued_at")) | Q(id__lte=OuterRef("id")),
        priority=OuterRef("priority"),
        queued_at__lte=OuterRef("queued_at"),
    )
    return over(higher) + over(same)


def _detailed(page: QuerySet[OrderLine, Any]) -> list[OrderLine]:
    """The page's lines (a queryset of their ids) in queue order with their customer and
    product, place and units through them in their product's queue, ship-by date and consent
    state: one query."""
    lines = (
        OrderLine.objects.filter(pk__in=page)
        .select_related("order__customer", "product")
        .annotate(
            deadline=ship_by_expression("order__compliance__"),
            consent_state=F("order__compliance__state"),
        )
        .order_by(*QUEUE_ORDER)
    )
    if connection.vendor != "postgresql":
        # Index look-ups per line: each reads its queue from the front (fine for small shops).
        return list(
            lines.annotate(
                position=_waiting_ahead(Count("id")),
                units_through=_waiting_ahead(Sum("quantity_backordered")),
            )
        )
    placed: list[Any] = list(lines.annotate(queue_place=queue_places(page)))
    for line in placed:
        line.position, line.units_through = line.queue_place or (0, 0)
    return placed


class BackorderQueue:
    """Waiting lines in allocation order, each with its place in its product's queue
    (`position`), the units waiting up to and including it (`units_through`), its customer
    and its ship-by date under the Mail Order Rule and consent state (`deadline`, `consent_state`).

    Sliced (as Paginator does) it costs one query whatever the page: the page's line ids
    come from the queue index alone (a narrow scan, however deep the page), then only those
    lines are joined to their order, customer, product and compliance record and placed in
    their product's queue (queue_places: each queue read once, from its index alone, up to the
    page's deepest line of it). count() is one index-only count.
    """

    ordered = True

    def __init__(
        self, *, product_id: int | None = None, at_risk: bool = False, search: str = ""
    ) -> None:
        self.product_id = product_id
        self.at_risk = at_risk
        self.search = search.strip()

    def _waiting(self) -> QuerySet[OrderLine]:
        lines = OrderLine.objects.filter(quantity_backordered__gt=0)
        if self.product_id is not None:
            lines = lines.filter(product_id=self.product_id)
        if self.at_risk:
            lines = lines.filter(at_risk_lines_q())
        if self.search:
            lines = lines.filter(
                Q(order__number__iexact=self.search)
                | Q(order__customer__email__iexact=self.search)
                | Q(product__sku__iexact=self.search)
            )
        return lines.order_by(*QUEUE_ORDER)

    def _windowed(self) -> QuerySet[OrderLine]:
        """The same rows, numbered by window functions over each product's whole queue."""
        partition = [F("product_id")]
        queue_order = [F("priority").desc(), F("queued_at").asc(), F("id").asc()]
        return (
            self._waiting()
            .select_related("order__customer", "product")
            .annotate(
                position=Window(RowNumber(), partition_by=partition, order_by=queue_order),
                units_through=Window(
                    Sum("quantity_backordered"), partition_by=partition, order_by=queue_order
                ),
                deadline=ship_by_expression("order__compliance__"),
                consent_state=F("order__compliance__state"),
            )
            .order_by(*QUEUE_ORDER)
        )

    def count(self) -> int:
        return self._waiting().count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, key: int) -> OrderLine: ...

    @overload
    def __getitem__(self, key: slice) -> list[OrderLine]: ...

    def __getitem__(self, key: int | slice) -> OrderLine | list[OrderLine]:
        if isinstance(key, int):
            if key < 0:
                raise IndexError("Negative indexing is not supported.")
            rows = self[key : key + 1]
            if not rows:
                raise IndexError("Queue index out of range.")
            return rows[0]
        if key.step is not None:
            raise ValueError("Slicing with a step is not supported.")
        if key.stop is None:
            # Open-ended: one pass of window functions over the queue beats a count per line.
            return list(self._windowed()[key])
        return _detailed(self._waiting().values("pk")[key])

    def __iter__(self) -> Iterator[OrderLine]:
        return iter(self[:])


@dataclass(frozen=True)
class QueueFilters:
    """What the queue screen is narrowed to; an unknown value narrows nothing."""

    search: str = ""  # an order number, customer email or SKU (exact, any case)
    product_id: int | None = None
    at_risk: bool = False
    deadline: str = ""  # a DEADLINE_WINDOWS key: the order's ship-by date
    consent: str = ""  # an OrderCompliance state or AWAITING_ANSWER
    channel: str = ""  # a channel id or NO_CHANNEL
    supplier: int | None = None  # the product's preferred supplier

    @property
    def any(self) -> bool:
        return any(
            (
                self.search,
                self.product_id,
                self.at_risk,
                self.deadline in DEADLINE_WINDOWS,
                self.consent,
                self.channel,
                self.supplier,
            )
        )


# What the queue sorts on beyond its own columns, each joined only while sorted by it (never
# NULL: a line without a date or a compliance record sorts last going up).
QUEUE_SORT_KEYS = {
    "order_number": F("order__number"),
    "customer_email": F("order__customer__email"),
    "product_sku": F("product__sku"),
    "eta_key": Coalesce("eta", Value(NO_DATE), output_field=DateField()),
    "ship_by_key": Coalesce(
        ship_by_expression("order__compliance__"), Value(NO_DATE), output_field=DateField()
    ),
    "consent_key": Coalesce("order__compliance__state", Value("")),
}


def queue_lines(*, filters: QueueFilters, today: dt.date) -> QuerySet[OrderLine]:
    """The waiting lines the filters keep, in allocation order, lean: only the line's own
    columns, so a page is read from the queue's index (QUEUE_SORT_KEYS add what a sort on
    another table needs). queue_lines_shown() adds the rest for one page."""
    lines = (
        OrderLine.objects.filter(quantity_backordered__gt=0)
        .only("pk", "priority", "queued_at", "quantity_backordered", "eta")
        .order_by(*QUEUE_ORDER)
    )
    search = filters.search.strip()
    if search:
        lines = lines.filter(
            Q(order__number__iexact=search)
            | Q(order__customer__email__iexact=search)
            | Q(product__sku__iexact=search)
        )
    if filters.product_id is not None:
        lines = lines.filter(product_id=filters.product_id)
    if filters.at_risk:
        lines = lines.filter(at_risk_lines_q())
    if filters.supplier is not None:
        lines = lines.filter(product__preferred_supplier_id=filters.supplier)
    if filters.deadline in DEADLINE_WINDOWS:
        lines = lines.annotate(ship_by=ship_by_expression("order__compliance__")).filter(
            window_q("ship_by", filters.deadline, today=today)
        )
    return lines.filter(
        consent_q("order__compliance__state", filters.consent),
        channel_q("order__channel", filters.channel),
    )


def queue_lines_shown(lines: list[OrderLine]) -> list[OrderLine]:
    """The page's lines (from queue_lines) in the same order, each with its customer, product,
    place and units through it in its product's queue, ship-by date and consent state: one
    query for the page, whatever its sort."""
    detailed = _detailed(OrderLine.objects.filter(pk__in=[line.pk for line in lines]).values("pk"))
    by_id = {line.pk: line for line in detailed}
    return [by_id[line.pk] for line in lines if line.pk in by_id]


def backorder_queue(
    *, product_id: int | None = None, at_risk: bool = False, search: str = ""
) -> BackorderQueue:
    """Waiting lines in allocation order, each with its place in its product's queue, the units
    waiting ahead of it, its customer and its Mail Order Rule ship-by date and consent state;
    `search` is an order number, customer email or SKU (exact, any case).
    Slice it (or hand it to a Paginator): see BackorderQueue."""
    return BackorderQueue(product_id=product_id, at_risk=at_risk, search=search)


@dataclass(frozen=True)
class QueueRow:
    """One waiting line as the queue shows it."""

    line: OrderLine
    position: int
    units_ahead: int
    waited_days: int
    deadline: dt.date | None
    consent_state: str
    overdue: bool
    at_risk: bool
    # The dates as the page shows them ("12 Mar 2027"; "" for none), formatted once here
    # rather than by a template filter per cell.
    placed_on: str = ""
    eta_on: str = ""
    deadline_on: str = ""

    @property
    def consent_label(self) -> str:
        if self.consent_state in STALE_STATES:
            return STALE_STATES[self.consent_state][1]
        return CONSENT_LABELS.get(self.consent_state, "")

    @property
    def consent_short(self) -> str:
        if self.consent_state in STALE_STATES:
            return STALE_STATES[self.consent_state][0]
        return CONSENT_SHORT.get(self.consent_state, self.consent_label)

    @property
    def consent_badge(self) -> str:
        return CONSENT_BADGES.get(self.consent_state, "")


def queue_rows(lines: Iterable[OrderLine], *, today: dt.date) -> list[QueueRow]:
    """Rows for lines from backorder_queue(): waited days, units ahead, deadline risk."""
    rows = []
    for line in lines:
        deadline: dt.date | None = getattr(line, "deadline", None)
        rows.append(
            QueueRow(
                line=line,
                position=getattr(line, "position", 0),
                units_ahead=getattr(line, "units_through", 0) - line.quantity_backordered,
                waited_days=waited_days(since=line.queued_at, today=today),
                deadline=deadline,
                consent_state=getattr(line, "consent_state", None) or "",
                overdue=deadline is not None and deadline < today,
                at_risk=line_at_risk(line=line, ship_by=deadline),
                placed_on=format_date(line.order.placed_at),
                eta_on=format_date(line.eta),
                deadline_on=format_date(deadline),
            )
        )
    return rows


def queue_products() -> QuerySet[Product]:
    """Products with a queue, for the queue's product filter: one look-up per product into
    the waiting lines' index (does any line wait?), never a count of every waiting line."""
    waits = OrderLine.objects.filter(product_id=OuterRef("pk"), quantity_backordered__gt=0)
    return Product.objects.filter(Exists(waits)).order_by("sku").only("pk", "sku", "name")


def queue_line(*, line_id: int) -> OrderLine:
    """A line that waits in its product's queue (DoesNotExist for any other line)."""
    return OrderLine.objects.select_related("order__customer", "product").get(
        pk=line_id, quantity_backordered__gt=0
    )


def cancelling_owes_refund(*, line: OrderLine | None = None, order: Order | None = None) -> bool:
    """Whether cancelling units of the line (or of the order) would owe its customer a refund
    (they paid)."""
    order = order if order is not None else line.order if line is not None else None
    return order is not None and order.amount_paid > 0


def waited_days(*, since: dt.datetime, today: dt.date) -> int:
    """Whole store days a line has waited (business dates are store dates)."""
    return max(0, (today - store_today(since)).days)

"""Reads for the shipping screens and packing slips."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import IsNull

from orders.models import Order, OrderLine, Shipment
from orders.selectors import order_list
from orders.services import awaiting_payment_q

# --- shipping ----------------------------------------------------------------------------


def _line_units(column: str) -> Coalesce:
    return Coalesce(
        Subquery(
            OrderLine.objects.filter(order=OuterRef("pk"))
            .values("order_id")
            .annotate(units=Sum(column))
            .values("units")[:1]
        ),
        0,
        output_field=IntegerField(),
    )


def shipping_orders() -> QuerySet[Order]:
    """Orders with allocated and backordered units and whether they may ship now: a
    ship-complete order only once nothing is backordered."""
    return (
        order_list()
        .annotate(
            units_allocated=_line_units("quantity_allocated"),
            units_backordered=_line_units("quantity_backordered"),
            # The ship-by date stored on the order: no read of its rule record.
            deadline=F("ship_by"),
        )
        .annotate(
            ready_to_ship=Case(
                When(
                    Q(units_allocated__gt=0)
                    & (
                        ~Q(ship_preference=Order.ShipPreference.SHIP_COMPLETE)
                        | Q(units_backordered=0)
                    ),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    )


def _due_q(today: dt.date) -> Q:
    return Q(ship_by__lte=today)


def _ready_order(today: dt.date) -> list[Any]:
    """Due today or overdue first (the most overdue first), then priority, then the oldest."""
    return [
        Case(When(_due_q(today), then=Value(True)), default=Value(False)).desc(),
        Case(When(_due_q(today), then=F("ship_by"))).asc(nulls_last=True),
        F("is_priority").desc(),
        "placed_at",
        "id",
    ]


def _ready_q() -> Q:
    """The rule of shipping_orders()' ready_to_ship as a filter: the few orders flagged as
    holding stock (read through their partial index), each confirmed by a look-up of a line
    holding units (the flag may outlast them), and, for ship-complete orders alone, of a
    waiting line."""
    lines = OrderLine.objects.filter(order=OuterRef("pk"))
    # A probe per order read, as a scalar sub-select: PostgreSQL turns an EXISTS (even inside
    # a CASE) into a hash of every line holding units (100,000 at 1M orders, ~45 ms) first.
    held = lines.filter(quantity_allocated__gt=0).order_by().values("order_id")  # index only
    holding = IsNull(Subquery(held[:1]), False)
    waiting = Exists(lines.filter(quantity_backordered__gt=0))
    return (
        Q(holds_stock=True)
        & Q(holding)
        & (~Q(ship_preference=Order.ShipPreference.SHIP_COMPLETE) | Q(~waiting))
    )


def ready_to_ship(*, today: dt.date) -> QuerySet[Order]:
    """Orders staff can ship now: those due today or overdue first (by ship-by date), then
    priority orders, then the oldest. Lean: only what the list is ordered by, so paging
    through it never computes the rows' figures; ready_to_ship_rows() gives a page's rows."""
    return Order.objects.filter(_ready_q()).order_by(*_ready_order(today))


def ready_to_ship_parts(*, today: dt.date) -> list[QuerySet[Order]]:
    """ready_to_ship() as its two parts, one after the other: the orders due (by ship-by date,
    then priority, then the oldest), then the others (priority, then the oldest). Each is in
    the order of a partial index of its own, so a page reads the rows up to it, not all."""
    due = Q(ship_by__lte=today)
    rest: list[Any] = [F("is_priority").desc(), "placed_at", "id"]
    return [
        Order.objects.filter(_ready_q(), due).order_by("ship_by", *rest),
        Order.objects.filter(_ready_q(), Q(ship_by__gt=today) | Q(ship_by__isnull=True)).order_by(
            *rest
        ),
    ]


def ready_to_ship_rows(*, orders: QuerySet[Order], today: dt.date) -> QuerySet[Order]:
    """The rows of a page of ready_to_ship() (a slice of it), in its order, each with its
    customer, units, held lines, ship-by date (`deadline`) and flags `is_due` and
    `awaiting_payment`: one query whose per-order sums run for the page's rows alone."""
    return (
        shipping_orders()
        .filter(pk__in=orders.values("pk"))
        .annotate(
            is_due=Case(
                When(_due_q(today), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            awaiting_payment=Case(
                When(awaiting_payment_q(), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.filter(quantity_allocated__gt=0).select_related(
                    "product"
                ),
                to_attr="allocated_lines",
            )
        )
        .order_by(*_ready_order(today))
    )


def order_for_shipping(*, order_id: int) -> Order:
    """One order with its lines, products and shipments (lines of each) for the ship pages."""
    return shipping_orders().prefetch_related("lines__product", "shipments__lines").get(pk=order_id)


def shipment_for_slip(*, order: Order, shipment_id: int | None) -> Shipment | None:
    """The shipment a packing slip describes: the one asked for, else the order's latest."""
    shipments = sorted(order.shipments.all(), key=lambda s: (s.shipped_at, s.pk), reverse=True)
    if shipment_id is None:
        return shipments[0] if shipments else None
    return next((s for s in shipments if s.pk == shipment_id), None)


@dataclass(frozen=True)
class PackingSlip:
    order: Order
    shipment: Shipment | None
    boxed: list[tuple[OrderLine, int]]
    to_follow: list[OrderLine]


def slip_contents(
    *, order: Order, shipment: Shipment | None
) -> tuple[list[tuple[OrderLine, int]], list[OrderLine]]:
    """What a packing slip lists: (line, units) in the box, and the lines still to come. With
    no shipment yet the box holds what is allocated, i.e. what will be packed."""
    lines = list(order.lines.all())
    if shipment is not None:
        in_box = {sl.order_line_id: sl.quantity for sl in shipment.lines.all()}
    else:
        in_box = {line.pk: line.quantity_allocated for line in lines if line.quantity_allocated}
    boxed = [(line, in_box[line.pk]) for line in lines if in_box.get(line.pk)]
    to_follow = [
        line
        for line in lines
        if line.backordered or (line.quantity_allocated and line.pk not in in_box)
    ]
    return boxed, to_follow


def orders_for_slips(*, order_ids: list[int]) -> list[Order]:
    """The orders to print slips for, in order-number order, with what their slips show."""
    return list(
        shipping_orders()
        .filter(pk__in=order_ids)
        .prefetch_related("lines__product", "shipments__lines")
        .order_by("number", "pk")
    )

"""Reads for the shipping screens and packing slips."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    BooleanField,
    Case,
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

from compliance.selectors import ship_by_expression
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
            deadline=ship_by_expression("compliance__"),
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


def ready_to_ship(*, today: dt.date) -> QuerySet[Order]:
    """Orders staff can ship now: those due today or overdue first (by ship-by date), then
    priority orders, then the oldest; each flagged `is_due` and `awaiting_payment`."""
    return (
        shipping_orders()
        .filter(Q(ready_to_ship=True))
        .annotate(
            is_due=Case(
                When(Q(deadline__lte=today), then=Value(True)),
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
        .order_by(
            "-is_due",
            # Among the due, the most overdue first; the others keep their order.
            Case(When(Q(deadline__lte=today), then=F("deadline"))).asc(nulls_last=True),
            "-is_priority",
            "placed_at",
            "id",
        )
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

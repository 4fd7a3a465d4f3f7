"""Reads for the orders, new-order and compliance screens: a fixed number of queries each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    DateField,
    DecimalField,
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
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce

from compliance.models import OrderCompliance
from compliance.selectors import (
    RecordRow,
    at_risk_lines_q,
    at_risk_orders_q,
    compliance_record,
)
from inventory.models import Product
from notifications.models import Notification
from orders.models import (
    SHIP_BY_NONE,
    Customer,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Refund,
    Shipment,
    ShipmentLine,
)
from orders.selectors import (
    DateRange,
    line_eta_ranges,
    order_status_url,
    store_today,
    usual_quantity,
)

from ..lists.filters import DEADLINE_WINDOWS, channel_q, consent_q, window_q

# What a customer never sees: emails that went to staff.
STAFF_NOTIFICATION_KINDS = (
    Notification.Kind.STAFF_BACKORDER_ALERT,
    Notification.Kind.STAFF_DIGEST,
)


def _line_sum(expression: str | Combinable, output: IntegerField | DecimalField) -> Subquery:
    return Subquery(
        OrderLine.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(total=Sum(expression, output_field=output))
        .values("total")[:1],
        output_field=output,
    )


# --- the orders list ---------------------------------------------------------------------------


# A ship-by date that sorts after every real one, for orders the rule holds to no date: the
# key of the index the list walks when sorted by ship-by date (order_ship_by_idx).
NO_SHIP_BY = SHIP_BY_NONE


@dataclass(frozen=True)
class OrderFilters:
    search: str = ""
    status: str = ""
    backordered: bool = False
    at_risk: bool = False
    unreachable: bool = False
    deadline: str = ""  # a DEADLINE_WINDOWS key
    consent: str = ""  # an OrderCompliance state or AWAITING_ANSWER
    channel: str = ""  # a channel id or NO_CHANNEL
    supplier: int | None = None

    @property
    def any(self) -> bool:
        return any(
            (
                self.search,
                self.status,
                self.backordered,
                self.at_risk,
                self.unreachable,
                self.deadline in DEADLINE_WINDOWS,
                self.consent,
                self.channel,
                self.supplier,
            )
        )


def _search_q(search: str) -> Q:
    """An order number, email, name, external id, phone or postal code, a SKU on one of its
    lines or a tracking number of one of its shipments."""
    return (
        Q(number__icontains=search)
        | Q(external_id__icontains=search)
        | Q(customer__email__icontains=search)
        | Q(customer__name__icontains=search)
        | Q(ship_to_postal_code__iexact=search)
        | Q(ship_to_phone__icontains=search)
        | Exists(OrderLine.objects.filter(order=OuterRef("pk"), product__sku__iexact=search))
        | Exists(Shipment.objects.filter(order=OuterRef("pk"), tracking_number__iexact=search))
    )


def order_rows(*, filters: OrderFilters, today: dt.date) -> QuerySet[Order]:
    """Orders for the list, newest first, with status, unit counts, value and ship-by date
    (the one stored on the order)."""
    integer = IntegerField()
    money = DecimalField(max_digits=14, decimal_places=2)
    orders = (
        Order.objects.with_status()
        .select_related("customer", "compliance")
        .annotate(
            units_ordered=Coalesce(_line_sum("quantity", integer), 0, output_field=integer),
            units_backordered=Coalesce(
                _line_sum("quantity_backordered", integer), 0, output_field=integer
            ),
            goods_value=Coalesce(
                _line_sum(F("quantity") * F("unit_price"), money),
                Decimal("0"),
                output_field=money,
            ),
            # The stored ship-by date (Order.ship_by), as its index orders it.
            ship_by_key=Coalesce("ship_by", Value(NO_SHIP_BY), output_field=DateField()),
            # A scalar subquery, run for the page's rows only: as EXISTS in the select list
            # PostgreSQL hashes every at-risk line of the shop first, whatever the page.
            at_risk=Subquery(
                OrderLine.objects.filter(at_risk_lines_q(), order=OuterRef("pk")).values("pk")[:1]
            ),
        )
        .order_by("-placed_at", "-id")
    )
    search = filters.search.strip()
    if search:
        orders = orders.filter(_search_q(search))
    if filters.status in OrderStatus.values:
        orders = orders.filter(Q(status=filters.status))
    if filters.backordered:
        orders = orders.filter(
            Exists(OrderLine.objects.filter(order=OuterRef("pk"), quantity_backordered__gt=0))
        )
    if filters.at_risk:
        orders = orders.filter(at_risk_orders_q())
    if filters.unreachable:
        orders = orders.filter(customer_unreachable_at__isnull=False)
    orders = orders.filter(
        window_q("ship_by", filters.deadline, today=today),
        consent_q("compliance__state", filters.consent),
        channel_q("channel", filters.channel),
    )
    if filters.supplier is not None:
        orders = orders.filter(
            Exists(
                OrderLine.objects.filter(
                    order=OuterRef("pk"),
                    quantity_backordered__gt=0,
                    product__preferred_supplier_id=filters.supplier,
                )
            )
        )
    return orders


# --- one order -----------------------------------------------------------------------------

# Products that may stand in for a line's product: still sold, with their stock.
_SUBSTITUTES = Product.objects.filter(is_discontinued=False).select_related("stock").order_by("sku")


@dataclass(frozen=True)
class OrderPage:
    order: Order
    lines: list[OrderLine]
    events: list[OrderEvent]
    emails: list[Notification]
    shipments: list[Shipment]
    refunds: list[Refund]
    compliance: OrderCompliance | None
    record: list[RecordRow]
    status_url: str
    eta_ranges: dict[int, DateRange]


def order_page(*, order_id: int) -> OrderPage:
    """Everything the order page shows; raises Order.DoesNotExist."""
    order = (
        Order.objects.with_status()
        .select_related("customer", "created_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=OrderLine.objects.select_related("product").prefetch_related(
                    Prefetch("product__substitutes", queryset=_SUBSTITUTES)
                ),
            ),
            Prefetch(
                "events",
                queryset=OrderEvent.objects.select_related("actor").order_by("created_at", "id"),
            ),
            Prefetch(
                "notifications",
                queryset=Notification.objects.exclude(kind__in=STAFF_NOTIFICATION_KINDS).order_by(
                    "created_at", "id"
                ),
            ),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.select_related("created_by").prefetch_related(
                    Prefetch(
                        "lines",
                        queryset=ShipmentLine.objects.select_related("order_line__product"),
                    )
                ),
            ),
            Prefetch(
                "refunds",
                queryset=Refund.objects.select_related("issued_by", "order_line__product"),
            ),
        )
        .get(pk=order_id)
    )
    compliance, record = compliance_record(order_id=order.pk)
    lines = list(order.lines.all())
    return OrderPage(
        order=order,
        lines=lines,
        events=list(order.events.all()),
        emails=list(order.notifications.all()),
        shipments=list(order.shipments.all()),
        refunds=list(order.refunds.all()),
        compliance=compliance,
        record=record,
        status_url=order_status_url(order=order),
        eta_ranges=line_eta_ranges(lines=lines, today=store_today()),
    )


def order_line_for_action(*, line_id: int) -> OrderLine:
    """One line with its order, customer and product (DoesNotExist when there is none)."""
    return OrderLine.objects.select_related("order__customer", "product").get(pk=line_id)


def substitute_candidates(*, line: OrderLine) -> list[Product]:
    """The products that may stand in for the line's, with what each has available."""
    return list(_SUBSTITUTES.filter(substitute_for=line.product_id))


def customer_email(*, order_id: int, notification_id: int) -> Notification:
    """An email this order's customer was sent (DoesNotExist for staff emails or others')."""
    return Notification.objects.exclude(kind__in=STAFF_NOTIFICATION_KINDS).get(
        pk=notification_id, order_id=order_id
    )


# --- new order -----------------------------------------------------------------------------


def product_by_sku(*, sku: str) -> Product | None:
    """The product with this SKU (any case), ready for product_quote."""
    sku = sku.strip()
    if not sku:
        return None
    return Product.objects.select_related("preferred_supplier").filter(sku__iexact=sku).first()


def products_by_sku(*, skus: list[str]) -> dict[str, Product]:
    """Products for several SKUs in one query, keyed by lower-cased SKU."""
    wanted = {sku.strip().lower() for sku in skus if sku.strip()}
    if not wanted:
        return {}
    query = Q()
    for sku in wanted:
        query |= Q(sku__iexact=sku)
    return {
        product.sku.lower(): product
        for product in Product.objects.select_related("preferred_supplier").filter(query)
    }


def sku_choices(*, limit: int = 500) -> list[tuple[str, str]]:
    """(SKU, name) of products still sold, for the SKU field's suggestions."""
    return list(
        Product.objects.filter(is_discontinued=False)
        .order_by("sku")
        .values_list("sku", "name")[:limit]
    )


def recent_customers(*, limit: int = 200) -> list[Customer]:
    """The newest customers, for the email field's suggestions."""
    return list(Customer.objects.order_by("-created_at", "-id")[:limit])


def unusual_line_quantities(*, lines: Sequence[tuple[int, Any]]) -> list[str]:
    """For each (row, line request) whose quantity is far above its product's usual, what to ask
    before placing it (orders.selectors.usual_quantity)."""
    known = products_by_sku(skus=[line.sku for _, line in lines])
    questions = []
    for row, line in lines:
        product = known.get(line.sku.strip().lower())
        if product is None:
            continue
        usual = usual_quantity(product_id=product.pk)
        if usual.far_above(line.quantity):
            questions.append(
                f"Line {row}: " + usual.warning(sku=product.sku, quantity=line.quantity)
            )
    return questions


# --- the orders list's choices and bulk actions ---------------------------------------------


def orders_by_id(*, order_ids: Sequence[int]) -> list[Order]:
    """The orders with these ids, in id order (missing ids are skipped)."""
    return list(Order.objects.filter(pk__in=order_ids).order_by("pk"))

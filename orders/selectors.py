from __future__ import annotations

from decimal import Decimal

from django.db.models import DecimalField, Exists, F, OuterRef, Prefetch, QuerySet, Sum

from inventory.models import Stock
from inventory.selectors import products_without_stock, stock_ledger_mismatches

from .models import Order, OrderEvent, OrderLine, Refund, status_from_lines
from .services import QUEUE_ORDER


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


def order_status(*, order: Order) -> str:
    status = getattr(order, "status", None)
    if status is not None:
        return status
    return status_from_lines(order.lines.all())


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
    # 7: every paid, cancelled unit is covered by a refund obligation.
    cancelled = list(
        OrderLine.objects.filter(quantity_cancelled__gt=0, order__amount_paid__gt=0)
        .values("order_id", "order__number", "order__amount_paid")
        .annotate(
            value=Sum(
                F("unit_price") * F("quantity_cancelled"),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            )
        )
        .order_by()
    )
    owed = dict(
        Refund.objects.filter(order_id__in=[row["order_id"] for row in cancelled])
        .values_list("order_id")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("order_id", "total")
    )
    for row in cancelled:
        expected = min(row["order__amount_paid"], row["value"])
        if owed.get(row["order_id"], Decimal("0")) < expected:
            problems.append(
                f"{row['order__number']}: {expected} of paid goods cancelled but only "
                f"{owed.get(row['order_id'], Decimal('0'))} owed back."
            )
    return problems

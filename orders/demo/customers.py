"""The customer side of the demo: orders placed, shipped, cancelled and refunded, and the
final tally."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from inventory.models import Product, PurchaseOrder

from ..models import Customer, Order, OrderLine, Refund, Shipment
from ..selectors import QuoteStatus, product_quote
from ..services import (
    LineRequest,
    awaiting_payment,
    line_cancel,
    line_prioritise,
    order_cancel,
    order_place,
    refund_mark_issued,
    shipment_create,
    shipment_refusal,
)
from .base import DemoBase, simulated_clock
from .catalog import (
    CANCEL_REASONS,
    CARRIERS,
    CATALOG,
    DISCONTINUED_SKU,
    FEATURED,
    FEATURED_FROM_DAY,
    NURSERY_SKU,
    PM,
    PREORDER_SKU,
    DemoProduct,
)


class DemoCustomers(DemoBase):
    """Customers ordering and the warehouse shipping to them."""

    def room_for(self, product: Product, quantity: int) -> int:
        """How many units order_place will accept right now, so the demo never gets refused."""
        if (
            product.accepts_backorders
            and product.backorder_cap is None
            and not product.backorder_limit_from_incoming
        ):
            return quantity
        while quantity and (
            product_quote(product=product, quantity=quantity).status == QuoteStatus.NOT_ORDERABLE
        ):
            quantity -= 1
        return quantity

    def trade_order(self, day: dt.date) -> None:
        """A landscaper's order for a courtyard job, on account: more trees than the nursery
        has brought, so some wait with no date until the nursery calls."""
        quantity = self.room_for(self.products[NURSERY_SKU], 5)
        if not quantity:
            return
        order_place(
            customer_email="purchasing@greenleaf-landscaping.example.com",
            customer_name="Greenleaf Landscaping",
            lines=[LineRequest(sku=NURSERY_SKU, quantity=quantity)],
            placed_at=self.at(day, 6, 45),
            paid=False,
            payment_method=PM.BILL_ME,
        )
        self.summary.orders += 1

    def place_orders(self, day: dt.date) -> None:
        weekend = day.weekday() >= 5
        count = self.rng.randint(3, 6) if weekend else self.rng.randint(5, 8)
        times = sorted(self.rng.randint(7 * 60, 23 * 60) for _ in range(count))
        if day == self.today:
            times = [t for t in times if t < self.now.hour * 60 + self.now.minute]
        catalog = [
            spec
            for spec in CATALOG
            if not (spec.sku == DISCONTINUED_SKU and self.products[spec.sku].is_discontinued)
        ]
        boost = 3 if (day - self.start).days >= FEATURED_FROM_DAY else 1
        weights = [spec.demand * (boost if spec.sku in FEATURED else 1) for spec in catalog]
        for minutes in times:
            placed_at = self.at(day, minutes // 60, minutes % 60)
            size = self.rng.choices((1, 2, 3, 4), weights=(45, 30, 17, 8))[0]
            chosen: dict[str, DemoProduct] = {}
            while len(chosen) < size:
                spec = self.rng.choices(catalog, weights=weights)[0]
                chosen[spec.sku] = spec
            lines = []
            for spec in chosen.values():
                cheap = Decimal(spec.price) < 40
                quantity = self.rng.choices(
                    (1, 2, 3), weights=(80, 15, 5) if cheap else (92, 8, 0)
                )[0]
                quantity = self.room_for(self.products[spec.sku], quantity)
                if quantity:
                    lines.append(LineRequest(sku=spec.sku, quantity=quantity))
            if not lines:
                continue
            name, email = self.rng.choices(self.customers, weights=self.customer_weights)[0]
            roll = self.rng.random()
            paid = roll >= 0.06
            if paid:
                method = self.rng.choices(
                    (PM.CARD, PM.PAYPAL, PM.STORE_CREDIT, PM.CHECK), weights=(70, 22, 5, 3)
                )[0]
            else:
                method = self.rng.choice((PM.CHECK, PM.MONEY_ORDER, PM.BILL_ME, PM.COD))
            promised = (
                day + dt.timedelta(days=self.rng.choice((5, 7, 10, 14)))
                if self.rng.random() < 0.15
                else None
            )
            order_place(
                customer_email=email,
                customer_name=name,
                lines=lines,
                placed_at=placed_at,
                paid=paid,
                promised_ship_date=promised,
                ship_preference=(
                    Order.ShipPreference.SHIP_COMPLETE
                    if len(lines) > 1 and self.rng.random() < 0.3
                    else Order.ShipPreference.SHIP_AVAILABLE
                ),
                payment_method=method,
                is_priority=self.rng.random() < 0.03,
            )
            self.summary.orders += 1

    def ship(self, day: dt.date, *, last_days: int) -> None:
        """Ship what is allocated on orders placed before today, mornings' pick list first."""
        cutoff = self.at(day, 0)
        allocated: dict[int, dict[int, int]] = defaultdict(dict)
        for order_id, line_id, units in (
            OrderLine.objects.filter(quantity_allocated__gt=0, order__placed_at__lt=cutoff)
            .order_by("order_id", "id")
            .values_list("order_id", "id", "quantity_allocated")
        ):
            allocated[order_id][line_id] = units
        if not allocated:
            return
        waiting_orders = set(
            OrderLine.objects.filter(order_id__in=allocated, quantity_backordered__gt=0)
            .values_list("order_id", flat=True)
            .distinct()
        )
        orders = Order.objects.in_bulk(list(allocated))
        # The warehouse falls behind in the last few days, so some orders stay open.
        ship_rate = 0.85 if last_days > 4 else 0.3
        shipped_at = self.at(day, 16, 30)
        for order_id, lines in allocated.items():
            order = orders[order_id]
            if self.rng.random() > ship_rate:
                continue
            quantities: dict[int, int] | None = None
            override = ""
            if order.ship_preference == Order.ShipPreference.SHIP_COMPLETE and (
                order_id in waiting_orders
            ):
                if (day - order.placed_at.astimezone(self.tz).date()).days < 21 or (
                    self.rng.random() > 0.1
                ):
                    continue
                override = "Customer asked for the in-stock items now"
            elif (
                order.ship_preference == Order.ShipPreference.SHIP_AVAILABLE
                and len(lines) > 1
                and self.rng.random() < 0.1
            ):
                # Split pick: one line goes from the second warehouse a day later.
                first = next(iter(lines))
                quantities = {first: lines[first]}
            carrier = self.rng.choices(CARRIERS, weights=(45, 35, 20))[0]
            tracking_number = self.tracking_number(carrier)
            if awaiting_payment(order):
                continue  # the check or money order is still in the post
            # Recorded at the moment it ships (a shipment is never back-dated); an order past
            # its Mail Order Rule deadline is not shipped: the engine cancels it.
            with simulated_clock(shipped_at):
                if shipment_refusal(
                    order=order, line_ids=list(quantities or lines), now=timezone.now()
                ):
                    continue
                shipment_create(
                    order=order,
                    quantities=quantities,
                    carrier=carrier,
                    tracking_number=tracking_number,
                    override_reason=override,
                )
            self.summary.shipments += 1

    def cancel(self, day: dt.date) -> None:
        if self.rng.random() > 0.4:
            return
        cutoff = self.at(day - dt.timedelta(days=5), 0)
        candidates = list(
            OrderLine.objects.filter(quantity_backordered__gt=0, order__placed_at__lt=cutoff)
            .exclude(product__sku=PREORDER_SKU)
            .order_by("id")
            .values_list("id", "order_id", "quantity_backordered")
        )
        if not candidates:
            return
        line_id, order_id, backordered = self.rng.choice(candidates)
        reason = self.rng.choice(CANCEL_REASONS)
        nothing_shipped = not Shipment.objects.filter(order_id=order_id).exists()
        if nothing_shipped and self.rng.random() < 0.4:
            order_cancel(order=Order.objects.get(pk=order_id), reason=reason)
        else:
            line = OrderLine.objects.get(pk=line_id)
            quantity = 1 if backordered > 1 and self.rng.random() < 0.5 else backordered
            line_cancel(line=line, reason=reason, quantity=quantity)
        self.summary.cancellations += 1
        refund = Refund.objects.filter(order_id=order_id, issued_at=None).order_by("-id").first()
        if refund is not None:
            self.pending_refunds.append((day, refund.pk))

    def issue_refunds(self, day: dt.date) -> None:
        still_open = []
        for vested_on, refund_id in self.pending_refunds:
            if (day - vested_on).days >= 3 and self.rng.random() < 0.25:
                refund = Refund.objects.select_related("order").get(pk=refund_id)
                refund_mark_issued(refund=refund, reference=self.refund_reference(refund.order))
                self.summary.refunds_issued += 1
            else:
                still_open.append((vested_on, refund_id))
        self.pending_refunds = still_open

    def refund_reference(self, order: Order) -> str:
        token = "".join(self.rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=14))
        if order.payment_method == PM.CARD:
            return f"Card refund re_{token}"
        if order.payment_method == PM.PAYPAL:
            return f"PayPal refund {token[:12]}"
        if order.payment_method == PM.STORE_CREDIT:
            return f"Credit memo CM-{self.rng.randint(1000, 9999)}"
        return f"Check #{self.rng.randint(10000, 19999)}"

    def prioritise_one(self) -> None:
        line = (
            OrderLine.objects.filter(quantity_backordered__gt=0, priority=0)
            .exclude(product__sku=PREORDER_SKU)
            .select_related("order")
            .order_by("queued_at", "id")
            .last()
        )
        if line is not None:
            line_prioritise(line=line, reason="Replacement for a unit damaged in transit")

    def tally(self) -> None:
        summary = self.summary
        summary.statuses = Counter(
            # django-stubs cannot see the annotation with_status() adds.
            Order.objects.with_status().values_list("status", flat=True).order_by()  # type: ignore[misc]
        )
        summary.purchase_order_statuses = Counter(
            PurchaseOrder.objects.values_list("status", flat=True).order_by()
        )
        backordered = OrderLine.objects.filter(quantity_backordered__gt=0)
        summary.eta_sources = Counter(backordered.values_list("eta_source", flat=True).order_by())
        summary.lines_backordered = backordered.count()
        summary.units_backordered = (
            backordered.aggregate(units=Sum("quantity_backordered"))["units"] or 0
        )
        # Customers exist once they order; a regular or two may not have ordered yet.
        summary.customers = Customer.objects.filter(
            email__in=[email for _, email in self.customers]
        ).count()
        summary.refunds = Refund.objects.count()
        summary.refunds_open = Refund.objects.filter(issued_at=None).count()

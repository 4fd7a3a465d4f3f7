"""The supply side of the demo: reordering, purchase orders, deliveries (on time, late or
short), the cancelled purchase order and stock counts."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from inventory.models import PurchaseOrder, PurchaseOrderLine
from inventory.selectors import open_purchase_lines
from inventory.services import PurchaseLineRequest

from ..models import OrderLine
from ..selectors import product_replenishment
from ..services import (
    product_allocate,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_cost_set,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
    purchase_orders_from_suggestions,
    stock_adjust,
    stock_receive,
)
from .base import Delivery, DemoBase, next_weekday
from .catalog import (
    DELAY_REASONS,
    LATE_BY,
    NURSERY_SKU,
    ORDINARY,
    PO_CANCEL_REASON,
    SHORT_REASON,
)


class DemoSupply(DemoBase):
    """The buyer and the warehouse receiving."""

    def reorder(self, day: dt.date) -> None:
        """At close of business the buyer orders what fell to its reorder point (counting what
        is already on the way), one purchase order per supplier, sent at once."""
        # Annotated rows (suggested_quantity, ...): typed Any for the type checker.
        replenishment: Any = product_replenishment()
        suggestions: list[tuple[int, int]] = list(
            replenishment.filter(
                suggested_quantity__gt=0, preferred_supplier__isnull=False, is_preorder=False
            )
            .exclude(pk__in=self.on_hold)
            .order_by("sku")
            .values_list("pk", "suggested_quantity")
        )
        if not suggestions:
            return
        if day == self.today:
            # Today is real: the reorder-suggestions screen does exactly this.
            pos = purchase_orders_from_suggestions(
                product_ids=[pk for pk, _ in suggestions], send=True
            )
        else:
            by_supplier: dict[int, list[PurchaseLineRequest]] = defaultdict(list)
            for pk, quantity in suggestions:
                product = self.by_id[pk]
                lead = product.effective_lead_time_days or 0
                expected = next_weekday(day + dt.timedelta(days=lead))
                by_supplier[product.preferred_supplier_id or 0].append(
                    PurchaseLineRequest(product, quantity, expected)
                )
            suppliers = {s.pk: s for s in self.suppliers.values()}
            pos = [
                purchase_order_create(supplier=suppliers[supplier_id], lines=lines, send=True)
                for supplier_id, lines in sorted(
                    by_supplier.items(), key=lambda item: suppliers[item[0]].name
                )
            ]
        for po in pos:
            self.purchase_order_sent(po)

    def purchase_costs(self) -> None:
        """Every purchase line gets its supplier's unit cost: a steady share of the product's
        price per supplier (wholesale at 45 to 60 percent of retail)."""
        lines = PurchaseOrderLine.objects.filter(unit_cost__isnull=True).select_related(
            "product", "purchase_order"
        )
        for line in lines.order_by("id"):
            share = Decimal("0.45") + Decimal("0.05") * (line.purchase_order.supplier_id % 4)
            cost = (line.product.unit_price * share).quantize(Decimal("0.01"))
            purchase_order_line_cost_set(line=line, unit_cost=cost)

    def purchase_order_sent(self, po: PurchaseOrder) -> None:
        """Decide, once, how each line of a new purchase order will really arrive."""
        lines = list(po.lines.order_by("id"))
        self.summary.purchase_orders += 1
        self.summary.multi_line_purchase_orders += len(lines) > 1
        habits = self.habits.get(po.supplier_id, ORDINARY)
        for line in lines:
            roll = self.rng.random()
            if roll < habits.late:
                self.deliveries[line.pk] = self.late_delivery()
            elif roll < habits.late + 0.12 and line.quantity_ordered >= 4:
                self.deliveries[line.pk] = Delivery(
                    "short", self.rng.randint(4, 9), SHORT_REASON, self.rng.uniform(0.4, 0.75)
                )
            elif roll < habits.late + 0.12 + habits.early:
                self.deliveries[line.pk] = Delivery("early", self.rng.randint(1, 2))
            elif roll < habits.late + 0.12 + habits.early + habits.unannounced:
                self.deliveries[line.pk] = Delivery("unannounced", self.rng.randint(1, 4))

    def late_delivery(self) -> Delivery:
        return Delivery("late", self.rng.randint(5, 12))

    def receive_deliveries(self, day: dt.date) -> None:
        """Mornings: unpack what arrived; suppliers warn of delays a couple of days ahead."""
        due = (
            open_purchase_lines()
            .filter(expected_date__lte=day + dt.timedelta(days=2))
            .order_by("expected_date", "id")
        )
        for line in list(due):
            plan = self.deliveries.get(line.pk)
            if plan is None and not self.summary.delays and day >= self.start + LATE_BY:
                # Every few weeks some supplier runs late; make sure this story has one.
                plan = self.deliveries[line.pk] = self.late_delivery()
            if plan is not None and plan.kind == "late" and not plan.done:
                plan.done = True
                plan.reason = DELAY_REASONS[self.summary.delays % len(DELAY_REASONS)]
                self.reschedule(line, line.expected_date + dt.timedelta(days=plan.delay_days), plan)
                continue
            outstanding = line.quantity_ordered - line.quantity_received
            if plan is not None and plan.kind in ("early", "unannounced") and not plan.done:
                # Early: on the truck a day or two before the date; unannounced: days after it,
                # with nobody having said a word.
                early = plan.kind == "early"
                arrives = line.expected_date + dt.timedelta(
                    days=-plan.delay_days if early else plan.delay_days
                )
                if day >= arrives:
                    plan.done = True
                    self.receive(line, outstanding)
                continue
            if line.expected_date > day:
                continue
            if (
                plan is None
                and (self.today - day).days < 7
                and outstanding > 1
                and not open_purchase_lines()
                .filter(
                    purchase_order__status=PurchaseOrder.Status.PARTIALLY_RECEIVED,
                    expected_date__gt=self.today,
                )
                .exists()
            ):
                # This week a delivery comes up short too, its balance due next week.
                plan = self.deliveries[line.pk] = Delivery(
                    "short",
                    (self.today - day).days + self.rng.randint(3, 7),
                    SHORT_REASON,
                    self.rng.uniform(0.4, 0.75),
                )
            if plan is not None and plan.kind == "short" and not plan.done:
                plan.done = True
                units = max(1, min(outstanding - 1, round(outstanding * plan.fraction)))
                self.receive(line, units)
                self.summary.short_receipts += 1
                self.reschedule(line, day + dt.timedelta(days=plan.delay_days), plan)
            else:
                self.receive(line, outstanding)

    def receive(self, line: PurchaseOrderLine, units: int) -> None:
        purchase_order_line_receive(line=line, quantity=units)
        # What the allocation task does once the receipt commits (it then finds nothing to do).
        product_allocate(product_id=line.product_id)
        self.summary.receipts += 1

    def reschedule(self, line: PurchaseOrderLine, expected: dt.date, plan: Delivery) -> None:
        purchase_order_line_reschedule(
            line=line, expected_date=next_weekday(expected), reason=plan.reason
        )
        self.summary.reschedules += 1
        self.summary.delays += plan.kind == "late"

    def nursery_delivery(self) -> None:
        """The nursery brings trees when they are ready: no purchase order, no promised date."""
        tree = self.products[NURSERY_SKU]
        stock_receive(
            product=tree,
            quantity=5,
            reference="Sunny Acres Nursery, delivery note 2231",
            reason="Delivered by the nursery (no purchase order)",
        )
        product_allocate(product_id=tree.pk)

    def cancel_purchase_order(self) -> None:
        """A supplier cannot confirm a date: the buyer cancels the order that leaves the most
        customers waiting and puts its products on hold while re-sourcing them (their waiting
        lines fall back to lead-time estimates)."""
        waiting = dict(
            OrderLine.objects.filter(quantity_backordered__gt=0)
            .values_list("product_id")
            .annotate(units=Sum("quantity_backordered"))
            .order_by()
            .values_list("product_id", "units")
        )
        open_lines = Counter(open_purchase_lines().values_list("product_id", flat=True))
        candidates: list[tuple[int, int, int]] = []
        for po in PurchaseOrder.objects.filter(status=PurchaseOrder.Status.SENT).prefetch_related(
            "lines"
        ):
            products = [self.by_id[line.product_id] for line in po.lines.all()]
            if all(
                p.pk in waiting
                and open_lines[p.pk] == 1  # this order is the product's only supply
                and not p.is_preorder
                and not p.backorder_limit_from_incoming
                for p in products
            ):
                candidates.append((len(products), -sum(waiting[p.pk] for p in products), po.pk))
        if not candidates:
            return
        po = purchase_order_cancel(
            purchase_order=PurchaseOrder.objects.get(pk=min(candidates)[2]),
            reason=PO_CANCEL_REASON,
        )
        self.on_hold.update(po.lines.values_list("product_id", flat=True))
        self.summary.purchase_orders_cancelled += 1

    def adjust(self, sku: str, quantity: int, reason: str, reference: str) -> None:
        stock_adjust(
            product=self.products[sku], quantity=quantity, reason=reason, reference=reference
        )
        self.summary.adjustments += 1

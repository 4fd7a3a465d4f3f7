"""The demo shop: setting it up, then running the simulated days one by one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.conf import settings

from inventory.models import Product, Supplier
from inventory.services import PurchaseLineRequest, product_create, supplier_create
from storefront.demo import demo_widget_channel_seed

from ..services import (
    product_discontinue,
    product_eta_refresh,
    purchase_order_create,
)
from .base import DemoSummary, simulated_clock
from .catalog import (
    BW,
    CATALOG,
    DISCONTINUED_SKU,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    FIRST_SKU,
    LAST_NAMES,
    LAUNCH_ALLOCATION,
    PO_CANCEL_DAY,
    PREORDER_SKU,
    SUPPLIERS,
)
from .customers import DemoCustomers
from .goodwill import demo_goodwill
from .history import DemoHistory, history_units
from .risk import status_page_opens
from .supply import DemoSupply
from .waitlist import demo_waitlist


def demo_data_present() -> bool:
    return Product.objects.filter(sku__iexact=FIRST_SKU).exists()


class DemoShop(DemoSupply, DemoCustomers, DemoHistory):
    """Runs the 60 days. Call `run()` inside one transaction."""

    def create_suppliers(self) -> None:
        existing = Supplier.objects.in_bulk([s.name for s in SUPPLIERS], field_name="name")
        for spec in SUPPLIERS:
            self.suppliers[spec.key] = existing.get(spec.name) or supplier_create(
                name=spec.name, email=spec.email, lead_time_days=spec.lead
            )
            self.habits[self.suppliers[spec.key].pk] = spec
        self.summary.suppliers = len(self.suppliers)

    def create_catalog(self) -> None:
        earlier = history_units()
        for spec in CATALOG:
            product = product_create(
                # What the earlier purchase orders brought arrives with them (supplier_history).
                on_hand=spec.on_hand - earlier[spec.sku],
                sku=spec.sku,
                name=spec.name,
                unit_price=Decimal(spec.price),
                backorder_policy=spec.policy,
                backorder_cap=spec.cap,
                backorder_limit_from_incoming=spec.limit_to_incoming,
                backorder_margin=spec.margin,
                is_preorder=spec.preorder,
                release_date=self.today + dt.timedelta(days=45) if spec.preorder else None,
                preferred_supplier=self.suppliers[spec.supplier] if spec.supplier else None,
                lead_time_days=spec.lead,
                safety_stock=spec.safety,
                reorder_point=spec.reorder_point,
                reorder_quantity=spec.reorder_qty,
                exempt_from_mail_order_rule=spec.exempt,
            )
            self.products[spec.sku] = product
            self.by_id[product.pk] = product
        # No service sets substitutes yet; the relation carries no invariant of its own.
        for spec in CATALOG:
            if spec.substitutes:
                self.products[spec.sku].substitutes.add(
                    *(self.products[sku] for sku in spec.substitutes)
                )
        self.summary.products = len(self.products)

    def create_customers(self) -> None:
        seen: set[tuple[str, str]] = set()
        while len(self.customers) < 60:
            first = self.rng.choice(FIRST_NAMES)
            last = self.rng.choice(LAST_NAMES)
            if (first, last) in seen:
                continue
            seen.add((first, last))
            local = self.rng.choice(
                (f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{first}_{last}")
            )
            local = local.lower().replace("ü", "ue").replace("á", "a")
            if self.rng.random() < 0.3:
                local += str(self.rng.randint(1, 99))
            self.customers.append((f"{first} {last}", f"{local}@{self.rng.choice(EMAIL_DOMAINS)}"))
        # Regulars order more often than one-off buyers.
        self.customer_weights = [5 if i < 12 else 2 if i < 35 else 1 for i in range(60)]

    def order_launch_allocation(self) -> None:
        """The preorder's stock: one purchase order due a few days before the release."""
        headset = self.products[PREORDER_SKU]
        assert headset.release_date is not None  # noqa: S101 - set in create_catalog
        expected = headset.release_date - dt.timedelta(days=4)
        while expected.weekday() >= 5:
            expected -= dt.timedelta(days=1)
        po = purchase_order_create(
            supplier=self.suppliers[BW],
            lines=[PurchaseLineRequest(headset, LAUNCH_ALLOCATION, expected)],
            send=True,
            note="Launch allocation",
        )
        self.purchase_order_sent(po)

    # --- the daily routine ---------------------------------------------------------------

    def run(self) -> DemoSummary:
        self.create_suppliers()
        self.create_catalog()
        self.create_customers()
        self.supplier_history()
        self.order_launch_allocation()
        day = self.start
        while day <= self.today:
            with simulated_clock(self.at(day, 8) if day < self.today else None):
                self.simulate_day(day)
            day += dt.timedelta(days=1)
        # Dates promised from a simulated day are re-based on the real one.
        for product in self.products.values():
            product_eta_refresh(product_id=product.pk, reason="demo data loaded")
        self.purchase_costs()
        demo_widget_channel_seed()
        demo_goodwill()
        status_page_opens(now=self.now)
        demo_waitlist(self)
        self.tally()
        return self.summary

    def simulate_day(self, day: dt.date) -> None:
        """One day of trading: deliveries, orders, shipments, cancellations, buying."""
        index = (day - self.start).days
        weekday = day.weekday() < 5
        if weekday:
            self.receive_deliveries(day)
        if index == 18:
            self.nursery_delivery()
        if index == 20:
            self.adjust("HM-CK-2004", -3, "Cycle count", "CC-2026-11")
        if index == 31:
            self.products[DISCONTINUED_SKU] = product_discontinue(
                product=self.products[DISCONTINUED_SKU]
            )
        if index == 41:
            self.adjust("EL-SP-1004", -2, "Damaged in warehouse", "DMG-2026-07")
        if index == 47:
            self.adjust("GD-HS-3004", 4, "Cycle count", "CC-2026-12")
        if index == 56:
            self.trade_order(day)
        self.place_orders(day)
        if weekday and day < self.today:
            self.ship(day, last_days=(self.today - day).days)
        self.cancel(day)
        if index == 38:
            self.prioritise_one()
        if index >= PO_CANCEL_DAY and weekday and not self.summary.purchase_orders_cancelled:
            self.cancel_purchase_order()
        self.issue_refunds(day)
        if weekday:
            self.reorder(day)


@contextmanager
def order_event_subscribers_off() -> Iterator[None]:
    """Backfilled history is not news: nobody is emailed about 60 days that never happened."""
    saved = settings.ORDER_EVENT_SUBSCRIBERS
    settings.ORDER_EVENT_SUBSCRIBERS = []
    try:
        yield
    finally:
        settings.ORDER_EVENT_SUBSCRIBERS = saved


def demo_shop_seed(**kwargs: Any) -> DemoSummary:
    """Load the demo shop; the caller wraps this in one transaction."""
    with order_event_subscribers_off():
        return DemoShop(**kwargs).run()

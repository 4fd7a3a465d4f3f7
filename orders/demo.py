"""Demo data: a small electronics, home and garden shop with 60 days of trading behind it.

Everything is written through the services, in date order, so the allocation queues, the
stock ledger and the refund obligations are exactly what real use would have produced. The
random choices come from one seeded generator, so every run tells the same story.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from inventory.models import Product, Stock
from inventory.services import product_create, product_discontinue

from .models import Customer, Order, OrderLine, Refund, Shipment
from .services import (
    LineRequest,
    line_cancel,
    line_prioritise,
    order_cancel,
    order_place,
    refund_mark_issued,
    shipment_create,
    stock_adjust,
    stock_receive,
)

SEED = 2026
DAYS = 60
ALLOW = Product.BackorderPolicy.ALLOW
DENY = Product.BackorderPolicy.DENY
PM = Order.PaymentMethod


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    price: str
    on_hand: int
    policy: str = ALLOW
    cap: int | None = None
    lead: int = 14
    safety: int = 0
    reorder_point: int = 0
    reorder_qty: int = 0
    demand: int = 1  # relative weight: how often it lands in a basket
    exempt: bool = False
    preorder: bool = False
    substitutes: tuple[str, ...] = ()


# fmt: off
CATALOG: tuple[DemoProduct, ...] = (
    # Electronics
    DemoProduct("EL-HP-1001", "Aurora ANC Wireless Headphones", "149.00", 4, cap=None, lead=24,
                safety=4, reorder_point=8, reorder_qty=14, demand=9, substitutes=("EL-EB-1002",)),
    DemoProduct("EL-EB-1002", "Aurora Buds Pro True Wireless Earbuds", "99.00", 6, cap=25, lead=21,
                safety=4, reorder_point=8, reorder_qty=14, demand=7, substitutes=("EL-HP-1001",)),
    DemoProduct("EL-SP-1003", "Pulse Mini Bluetooth Speaker", "39.99", 40, lead=14, safety=6,
                reorder_point=12, reorder_qty=30, demand=3, substitutes=("EL-SP-1004",)),
    DemoProduct("EL-SP-1004", "Pulse Max Bluetooth Speaker", "89.00", 15, lead=18, safety=3,
                reorder_point=6, reorder_qty=15, demand=2, substitutes=("EL-SP-1003",)),
    DemoProduct("EL-CH-1005", "65W USB-C GaN Charger", "34.99", 120, policy=DENY, lead=10,
                safety=20, reorder_point=40, reorder_qty=100, demand=3),
    DemoProduct("EL-CB-1006", "USB-C to USB-C Braided Cable, 2 m", "12.99", 250, policy=DENY,
                lead=10, safety=30, reorder_point=60, reorder_qty=200, demand=4),
    DemoProduct("EL-PB-1007", "PowerCore 20,000 mAh Power Bank", "49.99", 25, lead=16, safety=5,
                reorder_point=10, reorder_qty=25, demand=2),
    DemoProduct("EL-SW-1008", "Stride 2 Smartwatch", "199.00", 3, cap=15, lead=32, safety=3,
                reorder_point=5, reorder_qty=10, demand=6),
    DemoProduct("EL-WC-1009", "Halo 1080p Webcam", "59.00", 20, lead=14, safety=3,
                reorder_point=6, reorder_qty=15, demand=1),
    DemoProduct("EL-KB-1010", "Low-Profile Mechanical Keyboard", "119.00", 8, lead=21, safety=2,
                reorder_point=4, reorder_qty=10, demand=2, substitutes=("EL-MS-1011",)),
    DemoProduct("EL-MS-1011", "Ergonomic Wireless Mouse", "44.99", 60, policy=DENY, lead=12,
                safety=8, reorder_point=15, reorder_qty=40, demand=2),
    DemoProduct("EL-SH-1012", "Smart Plug, 2-pack", "24.99", 80, lead=12, safety=10,
                reorder_point=20, reorder_qty=60, demand=2),
    DemoProduct("EL-SH-1013", "Smart LED Bulb E26, 4-pack", "39.99", 30, lead=12, safety=6,
                reorder_point=10, reorder_qty=30, demand=2),
    DemoProduct("EL-GC-1014", "Nimbus Wireless Game Controller", "64.99", 2, lead=26, safety=3,
                reorder_point=6, reorder_qty=12, demand=7),
    DemoProduct("EL-ER-1015", "Inkwell 7-inch E-Reader", "129.00", 5, lead=20, safety=2,
                reorder_point=4, reorder_qty=10, demand=2),
    DemoProduct("EL-TS-1016", "Aluminium Tablet Stand", "29.99", 45, policy=DENY, lead=14,
                safety=5, reorder_point=10, reorder_qty=30, demand=1),
    DemoProduct("EL-SP-0990", "Pulse Bluetooth Speaker (2024 model)", "29.99", 18, policy=DENY,
                demand=2, substitutes=("EL-SP-1003",)),
    DemoProduct("EL-VR-2001", "Horizon Mixed-Reality Headset", "499.00", 0, preorder=True,
                lead=45, demand=4, substitutes=()),
    # Home
    DemoProduct("HM-CF-2001", "Pour-Over Kettle, 1 L", "69.00", 12, lead=18, safety=2,
                reorder_point=4, reorder_qty=12, demand=2),
    DemoProduct("HM-CF-2002", "Conical Burr Coffee Grinder", "129.00", 3, lead=28, safety=2,
                reorder_point=4, reorder_qty=8, demand=5),
    DemoProduct("HM-CK-2003", "Enamelled Cast-Iron Dutch Oven, 5.5 qt", "89.00", 6, cap=20,
                lead=30, safety=2, reorder_point=4, reorder_qty=10, demand=4,
                substitutes=("HM-CK-2005",)),
    DemoProduct("HM-CK-2004", "Chef's Knife, 8 in", "59.00", 35, policy=DENY, lead=20, safety=5,
                reorder_point=10, reorder_qty=24, demand=2),
    DemoProduct("HM-CK-2005", "Non-Stick Skillet, 10 in", "39.00", 25, lead=14, safety=4,
                reorder_point=8, reorder_qty=24, demand=2, substitutes=("HM-CK-2003",)),
    DemoProduct("HM-BD-2006", "Linen Duvet Cover, Queen", "149.00", 10, lead=25, safety=2,
                reorder_point=4, reorder_qty=10, demand=2, substitutes=("HM-BD-2007",)),
    DemoProduct("HM-BD-2007", "Linen Duvet Cover, King", "169.00", 4, lead=25, safety=2,
                reorder_point=3, reorder_qty=8, demand=1, substitutes=("HM-BD-2006",)),
    DemoProduct("HM-BT-2008", "Waffle Bath Towel Set, 4 pieces", "54.00", 30, lead=15, safety=5,
                reorder_point=10, reorder_qty=30, demand=2),
    DemoProduct("HM-LT-2009", "Arc Floor Lamp", "179.00", 2, lead=35, safety=1,
                reorder_point=2, reorder_qty=5, demand=3),
    DemoProduct("HM-AP-2010", "HEPA Air Purifier", "219.00", 5, cap=30, lead=22, safety=3,
                reorder_point=6, reorder_qty=14, demand=8),
    DemoProduct("HM-AP-2011", "HEPA Replacement Filter", "39.00", 40, lead=14, safety=8,
                reorder_point=15, reorder_qty=40, demand=2),
    DemoProduct("HM-ST-2012", "Bamboo Drawer Organiser Set", "24.00", 50, policy=DENY, lead=18,
                safety=6, reorder_point=12, reorder_qty=36, demand=1),
    DemoProduct("HM-CL-2013", "Cordless Stick Vacuum", "249.00", 4, lead=24, safety=2,
                reorder_point=4, reorder_qty=8, demand=5),
    DemoProduct("HM-ST-2014", "Glass Storage Jars, set of 6", "32.00", 40, policy=DENY, lead=16,
                safety=6, reorder_point=12, reorder_qty=30, demand=1),
    DemoProduct("HM-TX-2015", "Merino Wool Throw Blanket", "79.00", 14, lead=20, safety=2,
                reorder_point=5, reorder_qty=12, demand=2),
    # Garden
    DemoProduct("GD-TL-3001", "Bypass Pruning Shears", "24.99", 60, policy=DENY, lead=12,
                safety=8, reorder_point=15, reorder_qty=48, demand=2),
    DemoProduct("GD-TL-3002", "Stainless Steel Garden Trowel", "14.99", 80, policy=DENY, lead=12,
                safety=10, reorder_point=20, reorder_qty=60, demand=1),
    DemoProduct("GD-HS-3003", "Expandable Garden Hose, 75 ft", "49.00", 10, lead=16, safety=3,
                reorder_point=6, reorder_qty=20, demand=2),
    DemoProduct("GD-HS-3004", "8-Pattern Hose Nozzle", "12.00", 50, lead=10, safety=8,
                reorder_point=15, reorder_qty=40, demand=1),
    DemoProduct("GD-PL-3005", "Raised Cedar Garden Bed, 4 x 8 ft", "189.00", 3, lead=30,
                safety=1, reorder_point=3, reorder_qty=6, demand=4, substitutes=("GD-PL-3006",)),
    DemoProduct("GD-PL-3006", "Self-Watering Planter, 12 in", "29.00", 20, lead=14, safety=4,
                reorder_point=8, reorder_qty=24, demand=2),
    DemoProduct("GD-SD-3007", "Heirloom Tomato Seed Collection", "9.99", 40, lead=10, safety=10,
                reorder_point=15, reorder_qty=50, demand=2, exempt=True,
                substitutes=("GD-SD-3008",)),
    DemoProduct("GD-SD-3008", "Pollinator Wildflower Seed Mix", "12.99", 5, lead=12, safety=5,
                reorder_point=8, reorder_qty=30, demand=2, exempt=True,
                substitutes=("GD-SD-3007",)),
    DemoProduct("GD-PT-3009", "Dwarf Meyer Lemon Tree (live plant)", "59.00", 2, cap=10, lead=21,
                safety=1, reorder_point=2, reorder_qty=6, demand=2, exempt=True),
    DemoProduct("GD-LT-3010", "Solar Path Lights, 6-pack", "44.00", 12, lead=18, safety=3,
                reorder_point=6, reorder_qty=18, demand=2),
    DemoProduct("GD-BF-3011", "Cedar Bird Feeder", "34.00", 15, lead=18, safety=2,
                reorder_point=5, reorder_qty=12, demand=1),
    DemoProduct("GD-CP-3012", "Compost Tumbler, 37 gal", "119.00", 2, lead=26, safety=1,
                reorder_point=2, reorder_qty=6, demand=2),
    DemoProduct("GD-MW-3013", "40V Cordless Lawn Mower", "399.00", 2, cap=8, lead=28, safety=1,
                reorder_point=2, reorder_qty=6, demand=2),
)
# fmt: on

FIRST_SKU = CATALOG[0].sku
DISCONTINUED_SKU = "EL-SP-0990"
PREORDER_SKU = "EL-VR-2001"

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Theo", "Evelyn", "Henry", "Priya", "Arjun",
    "Mei", "Hiroshi", "Fatima", "Omar", "Chloe", "Daniel", "Grace", "Samuel", "Zoe", "Gabriel",
    "Nora", "Diego", "Leah", "Marcus", "Hannah", "Andre", "Ruth", "Tomás", "Ingrid", "Kwame",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Garcia", "Nguyen", "Patel", "Kim", "Okafor", "Müller", "Rossi",
    "Hernandez", "Cohen", "Walker", "Lopez", "Chen", "Anderson", "Thompson", "Silva", "Ward",
    "Murphy", "Kowalski", "Jensen", "Baker", "Reyes", "Brooks", "Tanaka", "Haddad", "Fischer",
    "Price", "Diaz", "Campbell",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

CANCEL_REASONS = (
    "Customer no longer wants to wait",
    "Customer found it elsewhere",
    "Customer asked to cancel by email",
    "Gift needed before the ETA",
)
CARRIERS = ("UPS", "USPS", "FedEx")


@dataclass
class DemoSummary:
    products: int = 0
    customers: int = 0
    orders: int = 0
    receipts: int = 0
    shipments: int = 0
    cancellations: int = 0
    adjustments: int = 0
    refunds_issued: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    lines_backordered: int = 0
    units_backordered: int = 0
    refunds: int = 0
    refunds_open: int = 0


def demo_data_present() -> bool:
    return Product.objects.filter(sku__iexact=FIRST_SKU).exists()


class DemoShop:
    """Runs the 60 days. Call `run()` inside one transaction."""

    def __init__(self, *, now: dt.datetime | None = None) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 - a repeatable story, not secrets
        self.tz = ZoneInfo(settings.STORE_TIME_ZONE)
        self.today = timezone.localtime(now or timezone.now(), self.tz).date()
        self.start = self.today - dt.timedelta(days=DAYS)
        self.products: dict[str, Product] = {}
        self.spec = {p.sku: p for p in CATALOG}
        self.customers: list[tuple[str, str]] = []
        # sku -> (arrival date, units, PO reference): at most one open purchase order each.
        self.purchase_orders: dict[str, tuple[dt.date, int, str]] = {}
        self.po_count = 0
        self.pending_refunds: list[tuple[dt.date, int]] = []
        self.summary = DemoSummary()

    # --- helpers ------------------------------------------------------------------------

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)

    def tracking_number(self, carrier: str) -> str:
        digits = self.rng.choices("0123456789", k=22)
        if carrier == "UPS":
            letters = "".join(self.rng.choices("ABCDEFGHJKLMNPRSTVWXY0123456789", k=6))
            return f"1Z{letters}03{''.join(digits[:8])}"
        if carrier == "USPS":
            return "9400" + "".join(digits[:18])
        return "".join(digits[:12])

    # --- setup --------------------------------------------------------------------------

    def create_catalog(self) -> None:
        for spec in CATALOG:
            self.products[spec.sku] = product_create(
                on_hand=spec.on_hand,
                sku=spec.sku,
                name=spec.name,
                unit_price=Decimal(spec.price),
                backorder_policy=spec.policy,
                backorder_cap=spec.cap,
                is_preorder=spec.preorder,
                release_date=self.today + dt.timedelta(days=45) if spec.preorder else None,
                lead_time_days=spec.lead,
                safety_stock=spec.safety,
                reorder_point=spec.reorder_point,
                reorder_quantity=spec.reorder_qty,
                exempt_from_mail_order_rule=spec.exempt,
            )
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

    # --- the daily routine ---------------------------------------------------------------

    def run(self) -> DemoSummary:
        self.create_catalog()
        self.create_customers()
        day = self.start
        while day <= self.today:
            index = (day - self.start).days
            self.receive_purchase_orders(day)
            if index == 20:
                self.adjust("HM-CK-2004", -3, "Cycle count", "CC-2026-11")
            if index == 31:
                product_discontinue(product=self.products[DISCONTINUED_SKU])
            if index == 41:
                self.adjust("EL-SP-1004", -2, "Damaged in warehouse", "DMG-2026-07")
            if index == 47:
                self.adjust("GD-HS-3004", 4, "Cycle count", "CC-2026-12")
            self.place_orders(day)
            if day.weekday() < 5 and day < self.today:
                self.ship(day, last_days=(self.today - day).days)
            self.cancel(day)
            if index == 38:
                self.prioritise_one()
            self.issue_refunds(day)
            self.order_stock(day)
            day += dt.timedelta(days=1)
        self.tally()
        return self.summary

    def receive_purchase_orders(self, day: dt.date) -> None:
        for sku, (arrival, units, reference) in sorted(self.purchase_orders.items()):
            if arrival <= day:
                stock_receive(
                    product=self.products[sku],
                    quantity=units,
                    reference=reference,
                    reason="Received against purchase order",
                )
                del self.purchase_orders[sku]
                self.summary.receipts += 1

    def order_stock(self, day: dt.date) -> None:
        """Reorder what has fallen to its reorder point, as a buyer would at close of day."""
        stocks = dict(Stock.objects.values_list("product__sku", "on_hand"))
        allocated = dict(Stock.objects.values_list("product__sku", "allocated"))
        waiting = dict(
            OrderLine.objects.filter(quantity_backordered__gt=0)
            .values_list("product__sku")
            .annotate(units=Sum("quantity_backordered"))
            .order_by()
            .values_list("product__sku", "units")
        )
        for spec in CATALOG:
            if spec.preorder or spec.sku == DISCONTINUED_SKU or spec.sku in self.purchase_orders:
                continue
            position = stocks[spec.sku] - allocated[spec.sku] - waiting.get(spec.sku, 0)
            if position > spec.reorder_point:
                continue
            self.po_count += 1
            arrival = day + dt.timedelta(days=spec.lead + self.rng.randint(-2, 4))
            while arrival.weekday() >= 5:
                arrival += dt.timedelta(days=1)
            self.purchase_orders[spec.sku] = (
                arrival,
                spec.reorder_qty,
                f"PO-2026-{self.po_count:03d}",
            )

    def adjust(self, sku: str, quantity: int, reason: str, reference: str) -> None:
        stock_adjust(
            product=self.products[sku], quantity=quantity, reason=reason, reference=reference
        )
        self.summary.adjustments += 1

    def room_for(self, product: Product, quantity: int) -> int:
        """How many units order_place will accept right now, so the demo never gets refused."""
        if (
            not product.is_discontinued
            and product.backorder_cap is None
            and (product.accepts_backorders)
        ):
            return quantity
        stock = Stock.objects.get(pk=product.pk)
        waiting = (
            OrderLine.objects.filter(product=product, quantity_backordered__gt=0).aggregate(
                units=Sum("quantity_backordered")
            )["units"]
            or 0
        )
        if product.is_discontinued or not product.accepts_backorders:
            return max(0, min(quantity, stock.available - waiting))
        cap = product.backorder_cap or 0
        return max(0, min(quantity, cap + stock.available - waiting))

    def place_orders(self, day: dt.date) -> None:
        weekend = day.weekday() >= 5
        count = self.rng.randint(3, 6) if weekend else self.rng.randint(5, 8)
        times = sorted(self.rng.randint(7 * 60, 23 * 60) for _ in range(count))
        if day == self.today:
            now = timezone.localtime(timezone.now(), self.tz)
            times = [t for t in times if t < now.hour * 60 + now.minute]
        catalog = [
            spec
            for spec in CATALOG
            if not (spec.sku == DISCONTINUED_SKU and self.products[spec.sku].is_discontinued)
        ]
        weights = [spec.demand for spec in catalog]
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
            shipment_create(
                order=order,
                quantities=quantities,
                carrier=carrier,
                tracking_number=self.tracking_number(carrier),
                shipped_at=shipped_at,
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
        backordered = OrderLine.objects.filter(quantity_backordered__gt=0)
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


def demo_shop_seed(**kwargs: Any) -> DemoSummary:
    """Load the demo shop; the caller wraps this in one transaction."""
    return DemoShop(**kwargs).run()

"""Demo data: a small electronics, home and garden shop with 60 days of trading behind it.

Everything is written through the services, in date order, so the allocation queues, the
purchase orders, the ETAs, the stock ledger and the refund obligations are exactly what real
use would have produced. The random choices come from one seeded generator, so every run tells
the same story (for a given day).

The story: six suppliers deliver against purchase orders the buyer sends at close of business
whenever a product falls to its reorder point (one order per supplier, so some carry several
lines). Most deliveries arrive on the expected date; some arrive short and the balance is
rescheduled, some are announced late and rescheduled with the supplier's reason, and one order
is cancelled and its products put on hold while the buyer re-sources them (their waiting lines
fall back to lead-time ETAs). A gift guide features a few products in the last two weeks, so
their queues grow. A lemon tree comes from a local nursery with no supplier record and no lead
time (its waiting lines have no ETA), and a headset is on preorder against a launch allocation
due before its release date. Customers are not emailed about any of it (see
order_event_subscribers_off).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from config.calendar import store_today, store_zone
from inventory.models import Product, PurchaseOrder, PurchaseOrderLine, Supplier
from inventory.selectors import open_purchase_lines
from inventory.services import PurchaseLineRequest, product_create, supplier_create

from .models import Customer, Order, OrderLine, Refund, Shipment
from .selectors import QuoteStatus, product_quote, product_replenishment
from .services import (
    LineRequest,
    line_cancel,
    line_prioritise,
    order_cancel,
    order_place,
    product_allocate,
    product_discontinue,
    product_eta_refresh,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
    purchase_orders_from_suggestions,
    refund_mark_issued,
    shipment_create,
    shipment_refusal,
    stock_adjust,
    stock_receive,
)

SEED = 2026
DAYS = 60
ALLOW = Product.BackorderPolicy.ALLOW
DENY = Product.BackorderPolicy.DENY
PM = Order.PaymentMethod


@dataclass(frozen=True)
class DemoSupplier:
    key: str
    name: str
    email: str
    lead: int  # default lead time in days


# fmt: off
SUPPLIERS: tuple[DemoSupplier, ...] = (
    DemoSupplier("brightwave", "Brightwave Electronics Distribution",
                 "orders@brightwave-dist.example.com", 14),
    DemoSupplier("voltline", "Voltline Accessories", "purchasing@voltline.example.com", 6),
    DemoSupplier("hearth", "Hearth & Table Housewares", "trade@hearthandtable.example.com", 21),
    DemoSupplier("nordlys", "Nordlys Textiles", "sales@nordlys-textiles.example.com", 25),
    DemoSupplier("clearbreeze", "Clearbreeze Home Appliances", "b2b@clearbreeze.example.com", 18),
    DemoSupplier("evergreen", "Evergreen Garden Supply Co.", "orders@evergreen-garden.example.com",
                 11),
)
# fmt: on


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    price: str
    on_hand: int
    supplier: str | None  # DemoSupplier.key; None: no supplier on file
    lead: int | None = None  # the product's own lead time; None: the supplier's
    policy: str = ALLOW
    cap: int | None = None
    limit_to_incoming: bool = False
    margin: int = 0
    safety: int = 0
    reorder_point: int = 0
    reorder_qty: int = 0
    demand: int = 1  # relative weight: how often it lands in a basket
    exempt: bool = False
    preorder: bool = False
    substitutes: tuple[str, ...] = ()


BW, VL, HT, NT, CB, EG = "brightwave", "voltline", "hearth", "nordlys", "clearbreeze", "evergreen"

# fmt: off
CATALOG: tuple[DemoProduct, ...] = (
    # Electronics
    DemoProduct("EL-HP-1001", "Aurora ANC Wireless Headphones", "149.00", 4, BW, safety=4,
                reorder_point=8, reorder_qty=14, demand=9, substitutes=("EL-EB-1002",)),
    DemoProduct("EL-EB-1002", "Aurora Buds Pro True Wireless Earbuds", "99.00", 6, BW, cap=25,
                safety=4, reorder_point=8, reorder_qty=14, demand=7, substitutes=("EL-HP-1001",)),
    DemoProduct("EL-SP-1003", "Pulse Mini Bluetooth Speaker", "39.99", 40, BW, safety=6,
                reorder_point=12, reorder_qty=30, demand=3, substitutes=("EL-SP-1004",)),
    DemoProduct("EL-SP-1004", "Pulse Max Bluetooth Speaker", "89.00", 15, BW, safety=3,
                reorder_point=6, reorder_qty=15, demand=2, substitutes=("EL-SP-1003",)),
    DemoProduct("EL-CH-1005", "65W USB-C GaN Charger", "34.99", 120, VL, policy=DENY, safety=20,
                reorder_point=40, reorder_qty=100, demand=3),
    DemoProduct("EL-CB-1006", "USB-C to USB-C Braided Cable, 2 m", "12.99", 250, VL, policy=DENY,
                safety=30, reorder_point=60, reorder_qty=200, demand=4),
    DemoProduct("EL-PB-1007", "PowerCore 20,000 mAh Power Bank", "49.99", 25, VL, safety=5,
                reorder_point=10, reorder_qty=25, demand=2),
    # Made to order by the brand: its own lead time, and backorders only against incoming units.
    DemoProduct("EL-SW-1008", "Stride 2 Smartwatch", "199.00", 3, BW, lead=30,
                limit_to_incoming=True, margin=2, safety=3, reorder_point=5, reorder_qty=10,
                demand=6),
    DemoProduct("EL-WC-1009", "Halo 1080p Webcam", "59.00", 20, BW, safety=3, reorder_point=6,
                reorder_qty=15, demand=1),
    DemoProduct("EL-KB-1010", "Low-Profile Mechanical Keyboard", "119.00", 8, BW, safety=2,
                reorder_point=4, reorder_qty=10, demand=2, substitutes=("EL-MS-1011",)),
    DemoProduct("EL-MS-1011", "Ergonomic Wireless Mouse", "44.99", 60, BW, policy=DENY, safety=8,
                reorder_point=15, reorder_qty=40, demand=2),
    DemoProduct("EL-SH-1012", "Smart Plug, 2-pack", "24.99", 80, VL, safety=10,
                reorder_point=20, reorder_qty=60, demand=2),
    DemoProduct("EL-SH-1013", "Smart LED Bulb E26, 4-pack", "39.99", 30, VL, safety=6,
                reorder_point=10, reorder_qty=30, demand=2),
    DemoProduct("EL-GC-1014", "Nimbus Wireless Game Controller", "64.99", 2, BW, safety=3,
                reorder_point=6, reorder_qty=12, demand=7),
    DemoProduct("EL-ER-1015", "Inkwell 7-inch E-Reader", "129.00", 5, BW, safety=2,
                reorder_point=4, reorder_qty=10, demand=2),
    DemoProduct("EL-TS-1016", "Aluminium Tablet Stand", "29.99", 45, VL, policy=DENY, safety=5,
                reorder_point=10, reorder_qty=30, demand=1),
    # Last year's model, bought as a clearance lot: no supplier, discontinued on day 31.
    DemoProduct("EL-SP-0990", "Pulse Bluetooth Speaker (2024 model)", "29.99", 18, None,
                policy=DENY, demand=2, substitutes=("EL-SP-1003",)),
    # On preorder against the launch allocation only.
    DemoProduct("EL-VR-2001", "Horizon Mixed-Reality Headset", "499.00", 0, BW, lead=45,
                preorder=True, limit_to_incoming=True, demand=4),
    # Home
    DemoProduct("HM-CF-2001", "Pour-Over Kettle, 1 L", "69.00", 12, HT, safety=2,
                reorder_point=4, reorder_qty=12, demand=2),
    DemoProduct("HM-CF-2002", "Conical Burr Coffee Grinder", "129.00", 3, HT, lead=28, safety=2,
                reorder_point=4, reorder_qty=8, demand=5),
    DemoProduct("HM-CK-2003", "Enamelled Cast-Iron Dutch Oven, 5.5 qt", "89.00", 6, HT, cap=20,
                safety=2, reorder_point=4, reorder_qty=10, demand=4, substitutes=("HM-CK-2005",)),
    DemoProduct("HM-CK-2004", "Chef's Knife, 8 in", "59.00", 35, HT, policy=DENY, safety=5,
                reorder_point=10, reorder_qty=24, demand=2),
    DemoProduct("HM-CK-2005", "Non-Stick Skillet, 10 in", "39.00", 25, HT, safety=4,
                reorder_point=8, reorder_qty=24, demand=2, substitutes=("HM-CK-2003",)),
    DemoProduct("HM-BD-2006", "Linen Duvet Cover, Queen", "149.00", 10, NT, safety=2,
                reorder_point=4, reorder_qty=10, demand=2, substitutes=("HM-BD-2007",)),
    DemoProduct("HM-BD-2007", "Linen Duvet Cover, King", "169.00", 4, NT, safety=2,
                reorder_point=3, reorder_qty=8, demand=1, substitutes=("HM-BD-2006",)),
    DemoProduct("HM-BT-2008", "Waffle Bath Towel Set, 4 pieces", "54.00", 30, NT, safety=5,
                reorder_point=10, reorder_qty=30, demand=2),
    DemoProduct("HM-LT-2009", "Arc Floor Lamp", "179.00", 2, CB, safety=1, reorder_point=2,
                reorder_qty=5, demand=3),
    DemoProduct("HM-AP-2010", "HEPA Air Purifier", "219.00", 5, CB, cap=30, safety=3,
                reorder_point=6, reorder_qty=14, demand=8),
    # Filters ship from the supplier's domestic warehouse.
    DemoProduct("HM-AP-2011", "HEPA Replacement Filter", "39.00", 40, CB, lead=7, safety=8,
                reorder_point=15, reorder_qty=40, demand=2),
    DemoProduct("HM-ST-2012", "Bamboo Drawer Organiser Set", "24.00", 50, HT, policy=DENY,
                safety=6, reorder_point=12, reorder_qty=36, demand=1),
    DemoProduct("HM-CL-2013", "Cordless Stick Vacuum", "249.00", 4, CB, safety=2,
                reorder_point=4, reorder_qty=8, demand=5),
    DemoProduct("HM-ST-2014", "Glass Storage Jars, set of 6", "32.00", 40, HT, policy=DENY,
                safety=6, reorder_point=12, reorder_qty=30, demand=1),
    DemoProduct("HM-TX-2015", "Merino Wool Throw Blanket", "79.00", 14, NT, safety=2,
                reorder_point=5, reorder_qty=12, demand=2),
    # Garden
    DemoProduct("GD-TL-3001", "Bypass Pruning Shears", "24.99", 60, EG, policy=DENY, safety=8,
                reorder_point=15, reorder_qty=48, demand=2),
    DemoProduct("GD-TL-3002", "Stainless Steel Garden Trowel", "14.99", 80, EG, policy=DENY,
                safety=10, reorder_point=20, reorder_qty=60, demand=1),
    DemoProduct("GD-HS-3003", "Expandable Garden Hose, 75 ft", "49.00", 10, EG, safety=3,
                reorder_point=6, reorder_qty=20, demand=2),
    DemoProduct("GD-HS-3004", "8-Pattern Hose Nozzle", "12.00", 50, EG, safety=8,
                reorder_point=15, reorder_qty=40, demand=1),
    # Cedar beds are cut to order.
    DemoProduct("GD-PL-3005", "Raised Cedar Garden Bed, 4 x 8 ft", "189.00", 3, EG, lead=30,
                safety=1, reorder_point=3, reorder_qty=6, demand=4, substitutes=("GD-PL-3006",)),
    DemoProduct("GD-PL-3006", "Self-Watering Planter, 12 in", "29.00", 20, EG, safety=4,
                reorder_point=8, reorder_qty=24, demand=2),
    DemoProduct("GD-SD-3007", "Heirloom Tomato Seed Collection", "9.99", 40, EG, safety=10,
                reorder_point=15, reorder_qty=50, demand=2, exempt=True,
                substitutes=("GD-SD-3008",)),
    DemoProduct("GD-SD-3008", "Pollinator Wildflower Seed Mix", "12.99", 5, EG, safety=5,
                reorder_point=8, reorder_qty=30, demand=2, exempt=True,
                substitutes=("GD-SD-3007",)),
    # From a local nursery when the trees are ready: no supplier on file, no lead time.
    DemoProduct("GD-PT-3009", "Dwarf Meyer Lemon Tree (live plant)", "59.00", 3, None, cap=12,
                demand=4, exempt=True),
    DemoProduct("GD-LT-3010", "Solar Path Lights, 6-pack", "44.00", 12, EG, safety=3,
                reorder_point=6, reorder_qty=18, demand=2),
    DemoProduct("GD-BF-3011", "Cedar Bird Feeder", "34.00", 15, EG, safety=2, reorder_point=5,
                reorder_qty=12, demand=1),
    DemoProduct("GD-CP-3012", "Compost Tumbler, 37 gal", "119.00", 2, EG, safety=1,
                reorder_point=2, reorder_qty=6, demand=2),
    DemoProduct("GD-MW-3013", "40V Cordless Lawn Mower", "399.00", 2, EG, cap=8, safety=1,
                reorder_point=2, reorder_qty=6, demand=2),
)
# fmt: on

FIRST_SKU = CATALOG[0].sku
DISCONTINUED_SKU = "EL-SP-0990"
PREORDER_SKU = "EL-VR-2001"
NURSERY_SKU = "GD-PT-3009"
LAUNCH_ALLOCATION = 40  # preorder units on the launch purchase order
# A gift guide features these for the last two weeks: demand triples, and the queues grow.
FEATURED = ("EL-HP-1001", "EL-GC-1014", "HM-AP-2010", "HM-CL-2013")
FEATURED_FROM_DAY = 46

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
DELAY_REASONS = (  # in turn
    "Supplier production delay",
    "Held at customs",
    "Supplier production delay",
    "Raw material shortage at the factory",
    "Container missed its sailing",
)
LATE_BY = dt.timedelta(days=30)  # a supplier has run late by the time the story is half told
SHORT_REASON = "Short shipment: the supplier sends the balance separately"
PO_CANCEL_REASON = "Supplier cannot confirm a ship date; buyer is re-sourcing"
PO_CANCEL_DAY = 50  # the first weekday from this day on


@dataclass
class Delivery:
    """How one purchase-order line really arrives: the supplier knows, the shop finds out."""

    kind: str  # "late": announced late, then in full; "short": part now, the balance later
    delay_days: int
    reason: str = ""
    fraction: float = 1.0
    done: bool = False


@dataclass
class DemoSummary:
    products: int = 0
    suppliers: int = 0
    customers: int = 0
    orders: int = 0
    purchase_orders: int = 0
    multi_line_purchase_orders: int = 0
    receipts: int = 0
    short_receipts: int = 0
    reschedules: int = 0
    delays: int = 0  # reschedules because the supplier announced a delay
    purchase_orders_cancelled: int = 0
    shipments: int = 0
    cancellations: int = 0
    adjustments: int = 0
    refunds_issued: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    purchase_order_statuses: Counter[str] = field(default_factory=Counter)
    eta_sources: Counter[str] = field(default_factory=Counter)
    lines_backordered: int = 0
    units_backordered: int = 0
    refunds: int = 0
    refunds_open: int = 0


def demo_data_present() -> bool:
    return Product.objects.filter(sku__iexact=FIRST_SKU).exists()


def next_weekday(day: dt.date) -> dt.date:
    """Suppliers deliver Monday to Friday."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


class DemoShop:
    """Runs the 60 days. Call `run()` inside one transaction."""

    def __init__(self, *, now: dt.datetime | None = None) -> None:
        self.rng = random.Random(SEED)  # noqa: S311 - a repeatable story, not secrets
        self.tz = store_zone()
        self.now = timezone.localtime(now or timezone.now(), self.tz)
        self.today = self.now.date()
        self.start = self.today - dt.timedelta(days=DAYS)
        self.suppliers: dict[str, Supplier] = {}
        self.products: dict[str, Product] = {}
        self.by_id: dict[int, Product] = {}
        self.customers: list[tuple[str, str]] = []
        # PO line id -> how it will arrive; lines not in here arrive in full when expected.
        self.deliveries: dict[int, Delivery] = {}
        # Products whose purchase order was cancelled: the buyer re-sources, does not reorder.
        self.on_hold: set[int] = set()
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

    def create_suppliers(self) -> None:
        existing = Supplier.objects.in_bulk([s.name for s in SUPPLIERS], field_name="name")
        for spec in SUPPLIERS:
            self.suppliers[spec.key] = existing.get(spec.name) or supplier_create(
                name=spec.name, email=spec.email, lead_time_days=spec.lead
            )
        self.summary.suppliers = len(self.suppliers)

    def create_catalog(self) -> None:
        for spec in CATALOG:
            product = product_create(
                on_hand=spec.on_hand,
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
        self.order_launch_allocation()
        day = self.start
        while day <= self.today:
            with simulated_clock(self.at(day, 8) if day < self.today else None):
                self.simulate_day(day)
            day += dt.timedelta(days=1)
        # Dates promised from a simulated day are re-based on the real one.
        for product in self.products.values():
            product_eta_refresh(product_id=product.pk, reason="demo data loaded")
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

    # --- supply -------------------------------------------------------------------------

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
        if day == store_today():
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

    def purchase_order_sent(self, po: PurchaseOrder) -> None:
        """Decide, once, how each line of a new purchase order will really arrive."""
        lines = list(po.lines.order_by("id"))
        self.summary.purchase_orders += 1
        self.summary.multi_line_purchase_orders += len(lines) > 1
        for line in lines:
            roll = self.rng.random()
            if roll < 0.1:
                self.deliveries[line.pk] = self.late_delivery()
            elif roll < 0.22 and line.quantity_ordered >= 4:
                self.deliveries[line.pk] = Delivery(
                    "short", self.rng.randint(4, 9), SHORT_REASON, self.rng.uniform(0.4, 0.75)
                )

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
            if line.expected_date > day:
                continue
            outstanding = line.quantity_ordered - line.quantity_received
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

    # --- customers ----------------------------------------------------------------------

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


@contextmanager
def simulated_clock(moment: dt.datetime | None) -> Iterator[None]:
    """Run a simulated day at its own date, so the timeline, receipts, ETAs and refunds carry
    that day's time (the clock then runs on from there). Uses time-machine when it is
    installed (it comes with the test tools); without it, everything is stamped "now"."""
    try:
        import time_machine
    except ImportError:  # pragma: no cover - production installs without the test tools
        yield
        return
    if moment is None:
        yield
        return
    with time_machine.travel(moment, tick=True):
        yield


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

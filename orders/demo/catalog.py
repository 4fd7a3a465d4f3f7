"""What the demo shop sells and who supplies it, and the fixed choices of its story."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from inventory.models import Product

from ..models import Order

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
    # Its habits, as chances per purchase-order line: announcing a delay a few days ahead,
    # turning up a day or two early, turning up late without a word.
    late: float = 0.1
    early: float = 0.0
    unannounced: float = 0.0


# A supplier the demo did not create: the habits of an average one.
ORDINARY = DemoSupplier("ordinary", "", "", 14)

# fmt: off
SUPPLIERS: tuple[DemoSupplier, ...] = (
    DemoSupplier("brightwave", "Brightwave Electronics Distribution",
                 "orders@brightwave-dist.example.com", 14, late=0.12, early=0.15, unannounced=0.08),
    # The dependable one: rarely late, often early.
    DemoSupplier("voltline", "Voltline Accessories", "purchasing@voltline.example.com", 6,
                 late=0.03, early=0.3, unannounced=0.03),
    DemoSupplier("hearth", "Hearth & Table Housewares", "trade@hearthandtable.example.com", 21,
                 late=0.2, early=0.05, unannounced=0.2),
    # The one to chase: moves its dates and still comes late.
    DemoSupplier("nordlys", "Nordlys Textiles", "sales@nordlys-textiles.example.com", 25,
                 late=0.3, unannounced=0.3),
    DemoSupplier("clearbreeze", "Clearbreeze Home Appliances", "b2b@clearbreeze.example.com", 18,
                 late=0.08, early=0.1, unannounced=0.12),
    DemoSupplier("evergreen", "Evergreen Garden Supply Co.", "orders@evergreen-garden.example.com",
                 11, late=0.06, early=0.2, unannounced=0.06),
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

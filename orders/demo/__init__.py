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

What the shop sells and who supplies it is in `catalog`, the buying and receiving in `supply`,
the customers' orders, shipments, cancellations and refunds in `customers`, and the days are run
by `shop`.
"""

from .base import DemoSummary
from .shop import DemoShop, demo_data_present, demo_shop_seed

__all__ = ["DemoShop", "DemoSummary", "demo_data_present", "demo_shop_seed"]

"""The demo's waitlists: shoppers who would rather not order asked to be told when a product is
back. On two products that came back in the last days the first of them were told at the
delivery, as many as units were free once the backorders had theirs; on two sold-out products
they are still waiting."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from inventory.models import Product, Stock, StockMovement

from .base import DemoBase, simulated_clock
from .catalog import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, SEED

DENY = Product.BackorderPolicy.DENY
RESTOCKED = 2
SOLD_OUT = 2
RECENT = dt.timedelta(days=10)
# An invitation holds its place this long (WAITLIST_INVITATION_HOURS' default); a restock
# older than that has passed its places on, so only a fresher one shows shoppers still waiting.
STILL_OPEN = dt.timedelta(hours=40)


def demo_waitlist(shop: DemoBase) -> None:
    """Waitlisters joining before a restock and told at it, and some still waiting."""
    # The storefront app sits above orders; the demo, which tells the whole shop's story, is
    # the one place here that reaches up to it.
    from storefront.waitlist.selectors import waitlist_free_units
    from storefront.waitlist.services import waitlist_invite_for_product, waitlist_join

    rng = random.Random(SEED + 1)  # noqa: S311 - a repeatable story, not secrets
    now = timezone.now()
    products = [
        p
        for p in sorted(shop.products.values(), key=lambda p: p.sku)
        if not p.is_preorder and not p.is_discontinued
    ]
    stocks = Stock.objects.in_bulk([p.pk for p in products])
    last_receipts = {
        product_id: moment
        for product_id, moment in StockMovement.objects.filter(
            product_id__in=stocks, kind=StockMovement.Kind.RECEIPT, created_at__gte=now - RECENT
        )
        .order_by("product_id", "created_at")
        .values_list("product_id", "created_at")
    }
    free = {
        p.pk: waitlist_free_units(stock=stocks[p.pk], now=now).free
        for p in products
        if p.pk in last_receipts
    }
    # Few units back, most recently first: a list longer than the units shows who waits on.
    restocked = sorted(
        (p for p in products if free.get(p.pk)),
        key=lambda p: (free[p.pk] > 3, now - last_receipts[p.pk]),
    )[:RESTOCKED]
    sold_out = [
        p
        for p in sorted(products, key=lambda p: (p.backorder_policy != DENY, p.sku))
        if stocks[p.pk].available == 0 and p not in restocked
    ][:SOLD_OUT]
    emails = _shoppers(rng, 4 * (RESTOCKED + SOLD_OUT))

    for product in restocked:
        arrived = last_receipts[product.pk]
        count = min(free[product.pk], 3) + (2 if now - arrived < STILL_OPEN else 0)
        for hours_before in sorted(rng.sample(range(6, 24 * 12), count), reverse=True):
            with simulated_clock(arrived - dt.timedelta(hours=hours_before)):
                waitlist_join(product=product, email=emails.pop())
        # Told once the delivery was unpacked (a delivery of today: now).
        with simulated_clock(min(arrived + dt.timedelta(minutes=5), now)):
            told = waitlist_invite_for_product(product=product).invited
        shop.summary.waitlist_invitations += len(told)
    for product in sold_out:
        for hours_before in sorted(rng.sample(range(2, 24 * 9), 3), reverse=True):
            with simulated_clock(now - dt.timedelta(hours=hours_before)):
                waitlist_join(product=product, email=emails.pop())


def _shoppers(rng: random.Random, count: int) -> list[str]:
    found: set[str] = set()
    while len(found) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace("ü", "ue").replace("á", "a")
        found.add(f"{local}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}")
    return sorted(found)

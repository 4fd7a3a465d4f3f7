"""Reads for the waitlist: who is waiting, what is free for them, the staff's view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.urls import reverse

from inventory.models import Product, Stock
from orders.models import OrderLine
from orders.selectors import waiting_units

from ..models import WaitlistEntry

LEAVE_SALT = "storefront.waitlist-leave"


def waitlist_waiting(*, product_id: int) -> QuerySet[WaitlistEntry]:
    """The product's entries still waiting to be told, in the order they joined."""
    return WaitlistEntry.objects.filter(
        product_id=product_id, invited_at=None, left_at=None
    ).order_by("joined_at", "id")


def invitation_window() -> dt.timedelta:
    return dt.timedelta(hours=settings.WAITLIST_INVITATION_HOURS)


def open_invitations(*, product_id: int, now: dt.datetime) -> QuerySet[WaitlistEntry]:
    """Invitations still counting against the free units: sent within the window, not left,
    and not yet turned into an order (an order holds its own unit, or waits in the queue)."""
    ordered = OrderLine.objects.filter(
        product_id=OuterRef("product_id"),
        order__customer__email__iexact=OuterRef("email"),
        order__placed_at__gte=OuterRef("invited_at"),
    )
    return WaitlistEntry.objects.filter(
        product_id=product_id,
        left_at=None,
        invited_at__gt=now - invitation_window(),
    ).exclude(Exists(ordered))


@dataclass(frozen=True)
class FreeUnits:
    """A product's units after every backordered line has its share, and the invitations that
    may still go out for them."""

    available: int
    backordered: int
    open_invitations: int

    @property
    def free(self) -> int:
        return max(0, self.available - self.backordered)

    @property
    def invitable(self) -> int:
        return max(0, self.free - self.open_invitations)


def waitlist_free_units(*, stock: Stock, now: dt.datetime) -> FreeUnits:
    """What `stock` (read or locked by the caller) leaves for the waitlist: units available
    minus every backordered unit (those lines come first), minus invitations still open."""
    backordered = waiting_units(product_ids=[stock.pk])[0].get(stock.pk, 0)
    return FreeUnits(
        available=stock.available,
        backordered=backordered,
        open_invitations=open_invitations(product_id=stock.pk, now=now).count(),
    )


def products_to_invite(*, limit: int = 500) -> list[int]:
    """Products with units available and someone on their waitlist (the sweep's candidates;
    the invitation itself checks the backorders and open invitations under the lock)."""
    return list(
        Stock.objects.filter(allocated__lt=F("on_hand"))
        .filter(
            Exists(
                WaitlistEntry.objects.filter(
                    product_id=OuterRef("pk"), invited_at=None, left_at=None
                )
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def product_for_waitlist(*, sku: str) -> Product | None:
    """The product a shopper may join the waitlist of (case-insensitive SKU); None for an
    unknown or discontinued one, which will not come back."""
    return Product.objects.filter(sku__iexact=sku.strip(), is_discontinued=False).first()


# --- leaving ---------------------------------------------------------------------------


def leave_token(*, entry: WaitlistEntry) -> str:
    return signing.Signer(salt=LEAVE_SALT).sign_object({"e": entry.pk})


def leave_url(*, entry: WaitlistEntry) -> str:
    path = reverse("waitlist:leave", args=[leave_token(entry=entry)])
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def entry_from_leave_token(*, token: str) -> WaitlistEntry | None:
    try:
        data = signing.Signer(salt=LEAVE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    entry_id = data.get("e") if isinstance(data, dict) else None
    if not isinstance(entry_id, int):
        return None
    return WaitlistEntry.objects.select_related("product").filter(pk=entry_id).first()


# --- the staff's view --------------------------------------------------------------------


@dataclass(frozen=True)
class ProductWaitlist:
    waiting: int
    invited: int
    left: int
    entries: list[WaitlistEntry]
    more: bool


def product_waitlist(*, product_id: int, limit: int = 50) -> ProductWaitlist:
    """The product's waitlist for its staff page: counts, and the latest entries (waiting ones
    first, in the order they will be told), in two queries."""
    counts = WaitlistEntry.objects.filter(product_id=product_id).aggregate(
        waiting=Count("pk", filter=Q(invited_at=None, left_at=None)),
        invited=Count("pk", filter=Q(invited_at__isnull=False)),
        left=Count("pk", filter=Q(left_at__isnull=False)),
    )
    rows = list(
        WaitlistEntry.objects.filter(product_id=product_id)
        .select_related("channel")
        .order_by(
            F("invited_at").asc(nulls_first=True),
            F("left_at").asc(nulls_first=True),
            "joined_at",
            "id",
        )[: limit + 1]
    )
    return ProductWaitlist(
        waiting=counts["waiting"],
        invited=counts["invited"],
        left=counts["left"],
        entries=rows[:limit],
        more=len(rows) > limit,
    )

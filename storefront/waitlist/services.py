"""Writes for the waitlist: joining, leaving, and telling waitlisters a product is back."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.calendar import store_date
from config.celery import publish_on_commit
from config.db import insert_unless_exists
from inventory.locks import lock_stock
from inventory.models import Product, Stock
from notifications.models import Notification
from notifications.services import notifications_queue

from ..models import SalesChannel, WaitlistEntry
from .selectors import (
    invitation_window,
    leave_url,
    products_to_invite,
    waitlist_free_units,
    waitlist_waiting,
)
from .webhooks import webhooks_from_waitlist_invitations, webhooks_from_waitlist_join


@dataclass(frozen=True)
class JoinResult:
    entry: WaitlistEntry
    created: bool


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    if len(email) > 254:
        raise ValidationError({"email": "An email address has at most 254 characters."})
    return email


@transaction.atomic
def waitlist_join(
    *,
    product: Product,
    email: str,
    channel: SalesChannel | None = None,
    product_url: str = "",
) -> JoinResult:
    """Put the address on the product's waitlist; joining again is the same entry.

    An address still waiting, or told within the invitation window, keeps its entry (and its
    place); one told earlier than that, or that left, joins again at the back.
    """
    email = _clean_email(email)
    if product.is_discontinued:
        raise ValidationError("This product has been discontinued and will not come back.")
    now = timezone.now()
    current = (
        WaitlistEntry.objects.filter(product=product, email=email, left_at=None)
        .filter(Q(invited_at=None) | Q(invited_at__gt=now - invitation_window()))
        .order_by("-joined_at", "-id")
        .first()
    )
    if current is not None:
        return JoinResult(current, created=False)
    entry = WaitlistEntry(
        product=product, email=email, channel=channel, product_url=product_url, joined_at=now
    )
    entry.full_clean(validate_constraints=False)
    if insert_unless_exists(entry):
        webhooks_from_waitlist_join(entry)
        return JoinResult(entry, created=True)
    # A join of the same address committed meanwhile (the constraint let one of them in).
    return JoinResult(waitlist_waiting(product_id=product.pk).get(email=email), created=False)


@transaction.atomic
def waitlist_leave(*, entry: WaitlistEntry) -> WaitlistEntry:
    """Take the entry off the list (an open invitation is then passed to the next one).
    Leaving twice changes nothing."""
    WaitlistEntry.objects.filter(pk=entry.pk, left_at=None).update(left_at=timezone.now())
    entry.refresh_from_db()
    if entry.invited_at is not None:
        _invite_enqueue(entry.product_id)
    return entry


@dataclass(frozen=True)
class InvitationResult:
    product_id: int
    free: int
    invited: list[WaitlistEntry]


@transaction.atomic
def waitlist_invite_for_product(*, product: Product) -> InvitationResult:
    """Tell the product's waitlisters it is back, oldest first, and no more of them than units
    are free once every backordered line has its units (less invitations still open).

    Under the product's stock lock, the lock every allocation takes: two workers inviting at
    once take turns, and the second sees the first one's invitations. Running it again
    changes nothing.
    """
    if not waitlist_waiting(product_id=product.pk).exists():
        return InvitationResult(product.pk, 0, [])  # nobody waits: no lock taken
    stock = lock_stock(product_id=product.pk)
    now = timezone.now()
    units = waitlist_free_units(stock=stock, now=now)
    if units.invitable <= 0 or product.is_discontinued:
        return InvitationResult(product.pk, units.free, [])
    chosen = list(
        waitlist_waiting(product_id=product.pk)
        .select_for_update(of=("self",))
        .select_related("product")[: units.invitable]
    )
    if not chosen:
        return InvitationResult(product.pk, units.free, [])
    WaitlistEntry.objects.filter(pk__in=[e.pk for e in chosen]).update(invited_at=now)
    for entry in chosen:
        entry.invited_at = now
    notifications_queue(
        kind=Notification.Kind.WAITLIST_INVITATION,
        emails=[
            (entry.email, f"waitlist:{entry.pk}", _invitation_facts(entry)) for entry in chosen
        ],
    )
    webhooks_from_waitlist_invitations(chosen, invited_at=now)
    return InvitationResult(product.pk, units.free, chosen)


def _invitation_facts(entry: WaitlistEntry) -> dict[str, object]:
    return {
        "sku": entry.product.sku,
        "product_name": entry.product.name,
        "product_url": entry.product_url,
        "leave_url": leave_url(entry=entry),
        "joined_on": store_date(entry.joined_at).isoformat(),
    }


def waitlist_sweep(*, limit: int = 500) -> list[int]:
    """Invite wherever free units meet waitlisters (an invitation task lost with the broker);
    the products whose waitlisters were told. Each product in its own transaction."""
    found = Product.objects.in_bulk(products_to_invite(limit=limit))
    return [
        product_id
        for product_id in sorted(found)
        if waitlist_invite_for_product(product=found[product_id]).invited
    ]


def _invite_enqueue(product_id: int) -> None:
    from ..tasks import waitlist_invite_task

    publish_on_commit(waitlist_invite_task, product_id)


def waitlist_from_stock_arrival(stock: Stock) -> None:
    """The stock writer's subscriber for arrivals: where someone waits on the product's
    waitlist, an invitation task runs once the arrival commits (the task finds out, under the
    lock, whether anyone can be told). One indexed query; nothing is published for a product
    nobody waits for."""
    if stock.on_hand > stock.allocated and waitlist_waiting(product_id=stock.pk).exists():
        _invite_enqueue(stock.pk)

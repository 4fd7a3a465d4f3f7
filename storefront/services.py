"""Writes for storefronts: channels and keys, held quotes, orders taken through the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.db import insert_unless_exists
from orders.models import Order
from orders.services import LineRequest, ShippingAddress, order_cancel, order_place

from .keys import key_hash, new_key
from .models import ApiKey, HeldQuote, IdempotencyRecord, SalesChannel
from .origins import origin_normalise
from .selectors import StorefrontQuote

HELD_QUOTE_MINUTES = 10
# Only the last use within this long is recorded (one write per key per minute, not per call).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with another request body."""


class QuoteMoved(Exception):
    """The queue moved since the held quote: the order would not get the quoted ETAs."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Any
    replayed: bool = False


@transaction.atomic
def channel_create(*, name: str, kind: str = SalesChannel.Kind.CUSTOM) -> SalesChannel:
    channel = SalesChannel(name=name.strip(), kind=kind)
    channel.full_clean()
    channel.save()
    return channel


@transaction.atomic
def api_key_create(
    *, channel: SalesChannel, name: str = "", kind: str = ApiKey.Kind.SECRET
) -> tuple[ApiKey, str]:
    """A new key for the channel; a secret key is shown once and never stored, a publishable
    one (read-only, for the store's web pages) is kept so staff can copy it again."""
    publishable = kind == ApiKey.Kind.PUBLISHABLE
    raw_key, prefix = new_key(publishable=publishable)
    api_key = ApiKey.objects.create(
        channel=channel,
        kind=kind,
        name=name.strip(),
        prefix=prefix,
        key_hash=key_hash(raw_key),
        publishable_key=raw_key if publishable else "",
    )
    return api_key, raw_key


@transaction.atomic
def channel_origins_set(*, channel: SalesChannel, origins: Sequence[str]) -> SalesChannel:
    """Set the origins whose pages may call the availability widget's endpoint."""
    channel.allowed_origins = list(dict.fromkeys(origin_normalise(o) for o in origins if o.strip()))
    channel.full_clean()
    channel.save(update_fields=["allowed_origins"])
    return channel


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at=None).update(revoked_at=timezone.now())
    api_key.refresh_from_db()
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record that the key was used (at most once a minute, a single UPDATE)."""
    now = timezone.now()
    if api_key.last_used_at and api_key.last_used_at > now - LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


@transaction.atomic
def quote_hold(*, channel: SalesChannel, quote: StorefrontQuote) -> HeldQuote:
    """Keep a quote for HELD_QUOTE_MINUTES so the order citing it gets exactly its ETAs."""
    now = timezone.now()
    HeldQuote.objects.filter(channel=channel, expires_at__lt=now).delete()
    return HeldQuote.objects.create(
        channel=channel,
        lines=[line.held() for line in quote.lines],
        expires_at=now + dt.timedelta(minutes=HELD_QUOTE_MINUTES),
    )


def request_fingerprint(data: Any) -> str:
    """The same body (whatever its key order or spacing) gives the same fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_held_quote(*, held: HeldQuote, order: Order) -> None:
    lines = list(order.lines.select_related("product"))
    got = sorted(
        (
            {
                "sku": line.product.sku.lower(),
                "quantity": line.quantity,
                "in_stock": line.quantity_allocated,
                "eta": line.eta.isoformat() if line.eta else None,
                "eta_basis": line.eta_source,
            }
            for line in lines
        ),
        key=lambda line: str(line["sku"]),
    )
    expected = sorted(held.lines, key=lambda line: str(line["sku"]))
    why = ""
    if held.expires_at <= timezone.now():
        why = "The held quote has expired."
    elif [(x["sku"], x["quantity"]) for x in got] != [(x["sku"], x["quantity"]) for x in expected]:
        why = "The order's lines are not the lines of the held quote."
    elif got != expected:
        why = "The queue moved since the quote: the order would not get the quoted dates."
    if why:
        raise QuoteMoved(why)


@transaction.atomic
def storefront_order_place(
    *,
    channel: SalesChannel,
    idempotency_key: str,
    request_hash: str,
    external_id: str,
    customer_email: str,
    customer_name: str,
    address: ShippingAddress,
    lines: Sequence[Mapping[str, Any]],
    shipping_charge: Decimal,
    paid: bool,
    payment_method: str,
    promised_ship_date: dt.date | None,
    promised_business_days: int | None,
    ship_preference: str,
    held_quote: HeldQuote | None,
    respond: Callable[[Order], Any],
) -> ApiResponse:
    """Take a storefront's order once per Idempotency-Key: a repeat gets the first response.

    The key's row is inserted first, in the order's transaction: a concurrent request with the
    same key waits on it and then replays the committed response. A refused order writes
    nothing, so the key may be retried. Raises IdempotencyConflict, QuoteMoved, ValidationError.
    """
    record = IdempotencyRecord(
        channel=channel,
        key=idempotency_key,
        request_hash=request_hash,
        response_status=0,
        response_body={},
    )
    if not insert_unless_exists(record):
        record = IdempotencyRecord.objects.get(channel=channel, key=idempotency_key)
        if record.request_hash != request_hash:
            raise IdempotencyConflict(idempotency_key) from None
        return ApiResponse(record.response_status, record.response_body, replayed=True)

    # The external id, unique per channel, is checked by its constraint as the order is saved.
    order = order_place(
        channel=channel,
        external_id=external_id,
        customer_email=customer_email,
        customer_name=customer_name,
        lines=[
            LineRequest(sku=line["sku"], quantity=line["quantity"], unit_price=line["unit_price"])
            for line in lines
        ],
        paid=paid,
        payment_method=payment_method,
        promised_ship_date=promised_ship_date,
        promised_business_days=promised_business_days,
        shipping_charge=shipping_charge,
        ship_preference=ship_preference,
        address=address,
        # Any error leaves this service, whose own transaction (or savepoint) rolls back.
        savepoint=False,
    )
    if held_quote is not None:
        _check_held_quote(held=held_quote, order=order)
        HeldQuote.objects.filter(pk=held_quote.pk).delete()
    body = respond(order)
    record.response_status = 201
    record.response_body = body
    record.order_number = order.number
    record.save(update_fields=["response_status", "response_body", "order_number"])
    return ApiResponse(201, body)


@transaction.atomic
def storefront_order_cancel(
    *, channel: SalesChannel, order: Order, skus: Sequence[str] | None, reason: str
) -> Order:
    """Cancel the order (or the lines of the given SKUs) on the customer's behalf."""
    line_ids = None
    if skus is not None:
        by_sku = {
            line.product.sku.lower(): line.pk for line in order.lines.select_related("product")
        }
        unknown = [sku for sku in skus if sku.lower() not in by_sku]
        if unknown:
            raise ValidationError({"lines": f"Not on order {order.number}: {', '.join(unknown)}."})
        line_ids = [by_sku[sku.lower()] for sku in skus]
    return order_cancel(
        order=order,
        reason=reason.strip() or f"Cancelled by the customer through {channel.name}",
        cause="customer",
        line_ids=line_ids,
    )

"""The customer's signed link to their order's status page."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.urls import reverse

from .models import Order

ORDER_STATUS_SALT = "orders.status-page"


class _StableSigner(signing.TimestampSigner):
    """Signs with the timestamp 0: a link never expires, so the time it was made adds nothing,
    and an order's link is then the same in every email, API answer and page. Links made
    earlier with the time in them still open (reading accepts any timestamp)."""

    def timestamp(self) -> str:
        return "0"


def order_status_token(*, order: Order) -> str:
    """A token for the customer's status page; it never expires (the life of the order)."""
    return _status_token(_StableSigner(salt=ORDER_STATUS_SALT), order.pk, order.number)


def _status_token(signer: signing.TimestampSigner, pk: int, number: str) -> str:
    # signing.dumps(..., compress=True) with the signer built once
    return signer.sign_object({"o": pk, "n": number}, compress=True)


def order_status_url(*, order: Order) -> str:
    return order_status_urls(orders=[(order.pk, order.number)])[order.pk]


def order_status_urls(*, orders: Iterable[tuple[int, str]]) -> dict[int, str]:
    """The status page links of many orders, by (id, number): one signer and one URL
    reversal for all of them (thousands of emails after a big restock)."""
    signer = _StableSigner(salt=ORDER_STATUS_SALT)
    placeholder = "order-status-token"
    head, tail = reverse("customer:status", args=[placeholder]).rsplit(placeholder, 1)
    head = settings.SITE_URL.rstrip("/") + head
    return {pk: head + _status_token(signer, pk, number) + tail for pk, number in orders}

"""What an email says, gathered when it is sent.

An outbox row keeps what was true at the event and must not change afterwards (the quantities
placed, shipped or cancelled, the ETAs announced, reasons, refunds, consent choices); the
order's number, the customer's name, the status link, product names and the lines still to
come are read at send time, for a whole batch in a few queries. Writing the row then costs the
causing transaction no reads, and a slow queue never sends an outdated name or link.

Rows written before this split carry everything; what they hold wins over what is read here.

A goodwill gesture granted to an order is told in the next customer email about that order,
whatever its kind (one email per gesture: the batch's first to the order); an order with no
email due simply keeps it until the next one. It is read at send time, not frozen in the row.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from config.calendar import store_date, store_today
from inventory.models import Product
from inventory.selectors import supply_date_ranges
from orders.goodwill.selectors import goodwill_email_facts, goodwill_untold
from orders.models import EtaSource, GoodwillGrant, Order, OrderLine
from orders.selectors import order_status_url

from ..models import Notification

Kind = Notification.Kind

# Kinds whose facts list lines (a SKU with quantities) to enrich with the product.
_LINE_LISTS = ("lines", "allocated", "cancelled", "shipped", "still_coming")
_SKU_LISTS = (*_LINE_LISTS, "unknown_etas", "low_stock")
_NOTICES = (Kind.DELAY_NOTICE, Kind.RENEWED_NOTICE)
# Emails that may carry a goodwill gesture: every customer email but a cancellation.
_GOODWILL = tuple(set(Kind) - {Kind.CANCELLATION, Kind.STAFF_BACKORDER_ALERT, Kind.STAFF_DIGEST})


@dataclass(frozen=True)
class EmailContext:
    """Everything a template reads: the facts, and the current name of each product named."""

    facts: dict[str, Any]
    product_names: dict[str, str]
    notice_since: bool  # an ETA email whose news a delay notice gave meanwhile
    goodwill_grant: int | None = None  # the gesture this email tells of


def order_facts(order: Order) -> dict[str, Any]:
    """The order's own facts, as every customer email shows them."""
    return {
        "order_number": order.number,
        "customer_name": order.customer.name,
        "ship_preference": order.ship_preference,
        "status_url": order_status_url(order=order),
        "placed_on": store_date(order.placed_at).isoformat(),
    }


def line_facts(line: OrderLine) -> dict[str, Any]:
    return {
        "line": line.pk,
        "sku": line.product.sku,
        "quantity": line.quantity,
        "allocated": line.quantity_allocated,
        "shipped": line.quantity_shipped,
        "cancelled": line.quantity_cancelled,
        "backordered": line.backordered,
        "unit_price": str(line.unit_price),
        "eta": line.eta.isoformat() if line.eta else None,
        "eta_source": line.eta_source,
    }


def _skus_in(facts: dict[str, Any]) -> set[str]:
    skus: set[str] = set()
    for key in _SKU_LISTS:
        skus.update(row["sku"] for row in facts.get(key, []))
    skus.update(row["sku"] for row in facts.get("changes", {}).values())
    return skus


def _product_facts(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "name": product.name,
        "preorder": product.is_preorder,
        "release_date": product.release_date.isoformat() if product.release_date else None,
    }


class _Batch:
    """The rows read once for a batch of notifications."""

    def __init__(self, notifications: Sequence[Notification]) -> None:
        shipping = {
            n.order_id
            for n in notifications
            if n.kind == Kind.SHIPMENT_SENT
            and n.order_id is not None
            and "still_coming" not in n.facts
        }
        self.orders = _orders(notifications)
        self.lines: dict[int, list[OrderLine]] = defaultdict(list)
        if shipping:
            for line in (
                OrderLine.objects.filter(order_id__in=shipping)
                .select_related("product")
                .order_by("order_id", "id")
            ):
                self.lines[line.order_id].append(line)
        skus = {sku for n in notifications for sku in _skus_in(n.facts)}
        skus |= {line.product.sku for lines in self.lines.values() for line in lines}
        cancelling = [n for n in notifications if n.kind in (Kind.CANCELLATION, Kind.DISCONTINUED)]
        self.substitutes: dict[str, list[dict[str, str]]] = defaultdict(list)
        if cancelling:
            through = Product.substitutes.through
            for sku, sub_sku, sub_name in through.objects.filter(
                from_product__sku__in={s for n in cancelling for s in _skus_in(n.facts)}
            ).values_list("from_product__sku", "to_product__sku", "to_product__name"):
                self.substitutes[sku].append({"sku": sub_sku, "name": sub_name})
                skus.add(sub_sku)
        self.products = {p.sku: _product_facts(p) for p in Product.objects.filter(sku__in=skus)}
        eta_orders = {
            n.order_id
            for n in notifications
            if n.kind == Kind.ETA_CHANGED and n.order_id is not None
        }
        self.notices: dict[int, list[Any]] = defaultdict(list)
        # Lines of those orders still waiting now: a date for a line since cancelled, or
        # since given its units, is no news (a deadline day cancels after dating).
        self.waiting: set[str] = set()
        if eta_orders:
            for order_id, created_at in Notification.objects.filter(
                order_id__in=eta_orders, kind__in=_NOTICES
            ).values_list("order_id", "created_at"):
                self.notices[order_id].append(created_at)
            self.waiting = {
                str(pk)
                for pk in OrderLine.objects.filter(
                    order_id__in=eta_orders, quantity_backordered__gt=0
                ).values_list("pk", flat=True)
            }
        self.padded = _padded_etas(notifications) if settings.CUSTOMER_EMAIL_ETA == "padded" else {}
        self.goodwill = _goodwill_by_notification(notifications)

    def context(self, notification: Notification) -> EmailContext:
        frozen = notification.facts
        facts: dict[str, Any] = {}
        order = self.orders.get(notification.order_id) if notification.order_id else None
        if order is not None:
            facts |= order_facts(order)
            if notification.kind == Kind.STAFF_BACKORDER_ALERT:
                facts["customer_email"] = order.customer.email
            if notification.kind == Kind.SHIPMENT_SENT:
                facts["still_coming"] = [
                    line_facts(line)
                    for line in self.lines[order.pk]
                    if line.quantity_allocated or line.backordered
                ]
        facts |= frozen
        grant = self.goodwill.get(notification.pk)
        if grant is not None:
            facts["goodwill"] = goodwill_email_facts(grant)
        if notification.kind == Kind.ETA_CHANGED and "changes" in facts:
            facts["changes"] = {
                line: row for line, row in facts["changes"].items() if str(line) in self.waiting
            }
        if self.padded and notification.order_id is not None:
            facts = _pad(facts, self.padded, notification.order_id)
        for key in _LINE_LISTS:
            if key in facts:
                facts[key] = [self._with_product(row) for row in facts[key]]
        if notification.kind in (Kind.CANCELLATION, Kind.DISCONTINUED):
            for row in facts.get("cancelled", []):
                row.setdefault("substitutes", self.substitutes.get(row["sku"], []))
        notice_since = any(
            created_at >= notification.created_at
            for created_at in self.notices.get(notification.order_id or 0, [])
        )
        return EmailContext(
            facts=facts,
            product_names={
                sku: self.products[sku]["name"] for sku in _skus_in(facts) if sku in self.products
            },
            notice_since=notice_since,
            goodwill_grant=grant.pk if grant is not None else None,
        )

    def _with_product(self, row: dict[str, Any]) -> dict[str, Any]:
        product = self.products.get(row.get("sku", ""))
        if product is None:
            return {"name": row.get("sku", ""), **row}
        return {**product, **row}


# (order id, SKU, ETA as written) → the date the supplier's record makes 80% likely.
Padded = dict[tuple[int, str, str], str]


def _padded_etas(notifications: Sequence[Notification]) -> Padded:
    """For the batch's lines waiting on a purchase order, their ETA padded by the supplier's
    slips: the line's current purchase order, read now, as product names are."""
    wanted: set[tuple[int, str, str]] = set()
    for n in notifications:
        if n.order_id is None or n.kind not in (Kind.ORDER_CONFIRMATION, Kind.ETA_CHANGED):
            continue
        dates = [(row.get("eta"), row.get("eta_source"), row) for row in n.facts.get("lines", [])]
        for row in n.facts.get("changes", {}).values():
            dates += [
                (row.get("new"), row.get("source"), row),
                (row.get("old"), row.get("old_source"), row),
            ]
        for eta, source, row in dates:
            if eta and source == EtaSource.PURCHASE_ORDER:
                wanted.add((n.order_id, row["sku"], eta))
    if not wanted:
        return {}
    references = {
        (order_id, sku): reference
        for order_id, sku, reference in OrderLine.objects.filter(
            order_id__in={order_id for order_id, _, _ in wanted},
            eta_source=EtaSource.PURCHASE_ORDER,
        ).values_list("order_id", "product__sku", "eta_reference")
    }
    dated = {
        key: (references[key[:2]], dt.date.fromisoformat(key[2]))
        for key in wanted
        if key[:2] in references
    }
    ranges = supply_date_ranges(dated=set(dated.values()), today=store_today())
    return {
        key: ranges[value].likely.isoformat() for key, value in dated.items() if value in ranges
    }


def _pad(facts: dict[str, Any], padded: Padded, order_id: int) -> dict[str, Any]:
    """The facts with each padded ETA in place of the promised one (the stored row keeps
    what was written)."""
    facts = dict(facts)
    if "lines" in facts:
        facts["lines"] = [
            {**row, "eta": padded[key], "eta_padded": True}
            if (key := (order_id, row.get("sku", ""), row.get("eta") or "")) in padded
            else row
            for row in facts["lines"]
        ]
    if "changes" in facts:
        facts["changes"] = {
            line: {
                **row,
                "new": padded.get((order_id, row.get("sku", ""), row.get("new") or ""), row["new"]),
                "old": padded.get((order_id, row.get("sku", ""), row.get("old") or ""), row["old"]),
            }
            for line, row in facts["changes"].items()
        }
    return facts


def _goodwill_by_notification(
    notifications: Sequence[Notification],
) -> dict[int, GoodwillGrant]:
    """Each untold gesture, given to the batch's first customer email about its order."""
    telling = [n for n in notifications if n.order_id is not None and n.kind in _GOODWILL]
    untold = goodwill_untold(order_ids={n.order_id for n in telling if n.order_id})
    found: dict[int, GoodwillGrant] = {}
    for n in sorted(telling, key=lambda n: (n.created_at, n.pk)):
        grant = untold.pop(n.order_id or 0, None)
        if grant is not None:
            found[n.pk] = grant
    return found


def _orders(notifications: Sequence[Notification]) -> dict[int, Order]:
    """The notifications' orders with their customers: those already loaded, and the rest."""
    found: dict[int, Order] = {}
    for n in notifications:
        order = n.order if Notification.order.is_cached(n) else None
        if order is not None and Order.customer.is_cached(order):
            found[order.pk] = order
    wanted = {n.order_id for n in notifications if n.order_id is not None} - set(found)
    if wanted:
        found |= {o.pk: o for o in Order.objects.select_related("customer").filter(pk__in=wanted)}
    return found


def notifications_context(notifications: Sequence[Notification]) -> dict[int, EmailContext]:
    """What each notification's email says, read for the whole batch at once."""
    batch = _Batch(notifications)
    return {n.pk: batch.context(n) for n in notifications}

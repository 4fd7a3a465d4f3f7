"""ETAs: recompute the dates of waiting lines and record every change in the timeline."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.calendar import store_today
from config.db import update_rows
from config.formats import format_date
from inventory.locks import lock_stock, lock_stocks
from inventory.models import Product, Stock
from inventory.stock import stocks_touch

from ..eta import Eta, EtaWalker
from ..models import Order, OrderEvent, OrderLine
from ..selectors import eta_contexts, waiting_line_batches
from ._common import ALLOCATION_BATCH_SIZE, _events_record, _user


@dataclass
class EtaChangeResult:
    """What one recomputation did to waiting lines' ETAs (what a screen tells staff)."""

    # Lines whose ETA changed (its date or its basis).
    lines: int = 0
    # Orders with a line whose ETA date moved: their customers hear of it.
    order_ids: set[int] = field(default_factory=set)
    # How many customers those orders belong to (set by the services that report it).
    customers: int = 0

    def add(self, other: EtaChangeResult) -> None:
        self.lines += other.lines
        self.order_ids |= other.order_ids

    def count_customers(self) -> EtaChangeResult:
        self.customers = (
            Order.objects.filter(pk__in=self.order_ids).values("customer_id").distinct().count()
            if self.order_ids
            else 0
        )
        return self


def _eta_refresh_locked(
    *,
    product_id: int,
    now: dt.datetime,
    reason: str = "",
    actor: Any = None,
    public_reason: str = "",
) -> EtaChangeResult:
    """Recompute the ETA of every waiting line of a product; write only what changed.

    Caller holds the product's stock lock. Queries: 2 + 3 per batch of waiting lines.
    Returns how many lines changed and the orders whose ETA date moved.
    """
    product = Product.objects.select_related("preferred_supplier").get(pk=product_id)
    context = eta_contexts(products=[product], today=store_today(now))[product_id]
    walker = EtaWalker(context)
    result = EtaChangeResult()
    for batch in waiting_line_batches(product_id=product_id, batch_size=ALLOCATION_BATCH_SIZE):
        changes: dict[int, tuple[int, Eta, Eta]] = {}
        for line in batch:
            new = walker.take(line.backordered)
            if new != line.eta:
                changes[line.id] = (line.order_id, line.eta, new)
        if changes:
            _eta_write(
                changes=changes,
                sku=product.sku,
                reason=reason,
                actor=actor,
                public_reason=public_reason,
            )
            result.lines += len(changes)
            result.order_ids.update(
                order_id for order_id, old, new in changes.values() if old.date != new.date
            )
    return result


def _eta_write(
    *,
    changes: Mapping[int, tuple[int, Eta, Eta]],
    sku: str,
    reason: str,
    actor: Any,
    public_reason: str = "",
) -> None:
    """One UPDATE for a batch of changed lines (each to its new ETA), one event per order."""
    update_rows(
        [
            OrderLine(pk=line_id, eta=new.date, eta_source=new.source, eta_reference=new.reference)
            for line_id, (_, _, new) in changes.items()
        ],
        ["eta", "eta_source", "eta_reference"],
    )
    by_order: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line_id, (order_id, old, new) in changes.items():
        by_order[order_id].append(
            {
                "line": line_id,
                "sku": sku,
                "old": old.date.isoformat() if old.date else None,
                "old_source": old.source,
                "new": new.date.isoformat() if new.date else None,
                "source": new.source,
                "reference": new.reference,
            }
        )
    shown = functools.cache(format_date)  # a few dates among thousands of lines
    _events_record(
        OrderEvent(
            order_id=order_id,
            kind=OrderEvent.Kind.ETA_CHANGED,
            message="; ".join(
                f"{c['sku']}: ETA {shown(c['old'])} → {shown(c['new']) or 'unknown'}"
                if c["old"]
                else f"{c['sku']}: ETA set to {shown(c['new']) or 'unknown'}"
                for c in lines
            )[:300],
            data={"lines": lines, "reason": reason, "public_reason": public_reason},
            actor=_user(actor),
        )
        for order_id, lines in by_order.items()
    )


@transaction.atomic
def product_eta_refresh(*, product_id: int, reason: str = "", actor: Any = None) -> int:
    """Recompute a product's ETAs (e.g. after its lead time or supplier changed)."""
    lock_stock(product_id=product_id)
    now = timezone.now()
    stocks_touch(product_ids=[product_id], now=now)
    return _eta_refresh_locked(product_id=product_id, now=now, reason=reason, actor=actor).lines


def _eta_refresh_products(
    *,
    product_ids: Iterable[int],
    reason: str,
    actor: Any,
    stocks: Mapping[int, Stock] | None = None,
    public_reason: str = "",
) -> EtaChangeResult:
    ids = sorted(set(product_ids))
    if stocks is None:
        lock_stocks(product_ids=ids)
    now = timezone.now()
    # The supply or the settings moved: the availability feed shows the products again.
    stocks_touch(product_ids=ids, now=now)
    result = EtaChangeResult()
    for product_id in ids:
        result.add(
            _eta_refresh_locked(
                product_id=product_id,
                now=now,
                reason=reason,
                actor=actor,
                public_reason=public_reason,
            )
        )
    return result

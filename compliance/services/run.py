"""The engine's runs over many orders: the hourly run and the re-decisions after a change.

Orders are decided in batches of orders that wait on the same products. Within a batch the
rule's cancellations are made together at the end (one call: one event, one refund and one
email per order) and each product's queue is refreshed once, instead of once per cancelled
order: a deadline day on which thousands of orders are cancelled stays linear."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Min
from django.utils import timezone

from orders.locks import lock_orders
from orders.models import Order, OrderEvent, OrderLine
from orders.services import cancellations_settle, lines_cancel_batch, order_rule_record

from ..models import OrderCompliance
from ..selectors import latest_delay_notices, orders_due_for_rule
from ._common import RuleBatch, _lock_stocks_of_orders, _ship_by_store
from .engine import _evaluate_locked, order_rule_evaluate

logger = logging.getLogger("compliance.services")

# Orders decided in one transaction: it holds their products' stock locks, so staff receiving
# or shipping those products wait for it (2-7 ms per order on 2 busy cores, so 1-3.5 s). Each
# batch refreshes its products' ETAs once, and orders still to be cancelled by the next batch
# get new dates meanwhile: fewer, larger batches spare most of that work on a deadline day.
RULE_BATCH_SIZE = 500


def rule_run(
    *,
    now: dt.datetime | None = None,
    order_ids: Iterable[int] | None = None,
    batch_size: int = RULE_BATCH_SIZE,
) -> int:
    """Evaluate every open order (or the given ones), in batches of orders of the same
    products. An order the engine cannot decide is recorded and skipped instead of stopping
    the others; an order whose decision needs the ETAs its batch changed is decided again,
    alone, after the batch."""
    now = now or timezone.now()
    ids = list(order_ids) if order_ids is not None else orders_due_for_rule()
    if not settings.MAIL_ORDER_RULE_ENABLED:
        return len(ids)
    for batch_ids in _batches(order_ids=ids, size=batch_size):
        try:
            alone = _batch_decide(order_ids=batch_ids, now=now)
        except OperationalError:
            raise  # the database, not an order: the task retries the whole (idempotent) run
        except Exception:
            logger.exception("Mail Order Rule batch failed; deciding its orders one by one")
            alone = batch_ids
        for order_id in alone:
            _decide_alone(order_id=order_id, now=now)
    return len(ids)


def _batches(*, order_ids: Sequence[int], size: int) -> Iterator[list[int]]:
    """Orders in batches of `size`, grouped by the first product they order, each batch in id
    order (the order in which a batch locks them)."""
    first_product: dict[int, int] = {}
    unique = sorted(set(order_ids))
    for start in range(0, len(unique), 2000):
        first_product.update(
            OrderLine.objects.filter(order_id__in=unique[start : start + 2000])
            .values("order_id")
            .annotate(first=Min("product_id"))
            .values_list("order_id", "first")
        )
    grouped = sorted(unique, key=lambda order_id: (first_product.get(order_id, 0), order_id))
    for start in range(0, len(grouped), max(1, size)):
        yield sorted(grouped[start : start + size])


@transaction.atomic
def _batch_decide(*, order_ids: Sequence[int], now: dt.datetime) -> list[int]:
    """Decide for a batch of orders in one transaction: lock their products' stock (by
    product id), then the orders (by id), read their lines, rule state and latest notices in
    one go and decide each; make the cancellations together, then refresh each product once.
    Returns the orders to decide alone afterwards.

    The orders are decided under one savepoint: most batches decide every order, and one
    savepoint per order was most of the batch's statements. If one of them cannot be decided
    (its ETAs are about to change, or it fails), the batch is rolled back to that savepoint
    and decided again from fresh reads, each order in its own savepoint, that order aside."""
    _lock_stocks_of_orders(order_ids=order_ids)
    try:
        with transaction.atomic():
            batch, alone = _orders_decide(order_ids=order_ids, now=now, isolated=False)
    except OperationalError:
        raise
    except Exception:
        batch, alone = _orders_decide(order_ids=order_ids, now=now, isolated=True)
    if batch.cancellations:
        cancelled = lines_cancel_batch(cancellations=batch.cancellations, refresh=False)
        batch.products_to_refresh |= cancelled.product_ids
        batch.settle()
    if batch.products_to_refresh:
        cancellations_settle(product_ids=batch.products_to_refresh)
    # The batch's new dates and cancellations, onto its orders at once.
    _ship_by_store(order_ids=order_ids)
    return alone


def _orders_decide(
    *, order_ids: Sequence[int], now: dt.datetime, isolated: bool
) -> tuple[RuleBatch, list[int]]:
    """Lock the orders, read what the engine decides from, and decide each (in a savepoint of
    its own when `isolated`: one that fails is set aside instead of failing the others)."""
    orders = lock_orders(order_ids=order_ids)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=orders).select_related("product"):
        lines[line.order_id].append(line)
    rules = {row.order_id: row for row in OrderCompliance.objects.filter(order_id__in=orders)}
    notices = latest_delay_notices(order_ids=orders)
    batch = RuleBatch()
    alone = [order_id for order_id in order_ids if order_id not in orders]
    for order_id, order in orders.items():
        made = len(batch.cancellations)
        try:
            with transaction.atomic() if isolated else contextlib.nullcontext():
                _evaluate_locked(
                    order=order,
                    now=now,
                    batch=batch,
                    lines=lines[order_id],
                    compliance=rules.get(order_id),
                    notices=notices,
                )
        except OperationalError:
            raise
        except Exception:
            if not isolated:
                raise
            # StaleEtas, or a failure that the order's own run records.
            del batch.cancellations[made:], batch.cancelled[made:]
            alone.append(order_id)
    return batch, alone


def _decide_alone(*, order_id: int, now: dt.datetime) -> None:
    try:
        order_rule_evaluate(order_id=order_id, now=now)
    except OperationalError:
        raise
    except Exception as error:
        logger.exception("Mail Order Rule engine failed on order %s", order_id)
        rule_failure_record(order_id=order_id, error=error)


@transaction.atomic
def rule_failure_record(*, order_id: int, error: BaseException) -> OrderEvent | None:
    """Put an engine failure on the order's record for staff (once per distinct failure)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return None
    failure = f"{type(error).__name__}: {error}"[:200]
    compliance, _ = OrderCompliance.objects.get_or_create(order=order)
    if compliance.engine_failure == failure:
        return None
    compliance.engine_failure, compliance.engine_failed_at = failure, timezone.now()
    compliance.save(update_fields=["engine_failure", "engine_failed_at", "updated_at"])
    return order_rule_record(
        order=order,
        message="The Mail Order Rule could not be applied to this order; staff must check it "
        f"by hand ({failure}).",
        data={"rule": True, "failure": failure},
    )

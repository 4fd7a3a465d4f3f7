"""Handing a product's available units to its queue, head first: the lines and their events.

Two ways to the same result, line by line and event by event: on PostgreSQL one statement
(a running sum over the queue picks each line's units, and the same statement updates the
lines and writes one ALLOCATED event per order); elsewhere (SQLite) the queue is walked in
Python, one batch of lines per round trip. The caller holds the product's stock lock and
updates the stock row.

A line gets what is left after everyone ahead of it: all it waits for while that lasts, then
the remainder (a partial allocation), then nothing. Each order served gets one event that
names its lines and units, in the order the queue reached the orders.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F

from ..models import OrderEvent, OrderLine
from ..selectors import QUEUE_ORDER
from ._common import ALLOCATION_BATCH_SIZE, _events_publish, _events_record
from .holding import _orders_hold_stock_mark


@dataclass
class Handout:
    """What one pass over the queue gave: one entry per order served, in queue order."""

    units: int = 0
    lines: int = 0
    lines_filled: int = 0
    units_by_order: dict[int, int] = field(default_factory=dict)


def allocation_event(
    *, order_id: int, sku: str, given: dict[int, int], reason: str, actor: Any
) -> OrderEvent:
    """The ALLOCATED event of one order: its lines (id -> units) of one product."""
    return OrderEvent(
        order_id=order_id,
        kind=OrderEvent.Kind.ALLOCATED,
        message=f"{sum(given.values())}{_message_tail(sku=sku, reason=reason)}",
        data={"sku": sku, "lines": {str(k): v for k, v in given.items()}},
        actor=actor,
    )


def _message_tail(*, sku: str, reason: str) -> str:
    """What an ALLOCATED event's message says after the number of units."""
    return f" × {sku} allocated" + (f" ({reason})" if reason else "")


def hand_out(
    *,
    product_id: int,
    sku: str,
    available: int,
    now: dt.datetime,
    reason: str = "",
    actor: Any = None,
    set_based: bool | None = None,
    mark: bool = False,
) -> Handout:
    """Give `available` units to the product's waiting lines in queue order; record one
    event per order served; with `mark`, flag the orders served as holding stock.
    `set_based` defaults to whether the database is PostgreSQL."""
    if available <= 0:
        return Handout()
    if set_based is None:
        set_based = connection.vendor == "postgresql"
    if set_based:
        return _hand_out_set_based(
            product_id=product_id,
            sku=sku,
            available=available,
            now=now,
            reason=reason,
            actor=actor,
            mark=mark,
        )
    handout = _hand_out_in_batches(
        product_id=product_id, sku=sku, available=available, now=now, reason=reason, actor=actor
    )
    if mark:
        _orders_hold_stock_mark(order_ids=handout.units_by_order)
    return handout


def _hand_out_in_batches(
    *, product_id: int, sku: str, available: int, now: dt.datetime, reason: str, actor: Any
) -> Handout:
    """The portable walk: read the queue a batch at a time, write each batch's lines in (at
    most) two UPDATEs, then the events of every order served."""
    handout = Handout()
    given_by_order: dict[int, dict[int, int]] = defaultdict(dict)
    waiting = OrderLine.objects.filter(product_id=product_id, quantity_backordered__gt=0)
    while available > 0:
        batch = list(
            waiting.order_by(*QUEUE_ORDER).values_list("id", "order_id", "quantity_backordered")[
                :ALLOCATION_BATCH_SIZE
            ]
        )
        full_ids: list[int] = []
        partial: tuple[int, int] | None = None
        for line_id, order_id, backordered in batch:
            units = min(available, backordered)
            if units == backordered:
                full_ids.append(line_id)
            else:
                partial = (line_id, units)
            available -= units
            given_by_order[order_id][line_id] = units
            handout.lines += 1
            handout.units += units
            if available == 0:
                break
        if full_ids:
            OrderLine.objects.filter(pk__in=full_ids).update(
                quantity_allocated=F("quantity") - F("quantity_shipped") - F("quantity_cancelled"),
                last_allocated_at=now,
            )
        if partial is not None:
            OrderLine.objects.filter(pk=partial[0]).update(
                quantity_allocated=F("quantity_allocated") + partial[1], last_allocated_at=now
            )
        handout.lines_filled += len(full_ids)
        if len(batch) < ALLOCATION_BATCH_SIZE:
            break
    handout.units_by_order = {
        order_id: sum(lines.values()) for order_id, lines in given_by_order.items()
    }
    _events_record(
        allocation_event(order_id=order_id, sku=sku, given=lines, reason=reason, actor=actor)
        for order_id, lines in given_by_order.items()
    )
    return handout


# One statement: `queue` is the head of the queue (never more lines than units to give,
# as each waits for at least one) with a running sum of what the lines wait for; a line
# gets what is left after everyone ahead of it. The lines are updated, then one event per
# order is inserted in the order the queue reached the orders: each order takes its event's
# id from the table's sequence in that order (event ids follow the queue), so the statement
# hands back what it wrote from `orders` itself (units, lines, the lines' JSON), without
# reading the inserted events back and joining them to their orders. With `mark`, the orders
# served are flagged as holding stock (Order.holds_stock) in the same statement, locked in id
# order like every other writer of the flag.
HAND_OUT_SQL = """
WITH queue AS (
    SELECT id, order_id, quantity_backordered AS backordered,
           sum(quantity_backordered) OVER (
               ORDER BY priority DESC, queued_at, id ROWS UNBOUNDED PRECEDING
           ) AS running
    FROM (
        SELECT id, order_id, priority, queued_at, quantity_backordered
        FROM orders_orderline
        WHERE product_id = %(product_id)s AND quantity_backordered > 0
        ORDER BY priority DESC, queued_at, id
        LIMIT %(available)s
    ) head
),
given AS (
    SELECT id, order_id, running,
           least(backordered, %(available)s - (running - backordered)) AS units,
           backordered
    FROM queue
    WHERE running - backordered < %(available)s
),
lines AS (
    UPDATE orders_orderline line
    SET quantity_allocated = line.quantity_allocated + given.units, last_allocated_at = %(now)s
    FROM given
    WHERE line.id = given.id
    RETURNING given.id, given.order_id, given.running, given.units,
              given.units = given.backordered AS filled
),
served AS (
    SELECT order_id, min(running) AS reached, sum(units)::int AS units, count(*)::int AS lines,
           (count(*) FILTER (WHERE filled))::int AS filled,
           jsonb_object_agg(id::text, units) AS given
    FROM lines
    GROUP BY order_id
),
orders AS (
    SELECT nextval((SELECT pg_get_serial_sequence('orders_orderevent', 'id')::regclass))
               AS event_id,
           order_id, units, lines, filled, given
    FROM (SELECT * FROM served ORDER BY reached) by_queue
),
marking AS (
    SELECT o.id FROM orders_order o
    WHERE %(mark)s AND o.id IN (SELECT order_id FROM served) AND NOT o.holds_stock
    ORDER BY o.id
    FOR UPDATE
),
marked AS (
    UPDATE orders_order o SET holds_stock = true FROM marking WHERE o.id = marking.id
),
events AS (
    INSERT INTO orders_orderevent (id, order_id, kind, message, data, actor_id, created_at)
    SELECT event_id, order_id, %(kind)s, units || %(message_tail)s,
           jsonb_build_object('sku', %(sku)s::text, 'lines', given), %(actor_id)s, %(now)s
    FROM orders
)
SELECT event_id, order_id, units, lines, filled, given::text
FROM orders
ORDER BY event_id
"""


def _hand_out_set_based(
    *,
    product_id: int,
    sku: str,
    available: int,
    now: dt.datetime,
    reason: str,
    actor: Any,
    mark: bool,
) -> Handout:
    """The PostgreSQL walk: one statement; the events it wrote go to the subscribers a batch
    at a time, so memory stays one batch whatever the size of the receipt."""
    handout = Handout()
    message_tail = _message_tail(sku=sku, reason=reason)
    with connection.cursor() as cursor:
        cursor.execute(
            HAND_OUT_SQL,
            {
                "product_id": product_id,
                "available": available,
                "now": now,
                "kind": OrderEvent.Kind.ALLOCATED.value,
                "message_tail": message_tail,
                "sku": sku,
                "actor_id": actor.pk if actor is not None else None,
                "mark": mark,
            },
        )
        for rows in _fetch_batches(cursor):
            for _, order_id, units, lines, filled, _ in rows:
                handout.units_by_order[order_id] = units
                handout.units += units
                handout.lines += lines
                handout.lines_filled += filled
            if settings.ORDER_EVENT_SUBSCRIBERS:
                _events_publish(
                    [
                        _event_from_row(
                            row, sku=sku, message_tail=message_tail, actor=actor, now=now
                        )
                        for row in rows
                    ],
                )
    return handout


def _fetch_batches(cursor: Any) -> Iterator[Sequence[tuple[Any, ...]]]:
    while rows := cursor.fetchmany(ALLOCATION_BATCH_SIZE):
        yield rows


def _event_from_row(
    row: tuple[Any, ...], *, sku: str, message_tail: str, actor: Any, now: dt.datetime
) -> OrderEvent:
    """The event the statement wrote for one order, as the row it inserted says."""
    event_id, order_id, units, _, _, given = row
    event = OrderEvent(
        id=event_id,
        order_id=order_id,
        kind=OrderEvent.Kind.ALLOCATED,
        message=f"{units}{message_tail}",
        data={"sku": sku, "lines": json.loads(given)},
        actor=actor,
        created_at=now,
    )
    event._state.adding = False
    event._state.db = connection.alias
    return event

"""A page of waiting lines' places in their products' queues, counted once per product.

Counting each line's place on its own reads its product's queue from the front once per line
(twice: lines and units), so a deep page of a best-seller read its queue of tens of thousands of
lines several times over. Here the page's lines of one product (and priority) are taken in
queue order and each counts only the stretch of the queue between the one before it and itself;
a running sum over the page adds the stretches up. However the page is sorted, each product's
queue is read once, up to the page's deepest line of it, from orderline_queue_idx alone (it
carries the units).
"""

from __future__ import annotations

from typing import Any

from django.db.models import JSONField, QuerySet
from django.db.models.expressions import RawSQL

from orders.models import OrderLine

# The page's lines (an `IN` subquery of their ids), each with the stretch of its product's
# queue after the page's previous line of the same product and priority, up to and including
# itself; the lines of higher priority wait ahead of them all. An uncorrelated subquery, so
# PostgreSQL runs it once for the page (an InitPlan); the outer row picks its own entry.
PLACES_SQL = """
SELECT jsonb_object_agg(placed.id, jsonb_build_array(placed.position, placed.units_through))
FROM (
  WITH page AS MATERIALIZED (
    SELECT l.id, l.product_id, l.priority, l.queued_at
    FROM orders_orderline l WHERE l.id IN ({page})
  ),
  stretches AS (
    SELECT p.id, p.product_id, p.priority, p.queued_at,
      lag(p.queued_at, 1, '-infinity') OVER queue AS after_queued_at,
      lag(p.id, 1, 0::bigint) OVER queue AS after_id
    FROM page p
    WINDOW queue AS (PARTITION BY p.product_id, p.priority ORDER BY p.queued_at, p.id)
  )
  SELECT s.id,
    ahead.lines + sum(stretch.lines) OVER queue AS position,
    ahead.units + sum(stretch.units) OVER queue AS units_through
  FROM stretches s
  CROSS JOIN LATERAL (
    SELECT count(*) AS lines, coalesce(sum(h.quantity_backordered), 0) AS units
    FROM orders_orderline h
    WHERE h.quantity_backordered > 0 AND h.product_id = s.product_id
      AND h.priority > s.priority
  ) ahead
  CROSS JOIN LATERAL (
    SELECT count(*) AS lines, coalesce(sum(w.quantity_backordered), 0) AS units
    FROM orders_orderline w
    WHERE w.quantity_backordered > 0 AND w.product_id = s.product_id
      AND w.priority = s.priority
      AND (w.queued_at, w.id) > (s.after_queued_at, s.after_id)
      AND (w.queued_at, w.id) <= (s.queued_at, s.id)
  ) stretch
  WINDOW queue AS (
    PARTITION BY s.product_id, s.priority ORDER BY s.queued_at, s.id ROWS UNBOUNDED PRECEDING
  )
) placed
"""


def queue_places(page: QuerySet[OrderLine, Any]) -> RawSQL:
    """For each line of `page` (a queryset of line ids), on PostgreSQL: [its place in its
    product's queue, the units waiting up to and including it], as the outer line's entry of
    one figure computed for the whole page."""
    sql, params = page.query.sql_with_params()
    # Constant SQL around the page query Django compiled; every value is a parameter.
    return RawSQL(  # noqa: S611
        f'({PLACES_SQL.format(page=sql)}) -> ("orders_orderline"."id")::text',
        params,
        output_field=JSONField(),
    )

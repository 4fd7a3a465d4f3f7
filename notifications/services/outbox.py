"""The outbox: notification rows written in the transaction of the change that causes them.

Rules: a rolled-back change writes no notification (rows are written inside its transaction);
the same event never makes two rows (a unique dedupe key); each row is sent after commit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import publish_on_commit
from inventory.models import Product
from orders.models import Order, OrderEvent, OrderLine
from orders.selectors import order_status_urls

from ..models import Notification

Kind = Notification.Kind
State = Notification.State


@dataclass(frozen=True)
class _CustomerOrder:
    """What an email says about its order, read as plain values (thousands at once after a
    big restock, so no model instances)."""

    pk: int
    number: str
    customer_name: str
    email: str
    ship_preference: str
    placed_at: dt.datetime
    status_url: str


def _customer_orders(order_ids: Iterable[int]) -> dict[int, _CustomerOrder]:
    rows = list(
        Order.objects.filter(pk__in=set(order_ids)).values_list(
            "pk", "number", "customer__name", "customer__email", "ship_preference", "placed_at"
        )
    )
    urls = order_status_urls(orders=[(row[0], row[1]) for row in rows])
    return {row[0]: _CustomerOrder(*row, status_url=urls[row[0]]) for row in rows}


def _product_facts(skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {
        p.sku: {
            "sku": p.sku,
            "name": p.name,
            "preorder": p.is_preorder,
            "release_date": p.release_date.isoformat() if p.release_date else None,
        }
        for p in Product.objects.filter(sku__in=set(skus))
    }


def _line_facts(line: OrderLine) -> dict[str, Any]:
    return {
        "line": line.pk,
        "sku": line.product.sku,
        "name": line.product.name,
        "quantity": line.quantity,
        "allocated": line.quantity_allocated,
        "shipped": line.quantity_shipped,
        "cancelled": line.quantity_cancelled,
        "backordered": line.backordered,
        "unit_price": str(line.unit_price),
        "eta": line.eta.isoformat() if line.eta else None,
        "eta_source": line.eta_source,
        "preorder": line.product.is_preorder,
        "release_date": line.product.release_date.isoformat()
        if line.product.release_date
        else None,
    }


def _order_facts(order: _CustomerOrder) -> dict[str, Any]:
    return {
        "order_number": order.number,
        "customer_name": order.customer_name,
        "ship_preference": order.ship_preference,
        "status_url": order.status_url,
        "placed_on": timezone.localtime(order.placed_at).date().isoformat(),
    }


def _lines_of(order_ids: Iterable[int]) -> dict[int, list[OrderLine]]:
    by_order: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order_id__in=set(order_ids)).select_related("product"):
        by_order[line.order_id].append(line)
    return by_order


def _schedule(notifications: Sequence[Notification]) -> None:
    """Enqueue each new notification's send task once the transaction commits."""
    from ..tasks import notification_send_task

    now = timezone.now()
    for notification in notifications:
        countdown = max(0, int((notification.send_after - now).total_seconds()))
        if countdown > settings.TASK_COUNTDOWN_MAX_SECONDS:
            # Longer than the broker keeps a reserved message hidden: the sweep sends it when
            # it is due instead.
            continue
        publish_on_commit(notification_send_task, notification.pk, countdown=countdown)


def _create(
    notifications: list[Notification], *, ignore_conflicts: bool = False
) -> list[Notification]:
    """Insert outbox rows and schedule their sending after commit.

    Dedupe keys are built from the causing event (an order, a shipment, an event id), so one
    event can never make two rows; ignore_conflicts is for rows a job may create twice (digest).
    """
    if not notifications:
        return []
    if ignore_conflicts:
        Notification.objects.bulk_create(notifications, ignore_conflicts=True)
        notifications = list(
            Notification.objects.filter(
                dedupe_key__in=[n.dedupe_key for n in notifications], state=State.PENDING
            ).only("id", "send_after")
        )
    elif connection.vendor == "postgresql" and len(notifications) > 1:
        _insert_many(notifications)
    else:
        notifications = Notification.objects.bulk_create(notifications)
    _schedule(notifications)
    return notifications


def _insert_many(notifications: list[Notification]) -> None:
    """bulk_create for thousands of rows on PostgreSQL: the rows travel as one JSON document
    (jsonb_to_recordset), not as an array per column that the driver quotes value by value;
    each object gets its id, as bulk_create gives it."""
    now = timezone.now()
    fields = [f for f in Notification._meta.concrete_fields if not f.primary_key]
    for notification in notifications:
        notification.created_at = notification.updated_at = now
    named = [(str(f.column), f) for f in fields]
    rows = json.dumps(
        [{name: getattr(n, f.attname) for name, f in named} for n in notifications],
        default=_json_value,
    )
    columns = ", ".join(connection.ops.quote_name(name) for name, _ in named)
    types = ", ".join(
        f"{connection.ops.quote_name(name)} {f.db_type(connection)}" for name, f in named
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Notification._meta.db_table} ({columns}) "  # noqa: S608 - model names
            f"SELECT {columns} FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({types})) "
            f"WITH ORDINALITY AS row({columns}, position) ORDER BY position RETURNING id",
            [rows],
        )
        alias = connection.alias
        for notification, (pk,) in zip(notifications, cursor.fetchall(), strict=True):
            notification.pk = pk
            notification._state.adding = False
            notification._state.db = alias


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def notification_create(
    *, kind: str, order: Order, dedupe_key: str, facts: dict[str, Any]
) -> Notification:
    """Queue one customer email about an order (for callers above this app: the rule engine).

    Its facts carry the order's own facts (number, name, status link) plus `facts`.
    """
    about = _customer_orders([order.pk])[order.pk]
    [row] = _create(
        [
            Notification(
                kind=kind,
                order=order,
                recipient=about.email,
                dedupe_key=dedupe_key,
                facts=_order_facts(about) | facts,
                send_after=timezone.now(),
            )
        ]
    )
    return row


def notifications_from_events(events: Sequence[OrderEvent]) -> None:
    """Turn an order service's timeline events into outbox rows, in its transaction."""
    by_kind: dict[str, list[OrderEvent]] = defaultdict(list)
    for event in events:
        by_kind[event.kind].append(event)
    now = timezone.now()
    rows: list[Notification] = []
    if by_kind[OrderEvent.Kind.PLACED]:
        rows += _confirmations(by_kind[OrderEvent.Kind.PLACED], now)
    if by_kind[OrderEvent.Kind.SHIPPED]:
        rows += _shipments(by_kind[OrderEvent.Kind.SHIPPED], now)
    if by_kind[OrderEvent.Kind.CANCELLED]:
        rows += _cancellations(by_kind[OrderEvent.Kind.CANCELLED], now)
    if by_kind[OrderEvent.Kind.ALLOCATED] and settings.NOTIFY_ON_ALLOCATION:
        rows += _allocations(by_kind[OrderEvent.Kind.ALLOCATED], now)
    _create(rows)
    if by_kind[OrderEvent.Kind.ETA_CHANGED]:
        _eta_changes(by_kind[OrderEvent.Kind.ETA_CHANGED], now)


def _confirmations(events: list[OrderEvent], now: dt.datetime) -> list[Notification]:
    orders = _customer_orders(e.order_id for e in events)
    lines = _lines_of(orders)
    rows = []
    for event in events:
        order = orders[event.order_id]
        facts = _order_facts(order) | {"lines": [_line_facts(x) for x in lines[order.pk]]}
        rows.append(
            Notification(
                kind=Kind.ORDER_CONFIRMATION,
                order_id=order.pk,
                recipient=order.email,
                dedupe_key=f"confirmation:{order.pk}",
                facts=facts,
                send_after=now,
            )
        )
        backordered = sum(line["backordered"] for line in facts["lines"])
        if backordered and settings.STAFF_BACKORDER_ALERTS:
            rows += [
                Notification(
                    kind=Kind.STAFF_BACKORDER_ALERT,
                    order_id=order.pk,
                    recipient=address,
                    dedupe_key=f"staff-backorder:{order.pk}:{address.lower()}",
                    facts=facts | {"customer_email": order.email},
                    send_after=now,
                )
                for address in settings.STAFF_NOTIFICATION_EMAILS
            ]
    return rows


def _shipments(events: list[OrderEvent], now: dt.datetime) -> list[Notification]:
    orders = _customer_orders(e.order_id for e in events)
    lines = _lines_of(orders)
    rows = []
    for event in events:
        order = orders[event.order_id]
        shipped_lines = {row["line"]: row["shipped"] for row in event.data.get("lines", [])}
        all_lines = [_line_facts(x) for x in lines[order.pk]]
        facts = _order_facts(order) | {
            "shipment": event.data.get("shipment"),
            "carrier": event.data.get("carrier", ""),
            "tracking_number": event.data.get("tracking_number", ""),
            "shipped": [
                line | {"quantity_in_shipment": shipped_lines[line["line"]]}
                for line in all_lines
                if line["line"] in shipped_lines
            ],
            "still_coming": [
                line for line in all_lines if line["allocated"] or line["backordered"]
            ],
        }
        rows.append(
            Notification(
                kind=Kind.SHIPMENT_SENT,
                order_id=order.pk,
                recipient=order.email,
                dedupe_key=f"shipment:{event.data.get('shipment')}",
                facts=facts,
                send_after=now,
            )
        )
    return rows


def _cancellations(events: list[OrderEvent], now: dt.datetime) -> list[Notification]:
    orders = _customer_orders(e.order_id for e in events)
    products = _product_facts(row["sku"] for e in events for row in e.data.get("lines", []))
    substitutes = _substitutes(products)
    rows = []
    for event in events:
        order = orders[event.order_id]
        cause = event.data.get("cause", "customer")
        cancelled = [
            products.get(row["sku"], {"sku": row["sku"], "name": row["sku"]})
            | {"quantity": row["cancelled"], "substitutes": substitutes.get(row["sku"], [])}
            for row in event.data.get("lines", [])
        ]
        rows.append(
            Notification(
                kind=Kind.DISCONTINUED if cause == "discontinued" else Kind.CANCELLATION,
                order_id=order.pk,
                recipient=order.email,
                dedupe_key=f"cancellation:{event.pk}",
                facts=_order_facts(order)
                | {
                    "cause": cause,
                    "reason": event.data.get("reason", ""),
                    "cancelled": cancelled,
                    "refund": event.data.get("refund"),
                    "refund_due": event.data.get("refund_due"),
                    "ship_by": event.data.get("ship_by"),
                },
                send_after=now,
            )
        )
    return rows


def _substitutes(products: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    result: dict[str, list[dict[str, str]]] = defaultdict(list)
    through = Product.substitutes.through
    rows = through.objects.filter(from_product__sku__in=list(products)).values_list(
        "from_product__sku", "to_product__sku", "to_product__name"
    )
    for sku, sub_sku, sub_name in rows:
        result[sku].append({"sku": sub_sku, "name": sub_name})
    return result


def _allocations(events: list[OrderEvent], now: dt.datetime) -> list[Notification]:
    orders = _customer_orders(e.order_id for e in events)
    return [
        Notification(
            kind=Kind.ITEMS_ALLOCATED,
            order_id=event.order_id,
            recipient=orders[event.order_id].email,
            dedupe_key=f"allocated:{event.pk}",
            facts=_order_facts(orders[event.order_id])
            | {
                "allocated": [
                    {
                        "sku": event.data["sku"],
                        "quantity": sum(event.data.get("lines", {}).values()),
                    }
                ],
            },
            send_after=now,
        )
        for event in events
    ]


def _eta_changes(events: list[OrderEvent], now: dt.datetime) -> None:
    """Gather ETA changes per order into one pending email that goes out after the window."""
    window = dt.timedelta(minutes=settings.NOTIFICATION_BATCH_MINUTES)
    order_ids = {e.order_id for e in events}
    open_batches = {
        n.order_id: n
        for n in Notification.objects.select_for_update()
        .filter(order_id__in=order_ids, kind=Kind.ETA_CHANGED, state=State.PENDING)
        .order_by("order_id", "-id")
    }
    orders = _customer_orders(order_ids - set(open_batches))
    new: dict[int, Notification] = {}
    for event in events:
        batch = open_batches.get(event.order_id) or new.get(event.order_id)
        if batch is None:
            order = orders[event.order_id]
            batch = new[event.order_id] = Notification(
                kind=Kind.ETA_CHANGED,
                order_id=order.pk,
                recipient=order.email,
                dedupe_key=f"eta:{order.pk}:{event.pk}",
                facts=_order_facts(order) | {"changes": {}, "reasons": []},
                send_after=now + window,
            )
        changes = batch.facts["changes"]
        for row in event.data.get("lines", []):
            key = str(row["line"])
            first_old = changes[key]["old"] if key in changes else row["old"]
            first_source = changes[key]["old_source"] if key in changes else row.get("old_source")
            changes[key] = {
                "sku": row["sku"],
                "old": first_old,
                "old_source": first_source,
                "new": row["new"],
                "source": row["source"],
            }
        # Only reasons the shop wrote for customers (a supplier's delay), never internal ones.
        reason = event.data.get("public_reason")
        if reason and reason not in batch.facts["reasons"]:
            batch.facts["reasons"].append(reason)
    if open_batches:
        Notification.objects.bulk_update(list(open_batches.values()), ["facts", "updated_at"])
    _create(list(new.values()))

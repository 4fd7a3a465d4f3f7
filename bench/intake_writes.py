"""The ORM floor of bench/intake.py's `order_place` figure: the rows an order writes, written
through Django's ORM and nothing else, one order per transaction as order_place does.

Per order: the 3 stock rows locked (the same look-up order_place makes), the customer found or
created (the same helper), the order inserted (its number chosen here, no second statement),
its 3 lines in one insert (the in-stock ones allocated, the others waiting), the allocated
counts bumped in one update, one timeline event and one outbox row, then the commit. No
checks, no plan, no ETA, no deadline, no subscribers, no task hand-over. What order_place does
beyond this is the service itself; this is what no ORM version of it can beat on the same
machine, so its ratio to the one-connection database limit bounds order_place's.

The rows are real and consistent (stock allocated = the lines' allocated units, every order
holding units flagged as such), so the run's invariant check still covers them.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any


def orm_writes_placer() -> Any:
    from django.db import transaction
    from django.db.models import Case, F, IntegerField, Value, When
    from django.utils import timezone

    from inventory.locks import lock_stocks_by_sku
    from inventory.models import Stock
    from notifications.models import Notification
    from orders.models import Order, OrderEvent, OrderLine
    from orders.services.placing import _customer_get_or_create

    numbers = itertools.count(1)

    def place(body: dict[str, Any]) -> None:
        wanted = [(line["sku"].lower(), line["quantity"]) for line in body["lines"]]
        with transaction.atomic():
            stocks = lock_stocks_by_sku(skus=[sku for sku, _ in wanted])
            now = timezone.now()
            customer = _customer_get_or_create(
                email=body["customer"]["email"], name=body["customer"]["name"]
            )
            taken = {
                stocks[sku].pk: units
                for sku, units in wanted
                if stocks[sku].on_hand - stocks[sku].allocated >= units
            }
            price = Decimal(body["lines"][0]["unit_price"])
            total = price * sum(units for _, units in wanted) + Decimal(body["shipping_charge"])
            order = Order.objects.create(
                number=f"ORM-{next(numbers):07d}",
                customer=customer,
                placed_at=now,
                paid_at=now,
                amount_paid=total,
                shipping_charge=Decimal(body["shipping_charge"]),
                holds_stock=bool(taken),
            )
            OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    product_id=stocks[sku].pk,
                    quantity=units,
                    unit_price=price,
                    quantity_allocated=units if stocks[sku].pk in taken else 0,
                    queued_at=now,
                )
                for sku, units in wanted
            )
            Stock.objects.filter(pk__in=taken).update(
                allocated=F("allocated")
                + Case(
                    *(When(pk=pk, then=Value(units)) for pk, units in taken.items()),
                    output_field=IntegerField(),
                ),
                updated_at=now,
            )
            OrderEvent.objects.create(
                order=order, kind=OrderEvent.Kind.PLACED, message="Order placed", data=body
            )
            Notification.objects.create(
                kind=Notification.Kind.ORDER_CONFIRMATION,
                order=order,
                recipient=customer.email,
                dedupe_key=f"orm-floor-{order.pk}",
                facts={"order": order.number, "lines": body["lines"]},
                send_after=now,
            )

    return place

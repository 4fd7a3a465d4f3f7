"""Placing an order: check the request, take what is in stock, queue the rest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils import timezone

from config.calendar import store_today
from config.db import insert_unless_exists
from config.formats import count_noun
from inventory.bounds import MAX_AMOUNT, MAX_LEAD_TIME_DAYS, MAX_QUANTITY, validate_plausible_date
from inventory.locks import lock_stocks_by_sku
from inventory.models import Product, Stock
from inventory.stock import stocks_allocate
from orders.money import shipping_rate_by_table, to_cents

from ..decisions import line_decision, units_taken
from ..eta import new_line_eta
from ..models import Customer, Order, OrderEvent, OrderLine
from ..selectors import active_shipping_rate, eta_contexts, waiting_units
from ._common import _events_record, _placeholder_number, _user
from .allocation import _refresh_products_locked
from .requests import LINE_FIELDS, LineRequest, ShippingAddress, _address_errors


def _customer_get_or_create(*, email: str, name: str) -> Customer:
    # By lower-cased email, the customers' unique index: one index probe.
    by_email = Customer.objects.alias(email_lower=Lower("email")).filter(
        email_lower=Lower(Value(email))
    )
    found: Customer | None = by_email.order_by().first()
    if found is None:
        customer = Customer(email=email, name=name)
        if not insert_unless_exists(customer):
            # Another order created the same customer a moment ago.
            customer = by_email.get()
        return customer
    if name and not found.name:
        found.name = name
        found.save(update_fields=["name"])
    return found


def _clean_line_requests(
    lines: Sequence[LineRequest | Mapping[str, Any]], errors: list[str]
) -> list[LineRequest]:
    cleaned: list[LineRequest] = []
    first_line_of_sku: dict[str, int] = {}
    if not lines:
        errors.append("An order needs at least one line.")
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, LineRequest):
            req = raw
        elif isinstance(raw, Mapping) and set(raw) <= LINE_FIELDS:
            req = LineRequest(
                sku=raw.get("sku", ""),
                quantity=raw.get("quantity", 0),
                unit_price=raw.get("unit_price"),
                later_subscription_issue=raw.get("later_subscription_issue", False),
            )
        else:
            errors.append(f"Line {number}: give a sku, a quantity and optionally a unit_price.")
            continue
        sku = req.sku.strip() if isinstance(req.sku, str) else ""
        if not sku:
            errors.append(f"Line {number}: a SKU is required.")
            continue
        if isinstance(req.quantity, bool) or not isinstance(req.quantity, int):
            errors.append(f"Line {number} ({sku}): quantity must be a whole number.")
            continue
        if req.quantity <= 0:
            errors.append(f"Line {number} ({sku}): quantity must be at least 1.")
            continue
        if req.quantity > MAX_QUANTITY:
            errors.append(f"Line {number} ({sku}): at most {MAX_QUANTITY:,} units on one line.")
            continue
        unit_price = None
        if req.unit_price is not None:
            try:
                unit_price = Decimal(str(req.unit_price))
            except InvalidOperation:
                errors.append(f"Line {number} ({sku}): unit price must be an amount like 19.99.")
                continue
            if not unit_price.is_finite() or unit_price < 0:
                errors.append(f"Line {number} ({sku}): unit price cannot be negative.")
                continue
            if unit_price > MAX_AMOUNT:
                errors.append(f"Line {number} ({sku}): unit price can be at most {MAX_AMOUNT:,}.")
                continue
        if not isinstance(req.later_subscription_issue, bool):
            errors.append(f"Line {number} ({sku}): later_subscription_issue must be true or false.")
            continue
        key = sku.lower()
        if key in first_line_of_sku:
            errors.append(
                f"Line {number} ({sku}): already ordered on line {first_line_of_sku[key]}."
            )
            continue
        first_line_of_sku[key] = number
        cleaned.append(
            LineRequest(
                sku=sku,
                quantity=req.quantity,
                unit_price=unit_price,
                later_subscription_issue=req.later_subscription_issue,
            )
        )
    return cleaned


def _assign_number(order: Order) -> None:
    """Number a saved order after its id (it was inserted under a placeholder number)."""
    order.number = f"BD-{order.pk:06d}"
    Order.objects.filter(pk=order.pk).update(number=order.number)


def _order_request_errors(
    *,
    customer_email: str,
    ship_preference: str,
    payment_method: str,
    promised_ship_date: dt.date | None,
    promised_business_days: int | None,
) -> list[str]:
    """What is wrong with an order's header (the customer, its terms), one message each."""
    errors: list[str] = []
    if not customer_email:
        errors.append("The customer's email address is required.")
    else:
        try:
            validate_email(customer_email)
        except ValidationError:
            errors.append(f"'{customer_email}' is not a valid email address.")
    if ship_preference not in Order.ShipPreference.values:
        errors.append(f"Unknown ship preference '{ship_preference}'.")
    if payment_method not in Order.PaymentMethod.values:
        errors.append(f"Unknown payment method '{payment_method}'.")
    if promised_ship_date is not None:
        try:
            validate_plausible_date(promised_ship_date)
        except ValidationError as exc:
            errors.extend(f"Promised ship date: {message}" for message in exc.messages)
    if promised_business_days is not None and not 0 < promised_business_days <= MAX_LEAD_TIME_DAYS:
        errors.append(f"A stated shipping time is 1 to {MAX_LEAD_TIME_DAYS} business days.")
    return errors


def _products_for(
    requests: Sequence[LineRequest], stocks_by_sku: Mapping[str, Stock], errors: list[str]
) -> list[Product]:
    """The product of each requested line (SKUs match case-insensitively)."""
    for number, req in enumerate(requests, start=1):
        if req.sku.lower() not in stocks_by_sku:
            errors.append(f"Line {number}: unknown SKU '{req.sku}'.")
    return [
        stocks_by_sku[r.sku.lower()].product for r in requests if r.sku.lower() in stocks_by_sku
    ]


@dataclass
class _LinePlan:
    """The new order's lines (not saved yet), what each takes from stock, and the products
    whose queue must be allocated and recomputed once the lines are in."""

    lines: list[OrderLine]
    taken: dict[int, int]
    rerun_queue: list[int]


def _plan_lines(
    *,
    requests: Sequence[LineRequest],
    products: Sequence[Product],
    stocks: Mapping[int, Stock],
    priority: int,
    placed_at: dt.datetime,
    now: dt.datetime,
) -> _LinePlan:
    """Decide each line under the stock locks: what it takes now, what waits and until when.

    Raises ValidationError naming each refused line.
    """
    errors: list[str] = []
    product_ids = [p.pk for p in products]
    # An order entered late (an import, a phone order typed up later) may queue ahead of others.
    back_dated = placed_at < now - dt.timedelta(minutes=5)
    waiting_total, waiting_ahead = waiting_units(product_ids=product_ids, priority=priority)
    # Only a line that cannot be served in full needs its product's incoming supply (its cap,
    # its ETA): an order that is all in stock skips that read.
    short = [
        product
        for req, product in zip(requests, products, strict=True)
        if req.quantity
        > units_taken(
            quantity=req.quantity,
            available=stocks[product.pk].available,
            waiting_ahead=waiting_ahead[product.pk],
        )
    ]
    contexts = eta_contexts(products=short, today=store_today(now)) if short else {}
    plan = _LinePlan(lines=[], taken={}, rerun_queue=[])
    for number, (req, product) in enumerate(zip(requests, products, strict=True), start=1):
        stock = stocks[product.pk]
        context = contexts.get(product.pk)
        decision = line_decision(
            product=product,
            quantity=req.quantity,
            available=stock.available,
            waiting_ahead=waiting_ahead[product.pk],
            waiting_total=waiting_total[product.pk],
            incoming=sum(supply.quantity for supply in context.supplies) if context else 0,
        )
        if decision.refusal:
            errors.append(f"Line {number} ({product.sku}): {decision.refusal}")
            continue
        if waiting_total[product.pk] and (
            priority or back_dated or stock.available - decision.take > 0
        ):
            # The line goes ahead of waiting lines, or stock arrived and its allocation has
            # not run yet: allocate and recompute the whole queue once the line is in.
            plan.rerun_queue.append(product.pk)
        # Lines whose queue is recomputed below get their first ETA there.
        eta = (
            new_line_eta(
                context=context,
                units_ahead=waiting_ahead[product.pk],
                available=stock.available,
                backordered=decision.backordered,
            )
            if context and decision.backordered and product.pk not in plan.rerun_queue
            else None
        )
        plan.taken[product.pk] = decision.take
        plan.lines.append(
            OrderLine(
                product=product,
                quantity=req.quantity,
                unit_price=to_cents(
                    Decimal(req.unit_price) if req.unit_price is not None else product.unit_price
                ),
                quantity_allocated=decision.take,
                later_subscription_issue=req.later_subscription_issue,
                priority=priority,
                queued_at=placed_at,
                last_allocated_at=now if decision.take else None,
                eta=eta.date if eta else None,
                eta_source=eta.source if eta else "",
                eta_reference=eta.reference if eta else "",
            )
        )
    if errors:
        raise ValidationError(errors)
    return plan


def _order_save(order: Order, *, lines: list[OrderLine]) -> None:
    """Save the order (its external id unique), number it, and save its lines."""
    order.number = _placeholder_number()
    try:
        order.save()
    except IntegrityError as exc:
        # No savepoint: the error leaves order_place, which rolls the whole order back.
        message = f"An order with external id '{order.external_id}' already exists."
        raise ValidationError(
            {"external_id": [message]} if order.channel_id is not None else message
        ) from exc
    _assign_number(order)
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)


def _placed_event(*, order: Order, lines: Sequence[OrderLine], actor: Any) -> OrderEvent:
    backordered = sum(line.backordered for line in lines)
    return OrderEvent(
        order=order,
        kind=OrderEvent.Kind.PLACED,
        message=f"Order placed: {count_noun(sum(line.quantity for line in lines), 'unit')}, "
        f"{backordered} backordered",
        data={
            "lines": [
                {
                    "sku": line.product.sku,
                    "quantity": line.quantity,
                    "allocated": line.quantity_allocated,
                    "backordered": line.backordered,
                    "eta": line.eta.isoformat() if line.eta else None,
                    "eta_source": line.eta_source,
                }
                for line in lines
            ]
        },
        actor=_user(actor),
    )


def order_place(
    *,
    customer_email: str,
    lines: Sequence[LineRequest | Mapping[str, Any]],
    customer_name: str = "",
    external_id: str | None = None,
    placed_at: dt.datetime | None = None,
    paid: bool = True,
    paid_at: dt.datetime | None = None,
    amount_paid: Decimal | None = None,
    promised_ship_date: dt.date | None = None,
    promised_business_days: int | None = None,
    credit_application: bool = False,
    shipping_charge: Decimal | None = Decimal("0"),
    ship_preference: str = Order.ShipPreference.SHIP_AVAILABLE,
    payment_method: str = Order.PaymentMethod.CARD,
    is_priority: bool = False,
    address: ShippingAddress | None = None,
    channel: Any = None,
    actor: Any = None,
    savepoint: bool = True,
) -> Order:
    """Take an order: each line takes what is available, the rest joins the product's queue.

    `shipping_charge=None` charges the store's shipping rule (the active rate table, else the
    flat rate and free-shipping threshold of the settings) on the lines as ordered.
    `channel` is the storefront the order came from (its external id is unique per channel).
    Raises ValidationError naming each bad line; nothing is written then. `savepoint=False`
    skips the savepoint inside a caller's transaction (two round trips) for a caller that
    lets any error roll its whole transaction back.
    """
    with transaction.atomic(savepoint=savepoint):
        # 1. Check the request.
        customer_email = (customer_email or "").strip()
        external_id = (external_id or "").strip() or None
        errors = _order_request_errors(
            customer_email=customer_email,
            ship_preference=ship_preference,
            payment_method=payment_method,
            promised_ship_date=promised_ship_date,
            promised_business_days=promised_business_days,
        )
        address = (address or ShippingAddress()).cleaned()
        errors.extend(_address_errors(address))
        requests = _clean_line_requests(lines, errors)
        # A storefront's external id is checked by its unique constraint when the order is saved.
        if (
            external_id
            and channel is None
            and Order.objects.filter(external_id=external_id).exists()
        ):
            errors.append(f"An order with external id '{external_id}' already exists.")
        # The products and their stock rows, locked (in pk order) in the same statement. The
        # clock is read after the locks: queue order is the order buyers were served in.
        stocks_by_sku = lock_stocks_by_sku(skus=[r.sku for r in requests])
        now = timezone.now()
        products = _products_for(requests, stocks_by_sku, errors)
        if errors:
            raise ValidationError(errors)
        if shipping_charge is not None:
            shipping_charge = to_cents(Decimal(shipping_charge))
            if shipping_charge < 0 or shipping_charge > MAX_AMOUNT:
                raise ValidationError(f"The shipping charge must be from 0 to {MAX_AMOUNT:,}.")

        # 2. Decide every line under the products' stock locks.
        priority = 1 if is_priority else 0
        stocks = {stock.pk: stock for stock in stocks_by_sku.values()}
        placed_at = placed_at or now
        plan = _plan_lines(
            requests=requests,
            products=products,
            stocks=stocks,
            priority=priority,
            placed_at=placed_at,
            now=now,
        )

        # 3. Write the order and its lines, reserve what they took, settle the queues.
        subtotal = sum((line.unit_price * line.quantity for line in plan.lines), Decimal("0"))
        if shipping_charge is None:
            items = sum(line.quantity for line in plan.lines)
            shipping_charge = shipping_rate_by_table(subtotal, items, table=active_shipping_rate())
        total = shipping_charge + subtotal
        if not paid:
            amount_paid = Decimal("0")
        elif amount_paid is None:
            amount_paid = total
        order = Order(
            customer=_customer_get_or_create(email=customer_email, name=customer_name.strip()),
            channel=channel,
            external_id=external_id,
            placed_at=placed_at,
            paid_at=(paid_at or placed_at) if paid else None,
            amount_paid=to_cents(amount_paid),
            amount_captured=to_cents(amount_paid)
            if settings.PAYMENT_CAPTURE == "order"
            else Decimal("0"),
            promised_ship_date=promised_ship_date,
            promised_business_days=promised_business_days,
            credit_application=credit_application,
            shipping_charge=shipping_charge,
            ship_preference=ship_preference,
            payment_method=payment_method,
            is_priority=is_priority,
            holds_stock=any(line.quantity_allocated for line in plan.lines),
            created_by=_user(actor),
            **address.order_fields(),
        )
        _order_save(order, lines=plan.lines)
        stocks_allocate(stocks=stocks, units=plan.taken, now=now)
        _refresh_products_locked(
            stocks={pid: stocks[pid] for pid in plan.rerun_queue},
            now=now,
            actor=actor,
            reason="a priority order joined the queue" if priority else "",
        )

        # 4. The timeline (and, through its subscribers, the confirmation email).
        _events_record([_placed_event(order=order, lines=plan.lines, actor=actor)])
        order.lines_as_placed = None if plan.rerun_queue else plan.lines
        return order

"""Every write to orders, and every write that needs both inventory and orders (allocation)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Case, DateField, F, Sum, Value, When
from django.db.models.functions import Cast, Lower
from django.utils import timezone
from django.utils.module_loading import import_string

from config.celery import publish_on_commit
from inventory import services as inventory_services
from inventory.bounds import MAX_LEAD_TIME_DAYS, MAX_QUANTITY, validate_plausible_date
from inventory.locks import lock_stock, lock_stocks
from inventory.models import (
    LowStockAlert,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Stock,
    StockMovement,
    Supplier,
)
from inventory.services import PurchaseLineRequest, stock_movement_record

from .locks import lock_order
from .models import (
    Customer,
    Order,
    OrderEvent,
    OrderLine,
    Refund,
    Shipment,
    ShipmentLine,
    ShippingRate,
)
from .selectors import (
    QUEUE_ORDER,
    Eta,
    EtaWalker,
    active_shipping_rate,
    eta_contexts,
    line_decision,
    new_line_eta,
    product_replenishment,
    products_with_idle_stock,
    store_today,
    waiting_line_batches,
    waiting_units,
)

# Lines read per round trip when walking a queue: memory stays bounded by one batch.
ALLOCATION_BATCH_SIZE = 2000
CENT = Decimal("0.01")
# Who or what cancelled: the customer asked, the shop cannot ship, the product is gone.
CANCEL_CAUSES = ("customer", "shop", "discontinued", "mail_order_rule")
# Reverse of "most recently allocated first", ties broken by reverse queue order.
TAKEBACK_ORDER = (F("last_allocated_at").desc(nulls_last=True), "priority", "-queued_at", "-id")


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    unit_price: Decimal | None = None
    # A later issue of a subscription (the storefront knows): exempt from the Mail Order Rule.
    later_subscription_issue: bool = False


# How far a caller's "shipped now" may trail the moment the shipment is recorded.
SHIPPED_AT_LEEWAY = dt.timedelta(minutes=1)
LINE_FIELDS = {"sku", "quantity", "unit_price", "later_subscription_issue"}


@dataclass
class AllocationResult:
    """What one allocation run handed out (counts only: memory stays one batch)."""

    product_id: int
    units: int = 0
    lines: int = 0
    orders: int = 0


@dataclass
class StockChangeResult:
    movement: StockMovement
    allocation: AllocationResult | None = None
    # (order number, line id, units taken back) for a downward adjustment
    taken_back: list[tuple[str, int, int]] = field(default_factory=list)


def _events_record(events: Iterable[OrderEvent]) -> list[OrderEvent]:
    """Write timeline events, then hand them to settings.ORDER_EVENT_SUBSCRIBERS in the same
    transaction.

    This is how the notifications outbox learns of changes without orders importing it: a
    rolled-back change leaves neither the event nor its email behind. An explicit list in
    settings, called in order, rather than signals, so the flow stays visible.
    """
    created = OrderEvent.objects.bulk_create(list(events))
    for path in settings.ORDER_EVENT_SUBSCRIBERS:
        import_string(path)(created)
    return created


def _user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


# --- refunds -----------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _us_federal_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("US", years=year).keys())


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (Mon–Fri, US federal holidays excluded)."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5 and current not in _us_federal_holidays(current.year):
            remaining -= 1
    return current


def refund_due_date(*, vested_at: dt.datetime, payment_method: str) -> dt.date:
    """7 working days, or one billing cycle when the shop is the creditor (store credit)."""
    vested_on = vested_at.astimezone(ZoneInfo(settings.STORE_TIME_ZONE)).date()
    if payment_method == Order.PaymentMethod.STORE_CREDIT:
        return vested_on + dt.timedelta(days=settings.STORE_CREDIT_BILLING_DAYS)
    return add_working_days(vested_on, 7)


def shipping_rate_for(subtotal: Decimal, items: int = 0) -> Decimal:
    """What the store charges to ship `items` units worth `subtotal`: its rate table in use,
    else the settings' flat rate."""
    return _shipping_rate(subtotal, items, table=active_shipping_rate())


def _shipping_rate(subtotal: Decimal, items: int, *, table: ShippingRate | None) -> Decimal:
    if subtotal <= 0:
        return Decimal("0.00")
    if table is None:
        free_over = settings.SHIPPING_FREE_OVER
        if free_over is not None and subtotal >= free_over:
            return Decimal("0.00")
        return _money(settings.SHIPPING_FLAT_RATE)
    if table.free_over is not None and subtotal >= table.free_over:
        return Decimal("0.00")
    if table.kind == ShippingRate.Kind.PER_ITEM:
        return _money(table.amount * items)
    if table.kind == ShippingRate.Kind.BANDS:
        bands = [band for band in table.bands.all() if band.subtotal_from <= subtotal]
        return _money(
            max(bands, key=lambda band: band.subtotal_from).amount if bands else Decimal("0")
        )
    return _money(table.amount)


def shipped_value(*, order: Order, lines: Iterable[OrderLine]) -> Decimal:
    """What the shipped items alone would have cost under the store's prices and shipping rules.

    When the order was charged shipping by those rules (including free shipping over a
    threshold), the shipped items pay the rate they alone would have paid. When the shop
    waived or changed the charge, never count more shipping than the customer actually paid.
    """
    lines = list(lines)
    subtotal = sum((line.unit_price * line.quantity_shipped for line in lines), Decimal("0"))
    ordered = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
    table = active_shipping_rate()
    shipped_items = sum(line.quantity_shipped for line in lines)
    shipping = _shipping_rate(subtotal, shipped_items, table=table)
    ordered_items = sum(line.quantity for line in lines)
    if order.shipping_charge != _shipping_rate(ordered, ordered_items, table=table):
        shipping = min(order.shipping_charge, shipping)
    return _money(subtotal + shipping)


def refund_owed_on_close(*, order: Order, lines: Iterable[OrderLine]) -> Decimal:
    """When an order closes with cancelled items: everything paid, shipping included, minus
    what the shipped items alone would have cost."""
    return max(Decimal("0.00"), order.amount_paid - shipped_value(order=order, lines=lines))


def _refund_obligation_create(
    *, order: Order, amount: Decimal, reason: str, now: dt.datetime, line: OrderLine | None = None
) -> Refund | None:
    """Owe the customer `amount`, never more than they paid and are not yet owed."""
    if order.amount_paid <= 0:
        return None
    already_owed = order.refunds.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    amount = min(_money(amount), order.amount_paid - already_owed)
    if amount <= 0:
        return None
    return Refund.objects.create(
        order=order,
        order_line=line,
        amount=amount,
        reason=reason,
        vested_at=now,
        due_date=refund_due_date(vested_at=now, payment_method=order.payment_method),
    )


# --- allocation --------------------------------------------------------------------------


def _allocate_locked(
    *, stock: Stock, now: dt.datetime, actor: Any = None, reason: str = ""
) -> AllocationResult:
    """Hand the product's available units to its queue, head first. Caller holds the lock."""
    result = AllocationResult(product_id=stock.pk)
    available = stock.on_hand - stock.allocated
    if available <= 0:
        return result
    sku: str | None = None
    waiting = OrderLine.objects.filter(product_id=stock.pk, quantity_backordered__gt=0)
    while available > 0:
        batch = list(
            waiting.order_by(*QUEUE_ORDER).values_list("id", "order_id", "quantity_backordered")[
                :ALLOCATION_BATCH_SIZE
            ]
        )
        if not batch:
            break
        full_ids: list[int] = []
        partial: tuple[int, int] | None = None
        given_by_order: dict[int, dict[int, int]] = defaultdict(dict)
        for line_id, order_id, backordered in batch:
            if available >= backordered:
                full_ids.append(line_id)
                units = backordered
            else:
                partial = (line_id, available)
                units = available
            available -= units
            given_by_order[order_id][line_id] = units
            result.lines += 1
            result.units += units
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
        if sku is None:
            sku = Product.objects.values_list("sku", flat=True).get(pk=stock.pk)
        _events_record(
            OrderEvent(
                order_id=order_id,
                kind=OrderEvent.Kind.ALLOCATED,
                message=f"{sum(lines.values())} × {sku} allocated"
                + (f" ({reason})" if reason else ""),
                data={"sku": sku, "lines": {str(k): v for k, v in lines.items()}},
                actor=_user(actor),
            )
            for order_id, lines in given_by_order.items()
        )
        result.orders += len(given_by_order)
        if len(batch) < ALLOCATION_BATCH_SIZE:
            break
    if result.units:
        Stock.objects.filter(pk=stock.pk).update(
            allocated=F("allocated") + result.units, updated_at=now
        )
        stock.allocated += result.units
    return result


def _eta_refresh_locked(
    *,
    product_id: int,
    now: dt.datetime,
    reason: str = "",
    actor: Any = None,
    public_reason: str = "",
) -> int:
    """Recompute the ETA of every waiting line of a product; write only what changed.

    Caller holds the product's stock lock. Queries: 2 + 3 per batch of waiting lines.
    Returns the number of lines whose ETA changed.
    """
    product = Product.objects.select_related("preferred_supplier").get(pk=product_id)
    context = eta_contexts(products=[product], today=store_today(now))[product_id]
    walker = EtaWalker(context)
    changed_total = 0
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
            changed_total += len(changes)
    return changed_total


def _eta_write(
    *,
    changes: Mapping[int, tuple[int, Eta, Eta]],
    sku: str,
    reason: str,
    actor: Any,
    public_reason: str = "",
) -> None:
    """One UPDATE for a batch of changed lines (by their new ETA), one event per order."""
    by_eta: dict[Eta, list[int]] = defaultdict(list)
    for line_id, (_, _, new) in changes.items():
        by_eta[new].append(line_id)
    OrderLine.objects.filter(pk__in=list(changes)).update(
        # Cast: with only unknown (NULL) dates PostgreSQL would type the CASE as text.
        eta=Cast(
            Case(*(When(pk__in=ids, then=Value(eta.date)) for eta, ids in by_eta.items())),
            output_field=DateField(),
        ),
        eta_source=Case(*(When(pk__in=ids, then=Value(eta.source)) for eta, ids in by_eta.items())),
        eta_reference=Case(
            *(When(pk__in=ids, then=Value(eta.reference)) for eta, ids in by_eta.items())
        ),
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
    _events_record(
        OrderEvent(
            order_id=order_id,
            kind=OrderEvent.Kind.ETA_CHANGED,
            message="; ".join(
                f"{c['sku']} ETA {c['old'] or 'none'} → {c['new'] or 'unknown'}" for c in lines
            )[:300],
            data={"lines": lines, "reason": reason, "public_reason": public_reason},
            actor=_user(actor),
        )
        for order_id, lines in by_order.items()
    )


def _refresh_products_locked(
    *, stocks: Mapping[int, Stock], now: dt.datetime, reason: str = "", actor: Any = None
) -> None:
    """Allocate, then recompute ETAs, for each locked product."""
    for product_id in sorted(stocks):
        _allocate_locked(stock=stocks[product_id], now=now, actor=actor, reason=reason)
        _eta_refresh_locked(product_id=product_id, now=now, reason=reason, actor=actor)


@transaction.atomic
def product_allocate(*, product_id: int, actor: Any = None) -> AllocationResult:
    """Give a product's available units to its waiting lines, first come first served, then
    recompute the ETAs of the lines still waiting. Running it again changes nothing."""
    stock = lock_stock(product_id=product_id)
    now = timezone.now()
    result = _allocate_locked(stock=stock, now=now, actor=actor)
    _eta_refresh_locked(product_id=product_id, now=now, actor=actor)
    return result


def allocation_sweep(*, limit: int = 500) -> list[int]:
    """Allocate wherever free stock meets a waiting line; the products that got units.

    Each product in its own transaction under its stock lock (product_allocate), so a sweep
    running beside another sweep or beside the allocation tasks hands out each unit once, and
    a second sweep finds nothing left to do.
    """
    return [
        product_id
        for product_id in products_with_idle_stock(limit=limit)
        if product_allocate(product_id=product_id).units
    ]


@transaction.atomic
def product_eta_refresh(*, product_id: int, reason: str = "", actor: Any = None) -> int:
    """Recompute a product's ETAs (e.g. after its lead time or supplier changed)."""
    lock_stock(product_id=product_id)
    return _eta_refresh_locked(
        product_id=product_id, now=timezone.now(), reason=reason, actor=actor
    )


def _take_back_locked(
    *, stock: Stock, units: int, now: dt.datetime, reason: str, actor: Any = None
) -> list[tuple[str, int, int]]:
    """Return `units` allocated units to the queue, most recently allocated lines first."""
    taken: list[tuple[str, int, int]] = []
    remaining = units
    rows = (
        OrderLine.objects.filter(product_id=stock.pk, quantity_allocated__gt=0)
        .order_by(*TAKEBACK_ORDER)
        .values_list("id", "order_id", "order__number", "quantity_allocated")
    )
    by_order: dict[int, dict[int, int]] = defaultdict(dict)
    for line_id, order_id, number, allocated in rows.iterator(chunk_size=ALLOCATION_BATCH_SIZE):
        take = min(allocated, remaining)
        taken.append((number, line_id, take))
        by_order[order_id][line_id] = take
        remaining -= take
        if remaining == 0:
            break
    if remaining:
        raise ValidationError("Fewer units are allocated than the adjustment takes back.")
    OrderLine.objects.filter(pk__in=[line_id for _, line_id, _ in taken]).update(
        quantity_allocated=F("quantity_allocated")
        - Case(
            *(When(pk=line_id, then=Value(take)) for _, line_id, take in taken),
            default=Value(0),
        )
    )
    sku = Product.objects.values_list("sku", flat=True).get(pk=stock.pk)
    _events_record(
        OrderEvent(
            order_id=order_id,
            kind=OrderEvent.Kind.DEALLOCATED,
            message=f"{sum(lines.values())} × {sku} taken back and returned to the queue: {reason}",
            data={"sku": sku, "lines": {str(k): v for k, v in lines.items()}},
            actor=_user(actor),
        )
        for order_id, lines in by_order.items()
    )
    Stock.objects.filter(pk=stock.pk).update(allocated=F("allocated") - units, updated_at=now)
    stock.allocated -= units
    return taken


def _positive_quantity(quantity: Any, *, what: str = "Quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError(f"{what} must be a whole number above zero.")
    if quantity > MAX_QUANTITY:
        raise ValidationError(f"{what} can be at most {MAX_QUANTITY:,} units at once.")
    return quantity


def _required_reason(reason: str, *, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(f"{what} needs a reason.")
    return reason


def _allocation_enqueue(product_id: int) -> None:
    """Hand freshly received stock to the queue once the receipt has committed."""
    from .tasks import product_allocate_task

    publish_on_commit(product_allocate_task, product_id)


@transaction.atomic
def stock_receive(
    *,
    product: Product,
    quantity: int,
    reference: str = "",
    reason: str = "Received without a purchase order",
    actor: Any = None,
) -> StockMovement:
    """Receive units into stock; the allocation task hands them to the queue after commit."""
    _positive_quantity(quantity)
    stock = lock_stock(product_id=product.pk)
    movement = stock_movement_record(
        stock=stock,
        kind=StockMovement.Kind.RECEIPT,
        quantity=quantity,
        reason=reason,
        reference=reference,
        actor=_user(actor),
    )
    _allocation_enqueue(product.pk)
    return movement


@transaction.atomic
def stock_adjust(
    *,
    product: Product,
    quantity: int,
    reason: str,
    reference: str = "",
    actor: Any = None,
) -> StockChangeResult:
    """Correct on hand by a signed quantity (a count, damage, loss, a find).

    Going below what is allocated takes units back from the most recently allocated lines
    first; they return to the queue and the result says which.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        raise ValidationError("An adjustment must be a whole number other than zero.")
    if abs(quantity) > MAX_QUANTITY:
        raise ValidationError(f"An adjustment can be at most {MAX_QUANTITY:,} units either way.")
    reason = _required_reason(reason, what="A stock adjustment")
    stock = lock_stock(product_id=product.pk)
    now = timezone.now()
    if stock.on_hand + quantity < 0:
        raise ValidationError(
            f"{product.sku} has only {stock.on_hand} on hand; it cannot go down by {-quantity}."
        )
    taken_back: list[tuple[str, int, int]] = []
    shortfall = stock.allocated - (stock.on_hand + quantity)
    if shortfall > 0:
        taken_back = _take_back_locked(
            stock=stock, units=shortfall, now=now, reason=reason, actor=actor
        )
    movement = stock_movement_record(
        stock=stock,
        kind=StockMovement.Kind.ADJUSTMENT,
        quantity=quantity,
        reason=reason,
        reference=reference,
        actor=_user(actor),
    )
    allocation = _allocate_locked(stock=stock, now=now, actor=actor) if quantity > 0 else None
    _eta_refresh_locked(product_id=product.pk, now=now, reason=reason, actor=actor)
    return StockChangeResult(movement=movement, allocation=allocation, taken_back=taken_back)


# --- placing orders ----------------------------------------------------------------------


def _customer_get_or_create(*, email: str, name: str) -> Customer:
    customer = Customer.objects.filter(email__iexact=email).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(email=email, name=name)
        except IntegrityError:
            # Another order created the same customer a moment ago.
            customer = Customer.objects.get(email__iexact=email)
    elif name and not customer.name:
        customer.name = name
        customer.save(update_fields=["name"])
    return customer


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
    order.number = f"BD-{order.pk:06d}"
    Order.objects.filter(pk=order.pk).update(number=order.number)


@transaction.atomic
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
    shipping_charge: Decimal = Decimal("0"),
    ship_preference: str = Order.ShipPreference.SHIP_AVAILABLE,
    payment_method: str = Order.PaymentMethod.CARD,
    is_priority: bool = False,
    actor: Any = None,
) -> Order:
    """Take an order: each line takes what is available, the rest joins the product's queue.

    Raises ValidationError naming each bad line; nothing is written then.
    """
    errors: list[str] = []
    customer_email = (customer_email or "").strip()
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
    requests = _clean_line_requests(lines, errors)
    external_id = (external_id or "").strip() or None
    if external_id and Order.objects.filter(external_id=external_id).exists():
        errors.append(f"An order with external id '{external_id}' already exists.")
    products_by_sku = {
        p.sku_lower: p
        for p in Product.objects.select_related("preferred_supplier")
        .annotate(sku_lower=Lower("sku"))
        .filter(sku_lower__in=[r.sku.lower() for r in requests])
    }
    for number, req in enumerate(requests, start=1):
        if req.sku.lower() not in products_by_sku:
            errors.append(f"Line {number}: unknown SKU '{req.sku}'.")
    if errors:
        raise ValidationError(errors)

    priority = 1 if is_priority else 0
    products = [products_by_sku[r.sku.lower()] for r in requests]
    product_ids = [p.pk for p in products]
    stocks = lock_stocks(product_ids=product_ids)
    # The clock is read after the locks: queue order is the order buyers were served in.
    now = timezone.now()
    placed_at = placed_at or now
    # An order entered late (an import, a phone order typed up later) may queue ahead of others.
    back_dated = placed_at < now - dt.timedelta(minutes=5)
    waiting_total, waiting_ahead = waiting_units(product_ids=product_ids, priority=priority)
    contexts = eta_contexts(products=products, today=store_today(now))

    new_lines: list[OrderLine] = []
    allocated_by_product: dict[int, int] = {}
    rerun_queue: list[int] = []
    for number, (req, product) in enumerate(zip(requests, products, strict=True), start=1):
        stock = stocks[product.pk]
        context = contexts[product.pk]
        decision = line_decision(
            product=product,
            quantity=req.quantity,
            available=stock.available,
            waiting_ahead=waiting_ahead[product.pk],
            waiting_total=waiting_total[product.pk],
            incoming=sum(supply.quantity for supply in context.supplies),
        )
        if decision.refusal:
            errors.append(f"Line {number} ({product.sku}): {decision.refusal}")
            continue
        if waiting_total[product.pk] and (
            priority or back_dated or stock.available - decision.take > 0
        ):
            # The line goes ahead of waiting lines, or stock arrived and its allocation has
            # not run yet: allocate and recompute the whole queue once the line is in.
            rerun_queue.append(product.pk)
        # Lines whose queue is recomputed below get their first ETA there.
        eta = (
            new_line_eta(
                context=context,
                units_ahead=waiting_ahead[product.pk],
                available=stock.available,
                backordered=decision.backordered,
            )
            if decision.backordered and product.pk not in rerun_queue
            else None
        )
        allocated_by_product[product.pk] = decision.take
        new_lines.append(
            OrderLine(
                product=product,
                quantity=req.quantity,
                unit_price=_money(
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

    shipping_charge = _money(Decimal(shipping_charge))
    if shipping_charge < 0:
        raise ValidationError("The shipping charge cannot be negative.")
    total = shipping_charge + sum(
        (line.unit_price * line.quantity for line in new_lines), Decimal("0")
    )
    if not paid:
        amount_paid = Decimal("0")
    elif amount_paid is None:
        amount_paid = total
    order = Order(
        customer=_customer_get_or_create(email=customer_email, name=customer_name.strip()),
        external_id=external_id,
        placed_at=placed_at,
        paid_at=(paid_at or placed_at) if paid else None,
        amount_paid=_money(amount_paid),
        amount_captured=_money(amount_paid)
        if settings.PAYMENT_CAPTURE == "order"
        else Decimal("0"),
        promised_ship_date=promised_ship_date,
        promised_business_days=promised_business_days,
        credit_application=credit_application,
        shipping_charge=shipping_charge,
        ship_preference=ship_preference,
        payment_method=payment_method,
        is_priority=is_priority,
        created_by=_user(actor),
    )
    order.number = ""
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError as exc:
        raise ValidationError(f"An order with external id '{external_id}' already exists.") from exc
    _assign_number(order)
    for line in new_lines:
        line.order = order
    OrderLine.objects.bulk_create(new_lines)

    increments = {pid: units for pid, units in allocated_by_product.items() if units}
    if increments:
        Stock.objects.filter(pk__in=increments).update(
            allocated=F("allocated")
            + Case(*(When(pk=pid, then=Value(u)) for pid, u in increments.items()), default=0),
            updated_at=now,
        )
        for pid, units in increments.items():
            stocks[pid].allocated += units
    _refresh_products_locked(
        stocks={pid: stocks[pid] for pid in rerun_queue},
        now=now,
        actor=actor,
        reason="a priority order joined the queue" if priority else "",
    )

    backordered = sum(line.backordered for line in new_lines)
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.PLACED,
                message=f"Order placed: {sum(line.quantity for line in new_lines)} units, "
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
                        for line in new_lines
                    ]
                },
                actor=_user(actor),
            )
        ]
    )
    return order


# --- priority ----------------------------------------------------------------------------


def _prioritise_lines(*, order: Order, lines: Iterable[OrderLine], reason: str, actor: Any) -> None:
    lines = [line for line in lines if line.quantity_open > 0]
    if not lines:
        raise ValidationError(f"Order {order.number} has nothing left to prioritise.")
    stocks = lock_stocks(product_ids=[line.product_id for line in lines])
    lock_order(order_id=order.pk)
    now = timezone.now()
    OrderLine.objects.filter(pk__in=[line.pk for line in lines]).update(priority=1)
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.PRIORITISED,
                message=f"Prioritised: {reason}",
                data={"reason": reason, "lines": [line.pk for line in lines]},
                actor=_user(actor),
            )
        ]
    )
    _refresh_products_locked(stocks=stocks, now=now, actor=actor, reason="after prioritising")


@transaction.atomic
def line_prioritise(*, line: OrderLine, reason: str, actor: Any = None) -> OrderLine:
    """Move a line to the front of its product's queue (among prioritised lines, by age)."""
    reason = _required_reason(reason, what="Prioritising")
    _prioritise_lines(order=line.order, lines=[line], reason=reason, actor=actor)
    line.refresh_from_db()
    return line


@transaction.atomic
def order_prioritise(*, order: Order, reason: str, actor: Any = None) -> Order:
    """Prioritise every open line of an order and flag the order."""
    reason = _required_reason(reason, what="Prioritising")
    _prioritise_lines(order=order, lines=order.lines.all(), reason=reason, actor=actor)
    Order.objects.filter(pk=order.pk).update(is_priority=True)
    order.is_priority = True
    return order


# --- cancelling --------------------------------------------------------------------------


def _cancel_locked(
    *,
    order: Order,
    quantities: Mapping[int, int],
    stocks: Mapping[int, Stock],
    reason: str,
    actor: Any,
    now: dt.datetime,
    cause: str,
    details: Mapping[str, Any] | None = None,
) -> tuple[list[OrderLine], Refund | None]:
    """Cancel units of locked lines: backordered units first, then allocated ones."""
    if cause not in CANCEL_CAUSES:
        raise ValidationError(f"Unknown cancellation cause '{cause}'.")
    lines = list(OrderLine.objects.filter(order=order, pk__in=quantities).select_related("product"))
    released: dict[int, int] = defaultdict(int)
    summary = []
    amount = Decimal("0")
    for line in lines:
        units = quantities[line.pk]
        if units > line.quantity_open:
            raise ValidationError(
                f"{line.product.sku}: only {line.quantity_open} of {line.quantity} can still be "
                f"cancelled ({line.quantity_shipped} shipped, {line.quantity_cancelled} cancelled)."
            )
        from_allocated = max(0, units - line.backordered)
        line.quantity_cancelled += units
        line.quantity_allocated -= from_allocated
        released[line.product_id] += from_allocated
        amount += line.unit_price * units
        summary.append({"sku": line.product.sku, "line": line.pk, "cancelled": units})
    OrderLine.objects.bulk_update(lines, ["quantity_cancelled", "quantity_allocated"])
    for product_id, units in released.items():
        if units:
            Stock.objects.filter(pk=product_id).update(
                allocated=F("allocated") - units, updated_at=now
            )
            stocks[product_id].allocated -= units
    all_lines = list(OrderLine.objects.filter(order=order))
    if all(line.quantity_open == 0 for line in all_lines):
        # The order is closed: owe everything paid (shipping included) except what the shipped
        # items alone would have cost under the store's prices and shipping rates.
        amount = refund_owed_on_close(order=order, lines=all_lines)
    refund = _refund_obligation_create(
        order=order,
        amount=amount,
        reason=f"Cancelled: {reason}",
        now=now,
        line=lines[0] if len(lines) == 1 else None,
    )
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.CANCELLED,
                message=f"Cancelled {sum(quantities.values())} units: {reason}"
                + (
                    f"; refund of {refund.amount} due by {refund.due_date:%Y-%m-%d}"
                    if refund
                    else ""
                ),
                data={
                    "reason": reason,
                    "cause": cause,
                    "lines": summary,
                    "refund": str(refund.amount) if refund else None,
                    "refund_due": refund.due_date.isoformat() if refund else None,
                    **(details or {}),
                },
                actor=_user(actor),
            )
        ]
    )
    _refresh_products_locked(
        stocks={pid: stocks[pid] for pid in released},
        now=now,
        actor=actor,
        reason="released by a cancellation",
    )
    return lines, refund


@transaction.atomic
def line_cancel(
    *,
    line: OrderLine,
    reason: str,
    quantity: int | None = None,
    cause: str = "customer",
    actor: Any = None,
) -> OrderLine:
    """Cancel a line or part of it; released units go to the next waiting line.

    `cause` says who or what cancelled: the customer, the shop, or a discontinued product.
    """
    reason = _required_reason(reason, what="A cancellation")
    stocks = lock_stocks(product_ids=[line.product_id])
    order = lock_order(order_id=line.order_id)
    line.refresh_from_db()
    units = line.quantity_open if quantity is None else _positive_quantity(quantity)
    if units == 0:
        raise ValidationError("Nothing is left to cancel on this line.")
    lines, _ = _cancel_locked(
        order=order,
        quantities={line.pk: units},
        stocks=stocks,
        reason=reason,
        actor=actor,
        now=timezone.now(),
        cause=cause,
    )
    return lines[0]


@transaction.atomic
def order_cancel(
    *,
    order: Order,
    reason: str,
    cause: str = "customer",
    line_ids: Iterable[int] | None = None,
    at: dt.datetime | None = None,
    details: Mapping[str, Any] | None = None,
    actor: Any = None,
) -> Order:
    """Cancel everything not yet shipped on an order (or on the given lines).

    `at` is when the cancellation took effect (the refund right vests then), e.g. the end of
    the day a consent window closed; it defaults to now. `details` go into the timeline
    event (e.g. the ship-by date a rule cancellation missed).
    """
    reason = _required_reason(reason, what="A cancellation")
    product_ids = list(order.lines.values_list("product_id", flat=True))
    stocks = lock_stocks(product_ids=product_ids)
    order = lock_order(order_id=order.pk)
    chosen = None if line_ids is None else set(line_ids)
    quantities = {
        line.pk: line.quantity_open
        for line in order.lines.all()
        if line.quantity_open > 0 and (chosen is None or line.pk in chosen)
    }
    if not quantities:
        raise ValidationError(f"Order {order.number} has nothing left to cancel.")
    _cancel_locked(
        order=order,
        quantities=quantities,
        stocks=stocks,
        reason=reason,
        actor=actor,
        now=at or timezone.now(),
        cause=cause,
        details=details,
    )
    return order


# --- shipping ----------------------------------------------------------------------------


def shipment_refusal(*, order: Order, line_ids: Sequence[int], now: dt.datetime) -> str:
    """Why these lines must not ship now ('' when they may): settings.SHIPMENT_CHECKS decide
    (the Mail Order Rule forbids shipping late without consent)."""
    for path in settings.SHIPMENT_CHECKS:
        refusal: str = import_string(path)(order=order, line_ids=line_ids, now=now)
        if refusal:
            return refusal
    return ""


@transaction.atomic
def shipment_create(
    *,
    order: Order,
    quantities: Mapping[int, int] | None = None,
    carrier: str = "",
    tracking_number: str = "",
    shipping_method: str = "",
    override_reason: str = "",
    shipped_at: dt.datetime | None = None,
    actor: Any = None,
) -> Shipment:
    """Ship allocated units (all of them, or `quantities` by line id).

    A ship-complete order ships only when nothing is backordered, unless staff give a reason.
    """
    product_ids = list(order.lines.values_list("product_id", flat=True))
    stocks = lock_stocks(product_ids=product_ids)
    order = lock_order(order_id=order.pk)
    lines = {line.pk: line for line in order.lines.select_related("product")}
    if quantities is None:
        quantities = {
            pk: line.quantity_allocated for pk, line in lines.items() if line.quantity_allocated
        }
        if not quantities:
            raise ValidationError(f"Order {order.number} has no allocated units to ship.")
    errors = []
    for line_id, units in quantities.items():
        line = lines.get(line_id)
        if line is None:
            errors.append(f"Line {line_id} is not on order {order.number}.")
        elif isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            errors.append(f"{line.product.sku}: quantity to ship must be at least 1.")
        elif units > line.quantity_allocated:
            errors.append(
                f"{line.product.sku}: only {line.quantity_allocated} allocated, "
                f"cannot ship {units}."
            )
    if errors:
        raise ValidationError(errors)
    override_reason = (override_reason or "").strip()
    waiting = sum(line.backordered for line in lines.values())
    unshipped_allocated = sum(line.quantity_allocated for line in lines.values()) - sum(
        quantities.values()
    )
    if (
        order.ship_preference == Order.ShipPreference.SHIP_COMPLETE
        and not override_reason
        and (waiting or unshipped_allocated)
    ):
        raise ValidationError(
            f"Order {order.number} ships complete and {waiting + unshipped_allocated} units would "
            "stay behind; give a reason to ship part of it now."
        )

    now = timezone.now()
    if shipped_at is not None and (
        shipped_at < now - SHIPPED_AT_LEEWAY or store_today(shipped_at) < store_today(now)
    ):
        given = shipped_at.astimezone(ZoneInfo(settings.STORE_TIME_ZONE))
        raise ValidationError(
            "A shipment is recorded when it is handed to the carrier: it cannot be dated "
            f"earlier than now ({given:%Y-%m-%d %H:%M} was given)."
        )
    refusal = shipment_refusal(order=order, line_ids=list(quantities), now=now)
    if refusal:
        raise ValidationError(refusal)
    shipment = Shipment.objects.create(
        order=order,
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
        shipping_method=shipping_method.strip(),
        shipped_at=shipped_at or now,
        override_reason=override_reason,
        created_by=_user(actor),
    )
    ShipmentLine.objects.bulk_create(
        ShipmentLine(shipment=shipment, order_line_id=line_id, quantity=units)
        for line_id, units in quantities.items()
    )
    for line_id, units in quantities.items():
        lines[line_id].quantity_allocated -= units
        lines[line_id].quantity_shipped += units
    OrderLine.objects.bulk_update(
        [lines[line_id] for line_id in quantities], ["quantity_allocated", "quantity_shipped"]
    )
    by_product: dict[int, int] = defaultdict(int)
    for line_id, units in quantities.items():
        by_product[lines[line_id].product_id] += units
    for product_id in sorted(by_product):
        units = by_product[product_id]
        stock_movement_record(
            stock=stocks[product_id],
            kind=StockMovement.Kind.SHIPMENT,
            quantity=-units,
            allocated_delta=-units,
            reason="Shipped",
            reference=order.number,
            actor=_user(actor),
        )
    value = _money(sum((lines[i].unit_price * u for i, u in quantities.items()), Decimal("0")))
    if settings.PAYMENT_CAPTURE == "shipment" and order.amount_paid > order.amount_captured:
        capture = min(value, order.amount_paid - order.amount_captured)
        Order.objects.filter(pk=order.pk).update(amount_captured=F("amount_captured") + capture)
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.SHIPPED,
                message=f"Shipped {sum(quantities.values())} units"
                + (f" by {shipment.carrier}" if shipment.carrier else "")
                + (f", tracking {shipment.tracking_number}" if shipment.tracking_number else "")
                + (
                    f" (partial, ship-complete overridden: {override_reason})"
                    if override_reason
                    else ""
                ),
                data={
                    "shipment": shipment.pk,
                    "carrier": shipment.carrier,
                    "tracking_number": shipment.tracking_number,
                    "shipping_method": shipment.shipping_method,
                    "lines": [
                        {"sku": lines[i].product.sku, "line": i, "shipped": u}
                        for i, u in quantities.items()
                    ],
                    "value": str(value),
                },
                actor=_user(actor),
            )
        ]
    )
    return shipment


@transaction.atomic
def refund_mark_issued(*, refund: Refund, reference: str, actor: Any = None) -> Refund:
    """Record that the money went back to the customer, and how."""
    reference = _required_reason(reference, what="Marking a refund issued")
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.issued_at is not None:
        raise ValidationError(f"This refund was already issued on {refund.issued_at:%Y-%m-%d}.")
    now = timezone.now()
    refund.issued_at = now
    refund.issued_by = _user(actor)
    refund.issue_reference = reference
    refund.save(update_fields=["issued_at", "issued_by", "issue_reference"])
    Order.objects.filter(pk=refund.order_id).update(
        amount_refunded=F("amount_refunded") + refund.amount
    )
    _events_record(
        [
            OrderEvent(
                order_id=refund.order_id,
                kind=OrderEvent.Kind.REFUND_ISSUED,
                message=f"Refund of {refund.amount} issued ({reference})",
                data={"refund": refund.pk, "amount": str(refund.amount), "reference": reference},
                actor=_user(actor),
            )
        ]
    )
    return refund


REFUND_OTHER_METHODS = {"cash": "cash", "check": "check", "money_order": "money order"}


@transaction.atomic
def refund_mark_failed(
    *, refund: Refund, reason: str, method: str, actor: Any = None, now: dt.datetime | None = None
) -> Refund:
    """The refund could not go back the original way (e.g. a closed card): record why; it is
    now owed by cash, check or money order within 7 working days of learning of it."""
    reason = _required_reason(reason, what="Recording a failed refund")
    if method not in REFUND_OTHER_METHODS:
        raise ValidationError("Choose how the refund is owed instead: cash, check or money order.")
    now = now or timezone.now()
    lock_order(order_id=refund.order_id)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.failed_at is not None:
        raise ValidationError(
            f"This refund's failure was already recorded on {refund.failed_at:%Y-%m-%d}."
        )
    was_issued = refund.issued_at is not None
    if was_issued:
        # The money never reached the customer: it is owed again.
        Order.objects.filter(pk=refund.order_id).update(
            amount_refunded=F("amount_refunded") - refund.amount
        )
    previous_due = refund.due_date
    refund.failed_at = now
    refund.failure_reason = reason[:200]
    refund.other_method = method
    refund.due_date = add_working_days(store_today(now), 7)
    refund.issued_at, refund.issued_by, refund.issue_reference = None, None, ""
    refund.save()
    _events_record(
        [
            OrderEvent(
                order_id=refund.order_id,
                kind=OrderEvent.Kind.REFUND_DUE,
                message=f"Refund of {refund.amount} failed ({reason}): now owed by "
                f"{REFUND_OTHER_METHODS[method]} by {refund.due_date:%Y-%m-%d}"[:300],
                data={
                    "refund": refund.pk,
                    "amount": str(refund.amount),
                    "failed": reason,
                    "method": method,
                    "was_issued": was_issued,
                    "previous_due": previous_due.isoformat(),
                    "refund_due": refund.due_date.isoformat(),
                },
                actor=_user(actor),
            )
        ]
    )
    return refund


# --- supply: purchase orders change ETAs ---------------------------------------------------


def _po_product_ids(purchase_order: PurchaseOrder) -> list[int]:
    return list(purchase_order.lines.values_list("product_id", flat=True))


def _eta_refresh_products(
    *,
    product_ids: Iterable[int],
    reason: str,
    actor: Any,
    stocks: Mapping[int, Stock] | None = None,
    public_reason: str = "",
) -> None:
    ids = sorted(set(product_ids))
    if stocks is None:
        lock_stocks(product_ids=ids)
    now = timezone.now()
    for product_id in ids:
        _eta_refresh_locked(
            product_id=product_id,
            now=now,
            reason=reason,
            actor=actor,
            public_reason=public_reason,
        )


@transaction.atomic
def purchase_order_create(
    *,
    supplier: Supplier,
    lines: Sequence[PurchaseLineRequest],
    send: bool = False,
    note: str = "",
    actor: Any = None,
) -> PurchaseOrder:
    """Create a purchase order; a sent one moves the ETAs of the lines it will cover."""
    stocks = lock_stocks(product_ids=[req.product.pk for req in lines])
    po = inventory_services.purchase_order_create(
        supplier=supplier, lines=lines, send=send, note=note, actor=actor
    )
    if send:
        _eta_refresh_products(
            product_ids=stocks, reason=f"{po.number} sent", actor=actor, stocks=stocks
        )
    return po


@transaction.atomic
def purchase_order_send(*, purchase_order: PurchaseOrder, actor: Any = None) -> PurchaseOrder:
    stocks = lock_stocks(product_ids=_po_product_ids(purchase_order))
    po = inventory_services.purchase_order_send(purchase_order=purchase_order, actor=actor)
    _eta_refresh_products(
        product_ids=stocks, reason=f"{po.number} sent", actor=actor, stocks=stocks
    )
    return po


@transaction.atomic
def purchase_order_line_reschedule(
    *, line: PurchaseOrderLine, expected_date: dt.date, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    """Change a PO line's expected date; the ETAs of the lines it covers move with it."""
    stocks = lock_stocks(product_ids=[line.product_id])
    line = inventory_services.purchase_order_line_reschedule(
        line=line, expected_date=expected_date, reason=reason, actor=actor
    )
    _eta_refresh_products(
        product_ids=stocks,
        reason=reason.strip(),
        actor=actor,
        stocks=stocks,
        public_reason=reason.strip(),
    )
    return line


@transaction.atomic
def purchase_order_line_receive(
    *, line: PurchaseOrderLine, quantity: int, actor: Any = None
) -> StockMovement:
    """Receive against a PO line; the allocation task hands the units out after commit."""
    movement = inventory_services.purchase_order_line_receive(
        line=line, quantity=quantity, actor=actor
    )
    _allocation_enqueue(line.product_id)
    return movement


@transaction.atomic
def purchase_order_cancel(
    *, purchase_order: PurchaseOrder, reason: str, actor: Any = None
) -> PurchaseOrder:
    """Cancel a PO: the lines it would have covered fall back to later supply or lead time."""
    stocks = lock_stocks(product_ids=_po_product_ids(purchase_order))
    po = inventory_services.purchase_order_cancel(
        purchase_order=purchase_order, reason=reason, actor=actor
    )
    _eta_refresh_products(
        product_ids=stocks, reason=f"{po.number} cancelled", actor=actor, stocks=stocks
    )
    return po


@transaction.atomic
def purchase_order_line_cancel(
    *, line: PurchaseOrderLine, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    stocks = lock_stocks(product_ids=[line.product_id])
    line = inventory_services.purchase_order_line_cancel(line=line, reason=reason, actor=actor)
    _eta_refresh_products(
        product_ids=stocks,
        reason=f"{line.purchase_order.number} line cancelled",
        actor=actor,
        stocks=stocks,
    )
    return line


@transaction.atomic
def product_discontinue(*, product: Product, actor: Any = None) -> Product:
    """Discontinue a product: no new backorders, and waiting lines' ETAs become unknown."""
    stocks = lock_stocks(product_ids=[product.pk])
    product = inventory_services.product_discontinue(product=product, actor=actor)
    _eta_refresh_products(
        product_ids=stocks,
        reason="product discontinued",
        actor=actor,
        stocks=stocks,
        public_reason="product discontinued",
    )
    return product


# --- replenishment ------------------------------------------------------------------------


@transaction.atomic
def low_stock_alerts_record(*, now: dt.datetime | None = None) -> int:
    """Record today's low-stock alerts, one per product per day; returns how many are new."""
    today = store_today(now)
    # Annotated rows (on_hand, suggested_quantity, ...): typed Any for the type checker.
    replenishment: Any = product_replenishment()
    rows = replenishment.filter(suggested_quantity__gt=0)
    alerts = [
        LowStockAlert(
            product_id=p.pk,
            date=today,
            on_hand=p.on_hand,
            available=p.available,
            backordered=p.backordered,
            incoming=p.incoming,
            projected=p.projected,
            suggested_quantity=p.suggested_quantity,
        )
        for p in rows
    ]
    before = LowStockAlert.objects.filter(date=today).count()
    LowStockAlert.objects.bulk_create(alerts, ignore_conflicts=True)
    return LowStockAlert.objects.filter(date=today).count() - before


@transaction.atomic
def purchase_orders_from_suggestions(
    *, product_ids: Iterable[int], send: bool = False, actor: Any = None
) -> list[PurchaseOrder]:
    """Turn chosen reorder suggestions into draft purchase orders, one per supplier."""
    ids = list(product_ids)
    replenishment: Any = product_replenishment()
    rows: list[Any] = list(replenishment.filter(pk__in=ids).order_by("sku"))
    errors = [f"{p.sku}: no preferred supplier." for p in rows if p.preferred_supplier is None]
    errors += [f"{p.sku}: nothing to reorder." for p in rows if p.suggested_quantity <= 0]
    missing = set(ids) - {p.pk for p in rows}
    errors += [f"Product {pk} does not exist." for pk in sorted(missing)]
    if errors:
        raise ValidationError(errors)
    today = store_today()
    by_supplier: dict[Supplier, list[PurchaseLineRequest]] = defaultdict(list)
    for product in rows:
        supplier = product.preferred_supplier
        assert supplier is not None  # noqa: S101 - checked above
        lead = product.effective_lead_time_days or supplier.lead_time_days
        by_supplier[supplier].append(
            PurchaseLineRequest(
                product=product,
                quantity=product.suggested_quantity,
                expected_date=today + dt.timedelta(days=lead),
            )
        )
    return [
        purchase_order_create(
            supplier=supplier, lines=lines, send=send, note="From reorder suggestions", actor=actor
        )
        for supplier, lines in sorted(by_supplier.items(), key=lambda item: item[0].name)
    ]


@transaction.atomic
def order_flag_unreachable(*, order_id: int, reason: str) -> Order:
    """Flag that the customer cannot be reached by email (a hard bounce or a complaint)."""
    order = lock_order(order_id=order_id)
    if order.customer_unreachable_at is None:
        order.customer_unreachable_at = timezone.now()
        order.customer_unreachable_reason = reason[:200]
        order.save(update_fields=["customer_unreachable_at", "customer_unreachable_reason"])
        _events_record(
            [
                OrderEvent(
                    order=order,
                    kind=OrderEvent.Kind.NOTE,
                    message=f"Customer unreachable by email: {reason}"[:300],
                    data={"unreachable": reason},
                )
            ]
        )
    return order


# --- payment ----------------------------------------------------------------------------


@transaction.atomic
def order_payment_dishonoured(*, order: Order, reason: str, actor: Any = None) -> Order:
    """A check bounced or a card was refused: the order is no longer properly completed."""
    reason = _required_reason(reason, what="Recording a failed payment")
    order = lock_order(order_id=order.pk)
    if order.paid_at is None:
        raise ValidationError(f"Order {order.number} has no payment on record.")
    previous = order.paid_at
    order.paid_at = None
    # The money never arrived: nothing is owed back for it either.
    order.amount_paid = order.amount_refunded
    order.amount_captured = min(order.amount_captured, order.amount_paid)
    order.save(update_fields=["paid_at", "amount_paid", "amount_captured"])
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.PAYMENT,
                message=f"Payment dishonoured: {reason}",
                data={
                    "dishonoured": True,
                    "previous_paid_at": previous.isoformat(),
                    "reason": reason,
                },
                actor=_user(actor),
            )
        ]
    )
    return order


@transaction.atomic
def order_payment_received(
    *, order: Order, at: dt.datetime | None = None, actor: Any = None
) -> Order:
    """Good payment arrived: from now on the order is properly completed (its t0)."""
    order = lock_order(order_id=order.pk)
    if order.paid_at is not None:
        raise ValidationError(f"Order {order.number} is already paid.")
    order.paid_at = at or timezone.now()
    if order.amount_paid == 0:
        order.amount_paid = _money(
            order.shipping_charge
            + sum((x.unit_price * x.quantity for x in order.lines.all()), Decimal("0"))
        )
        if settings.PAYMENT_CAPTURE == "order":
            order.amount_captured = order.amount_paid
    order.save(update_fields=["paid_at", "amount_paid", "amount_captured"])
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.PAYMENT,
                message=f"Payment received: {order.amount_paid}",
                data={"paid_at": order.paid_at.isoformat(), "amount": str(order.amount_paid)},
                actor=_user(actor),
            )
        ]
    )
    return order


@transaction.atomic
def order_rule_record(
    *, order: Order, message: str, data: dict[str, Any], actor: Any = None
) -> OrderEvent:
    """Record a Mail Order Rule decision (deadline, notice, consent) in the order's timeline."""
    return _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.MAIL_ORDER_RULE,
                message=message[:300],
                data=data,
                actor=_user(actor),
            )
        ]
    )[0]


@transaction.atomic
def line_substitute(
    *, line: OrderLine, substitute: Product, reason: str, actor: Any = None
) -> OrderLine:
    """The customer expressly accepted a substitute for a line's backordered units: the
    substitute takes them from stock at the original price, and the original units are
    cancelled (no refund is owed for them: they are paid for by the substitute)."""
    reason = _required_reason(reason, what="A substitution")
    stocks = lock_stocks(product_ids=[line.product_id, substitute.pk])
    order = lock_order(order_id=line.order_id)
    line = OrderLine.objects.select_related("product").get(pk=line.pk)
    units = line.backordered
    if units <= 0:
        raise ValidationError(f"{line.product.sku}: nothing is waiting on this line.")
    if substitute.pk == line.product_id or substitute.is_discontinued:
        raise ValidationError(f"{substitute.sku} cannot stand in for {line.product.sku}.")
    total, ahead = waiting_units(product_ids=[substitute.pk])
    decision = line_decision(
        product=substitute,
        quantity=units,
        available=stocks[substitute.pk].available,
        waiting_ahead=ahead[substitute.pk],
        waiting_total=total[substitute.pk],
        incoming=0,
    )
    if decision.backordered:
        raise ValidationError(f"{substitute.sku}: only {decision.take} in stock, {units} needed.")
    now = timezone.now()
    OrderLine.objects.filter(pk=line.pk).update(
        quantity_cancelled=F("quantity_cancelled") + units,
        quantity_substituted=F("quantity_substituted") + units,
    )
    new_line = OrderLine.objects.create(
        order=order,
        product=substitute,
        quantity=units,
        unit_price=line.unit_price,
        quantity_allocated=units,
        priority=line.priority,
        queued_at=now,
        last_allocated_at=now,
    )
    Stock.objects.filter(pk=substitute.pk).update(allocated=F("allocated") + units, updated_at=now)
    stocks[substitute.pk].allocated += units
    _events_record(
        [
            OrderEvent(
                order=order,
                kind=OrderEvent.Kind.SUBSTITUTED,
                message=f"{units} × {substitute.sku} instead of {line.product.sku}: {reason}",
                data={
                    "line": line.pk,
                    "new_line": new_line.pk,
                    "sku": line.product.sku,
                    "substitute": substitute.sku,
                    "units": units,
                    "reason": reason,
                },
                actor=_user(actor),
            )
        ]
    )
    _eta_refresh_locked(product_id=line.product_id, now=now, reason="a line was substituted")
    return new_line

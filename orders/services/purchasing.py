"""Purchase orders as they move ETAs: every change refreshes the dates of the lines it covers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.calendar import store_today
from config.formats import count_noun, format_date, format_money
from inventory.bounds import MAX_QUANTITY, validate_plausible_date
from inventory.locks import lock_stock, lock_stocks
from inventory.models import (
    Product,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    PurchaseReceipt,
    StockMovement,
    Supplier,
)
from inventory.services import PurchaseLineRequest
from inventory.stock import stock_movement_record

from ._common import _allocation_enqueue, _placeholder_number, _user
from .eta import EtaChangeResult, _eta_refresh_products

# --- the purchase order's own rows and history (callers hold the stock locks) -----------


def _discontinue(*, product: Product, actor: Any = None) -> Product:
    """Mark a product discontinued: it accepts no new backorders from now on."""
    if product.is_discontinued:
        return product
    product.is_discontinued = True
    product.discontinued_at = timezone.now()
    product.save(update_fields=["is_discontinued", "discontinued_at"])
    return product


def _po_event(
    *,
    po: PurchaseOrder,
    message: str,
    actor: Any,
    line: PurchaseOrderLine | None = None,
    **data: Any,
) -> None:
    PurchaseOrderEvent.objects.create(
        purchase_order=po, line=line, message=message, data=data, actor=_user(actor)
    )


def _lock_po(po_id: int) -> PurchaseOrder:
    return PurchaseOrder.objects.select_for_update(of=("self",)).get(pk=po_id)


def _expected_date_errors(expected_date: dt.date) -> list[str]:
    """A supplier's expected date lies within the plausible range (past dates are refused by
    the forms people type in; imports and history may record them)."""
    try:
        validate_plausible_date(expected_date)
    except ValidationError as exc:
        return exc.messages
    return []


def _unit_cost_errors(unit_cost: Decimal | None) -> list[str]:
    """A unit cost is optional; given, it is a whole number of cents from 0 that fits the
    column (bulk_create skips the field validators)."""
    if unit_cost is None:
        return []
    field = PurchaseOrderLine._meta.get_field("unit_cost")
    try:
        field.clean(unit_cost, None)
    except ValidationError as exc:
        return [f"unit cost: {message}" for message in exc.messages]
    return []


def _po_create(
    *,
    supplier: Supplier,
    lines: Sequence[PurchaseLineRequest],
    send: bool = False,
    note: str = "",
    actor: Any = None,
) -> PurchaseOrder:
    """Create a purchase order (a draft, or sent at once with send=True)."""
    errors = []
    if not lines:
        errors.append("A purchase order needs at least one line.")
    for number, req in enumerate(lines, start=1):
        if isinstance(req.quantity, bool) or not isinstance(req.quantity, int) or req.quantity <= 0:
            errors.append(f"Line {number} ({req.product.sku}): quantity must be at least 1.")
        elif req.quantity > MAX_QUANTITY:
            errors.append(
                f"Line {number} ({req.product.sku}): at most {MAX_QUANTITY:,} units per line."
            )
        errors.extend(
            f"Line {number} ({req.product.sku}): {message}"
            for message in _expected_date_errors(req.expected_date)
        )
        if req.product.is_discontinued:
            errors.append(f"Line {number} ({req.product.sku}): the product is discontinued.")
        errors.extend(
            f"Line {number} ({req.product.sku}): {message}"
            for message in _unit_cost_errors(req.unit_cost)
        )
    if errors:
        raise ValidationError(errors)
    po = PurchaseOrder.objects.create(
        number=_placeholder_number(), supplier=supplier, note=note.strip(), created_by=_user(actor)
    )
    po.number = f"PO-{po.pk:06d}"
    PurchaseOrder.objects.filter(pk=po.pk).update(number=po.number)
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            purchase_order=po,
            product=req.product,
            quantity_ordered=req.quantity,
            expected_date=req.expected_date,
            promised_date=req.expected_date,
            unit_cost=req.unit_cost,
        )
        for req in lines
    )
    _po_event(po=po, message=f"Created with {count_noun(len(lines), 'line')}", actor=actor)
    if send:
        _send(po=po, actor=actor)
    return po


def _send(*, po: PurchaseOrder, actor: Any) -> None:
    po.status = PurchaseOrder.Status.SENT
    po.sent_at = timezone.now()
    po.save(update_fields=["status", "sent_at"])
    _po_event(po=po, message=f"Sent to {po.supplier.name}", actor=actor)


def _required_reason(reason: str | None, needs: str) -> str:
    """The reason given, stripped; refused when blank ("<needs> needs a reason.")."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(f"{needs} needs a reason.")
    return reason


def _lock_line(line: PurchaseOrderLine) -> tuple[PurchaseOrder, PurchaseOrderLine]:
    """The line's purchase order, locked, and the line as it is now (with its product)."""
    po = _lock_po(line.purchase_order_id)
    return po, PurchaseOrderLine.objects.select_related("product").get(pk=line.pk)


def _po_send(*, purchase_order: PurchaseOrder, actor: Any = None) -> PurchaseOrder:
    """Send a draft: its lines count as incoming supply from now on."""
    po = _lock_po(purchase_order.pk)
    if po.status != PurchaseOrder.Status.DRAFT:
        raise ValidationError(f"{po.number} is {po.get_status_display().lower()}, not a draft.")
    _send(po=po, actor=actor)
    return po


def _po_line_reschedule(
    *, line: PurchaseOrderLine, expected_date: dt.date, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    """Change when a line is expected, with the supplier's reason."""
    reason = _required_reason(reason, "Changing an expected date")
    po, line = _lock_line(line)
    if po.status in (PurchaseOrder.Status.CANCELLED, PurchaseOrder.Status.RECEIVED):
        raise ValidationError(f"{po.number} is {po.get_status_display().lower()}.")
    if line.is_cancelled or line.quantity_outstanding == 0:
        raise ValidationError(f"{po.number} line for {line.product.sku} has nothing outstanding.")
    if problems := _expected_date_errors(expected_date):
        raise ValidationError(problems)
    old = line.expected_date
    if old == expected_date:
        raise ValidationError(f"{po.number}: {line.product.sku} is already expected on {old}.")
    line.expected_date = expected_date
    line.reschedule_count += 1
    if line.promised_date is None:
        line.promised_date = old
    line.save(update_fields=["expected_date", "reschedule_count", "promised_date"])
    _po_event(
        po=po,
        line=line,
        message=f"{line.product.sku} now expected {format_date(expected_date)} "
        f"(was {format_date(old)}): {reason}",
        actor=actor,
        old=old.isoformat(),
        new=expected_date.isoformat(),
        reason=reason,
    )
    return line


def _refresh_po_status(po: PurchaseOrder) -> None:
    """Closed when every line is received or cancelled: received if anything arrived."""
    lines = list(po.lines.all())
    received_any = any(line.quantity_received for line in lines)
    if all(line.quantity_outstanding == 0 for line in lines):
        status = PurchaseOrder.Status.RECEIVED if received_any else PurchaseOrder.Status.CANCELLED
    elif received_any:
        status = PurchaseOrder.Status.PARTIALLY_RECEIVED
    else:
        status = PurchaseOrder.Status(po.status)
    if status != po.status:
        po.status = status
        if status == PurchaseOrder.Status.CANCELLED:
            po.cancelled_at = timezone.now()
        po.save(update_fields=["status", "cancelled_at"])


def _po_line_receive(*, line: PurchaseOrderLine, quantity: int, actor: Any = None) -> StockMovement:
    """Receive units against a PO line: a receipt movement referencing the PO.

    Allocation to the waiting lines is the caller's next step.
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError("Quantity received must be a whole number above zero.")
    stock = lock_stock(product_id=line.product_id)
    po, line = _lock_line(line)
    if po.status == PurchaseOrder.Status.CANCELLED or line.is_cancelled:
        raise ValidationError(f"{po.number} is cancelled; receive without a PO instead.")
    if po.status == PurchaseOrder.Status.DRAFT:
        raise ValidationError(f"{po.number} is a draft; send it before receiving against it.")
    outstanding = line.quantity_ordered - line.quantity_received
    if quantity > outstanding:
        raise ValidationError(
            f"{po.number}: only {outstanding} of {line.product.sku} outstanding; "
            f"cannot receive {quantity}."
        )
    PurchaseOrderLine.objects.filter(pk=line.pk).update(
        quantity_received=F("quantity_received") + quantity
    )
    movement = stock_movement_record(
        stock=stock,
        kind=StockMovement.Kind.RECEIPT,
        quantity=quantity,
        reason="Received against purchase order",
        reference=po.number,
        actor=_user(actor),
    )
    received_on = store_today()
    promised = line.first_promised_date
    PurchaseReceipt.objects.create(
        line=line,
        supplier_id=po.supplier_id,
        movement=movement,
        quantity=quantity,
        received_on=received_on,
        promised_date=promised,
        expected_date=line.expected_date,
        slip_days=(received_on - promised).days,
        slip_days_expected=(received_on - line.expected_date).days,
        date_moves=line.reschedule_count,
    )
    _po_event(
        po=po,
        line=line,
        message=f"Received {quantity} × {line.product.sku}",
        actor=actor,
        quantity=quantity,
    )
    _refresh_po_status(po)
    return movement


def _po_cancel(*, purchase_order: PurchaseOrder, reason: str, actor: Any = None) -> PurchaseOrder:
    """Cancel everything still outstanding on a purchase order."""
    reason = _required_reason(reason, "Cancelling a purchase order")
    po = _lock_po(purchase_order.pk)
    if po.status in (PurchaseOrder.Status.CANCELLED, PurchaseOrder.Status.RECEIVED):
        raise ValidationError(f"{po.number} is already {po.get_status_display().lower()}.")
    po.lines.filter(quantity_received__lt=F("quantity_ordered")).update(is_cancelled=True)
    _po_event(po=po, message=f"Cancelled: {reason}", actor=actor, reason=reason)
    _refresh_po_status(po)
    return po


def _po_line_cancel(
    *, line: PurchaseOrderLine, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    """Cancel a line's outstanding units (what was received stays received)."""
    reason = _required_reason(reason, "Cancelling a purchase order line")
    po, line = _lock_line(line)
    if line.is_cancelled or line.quantity_outstanding == 0:
        raise ValidationError(f"{po.number}: {line.product.sku} has nothing outstanding.")
    # What was received stays received; the rest will not come.
    line.is_cancelled = True
    line.save(update_fields=["is_cancelled"])
    _po_event(
        po=po,
        line=line,
        message=f"{line.product.sku} cancelled: {reason}",
        actor=actor,
        reason=reason,
    )
    _refresh_po_status(po)
    return line


@transaction.atomic
def purchase_order_line_cost_set(
    *, line: PurchaseOrderLine, unit_cost: Decimal | None, actor: Any = None
) -> PurchaseOrderLine:
    """Record (or clear) what the supplier charges per unit on a line; ETAs do not move."""
    po, line = _lock_line(line)
    errors = _unit_cost_errors(unit_cost)
    if errors:
        raise ValidationError([f"{po.number}: {line.product.sku} {m}" for m in errors])
    if line.unit_cost == unit_cost:
        return line
    previous = line.unit_cost
    line.unit_cost = unit_cost
    line.save(update_fields=["unit_cost"])
    cost = "no cost" if unit_cost is None else format_money(unit_cost)
    _po_event(
        po=po,
        line=line,
        message=f"{line.product.sku} unit cost set to {cost}",
        actor=actor,
        previous=None if previous is None else str(previous),
        unit_cost=None if unit_cost is None else str(unit_cost),
    )
    return line


# --- the services: each change also moves the ETAs of the lines it covers ----------------


@dataclass
class RescheduleResult:
    """What moving a PO line's expected date did."""

    line: PurchaseOrderLine
    etas: EtaChangeResult


def _po_product_ids(purchase_order: PurchaseOrder) -> list[int]:
    return list(purchase_order.lines.values_list("product_id", flat=True))


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
    po = _po_create(supplier=supplier, lines=lines, send=send, note=note, actor=actor)
    if send:
        _eta_refresh_products(
            product_ids=stocks, reason=f"{po.number} sent", actor=actor, stocks=stocks
        )
    return po


@transaction.atomic
def purchase_order_send(*, purchase_order: PurchaseOrder, actor: Any = None) -> PurchaseOrder:
    stocks = lock_stocks(product_ids=_po_product_ids(purchase_order))
    po = _po_send(purchase_order=purchase_order, actor=actor)
    _eta_refresh_products(
        product_ids=stocks, reason=f"{po.number} sent", actor=actor, stocks=stocks
    )
    return po


@transaction.atomic
def purchase_order_line_reschedule(
    *, line: PurchaseOrderLine, expected_date: dt.date, reason: str, actor: Any = None
) -> RescheduleResult:
    """Change a PO line's expected date; the ETAs of the lines it covers move with it.

    The result says how many waiting lines' ETAs changed and how many customers' dates moved.
    """
    stocks = lock_stocks(product_ids=[line.product_id])
    line = _po_line_reschedule(line=line, expected_date=expected_date, reason=reason, actor=actor)
    etas = _eta_refresh_products(
        product_ids=stocks,
        reason=reason.strip(),
        actor=actor,
        stocks=stocks,
        public_reason=reason.strip(),
    )
    return RescheduleResult(line=line, etas=etas.count_customers())


@transaction.atomic
def purchase_order_line_receive(
    *, line: PurchaseOrderLine, quantity: int, actor: Any = None
) -> StockMovement:
    """Receive against a PO line; the allocation task hands the units out after commit."""
    movement = _po_line_receive(line=line, quantity=quantity, actor=actor)
    _allocation_enqueue(line.product_id)
    return movement


@transaction.atomic
def purchase_order_cancel(
    *, purchase_order: PurchaseOrder, reason: str, actor: Any = None
) -> PurchaseOrder:
    """Cancel a PO: the lines it would have covered fall back to later supply or lead time."""
    stocks = lock_stocks(product_ids=_po_product_ids(purchase_order))
    po = _po_cancel(purchase_order=purchase_order, reason=reason, actor=actor)
    _eta_refresh_products(
        product_ids=stocks, reason=f"{po.number} cancelled", actor=actor, stocks=stocks
    )
    return po


@transaction.atomic
def purchase_order_line_cancel(
    *, line: PurchaseOrderLine, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    stocks = lock_stocks(product_ids=[line.product_id])
    line = _po_line_cancel(line=line, reason=reason, actor=actor)
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
    product = _discontinue(product=product, actor=actor)
    _eta_refresh_products(
        product_ids=stocks,
        reason="product discontinued",
        actor=actor,
        stocks=stocks,
        public_reason="product discontinued",
    )
    return product

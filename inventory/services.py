from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .bounds import MAX_QUANTITY, validate_plausible_date
from .locks import lock_stock
from .models import (
    Product,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Stock,
    StockMovement,
    Supplier,
)


@transaction.atomic
def product_create(*, on_hand: int = 0, actor: Any = None, **fields: Any) -> Product:
    """Create a product with its stock row; opening stock is recorded as a receipt."""
    product = Product(**fields)
    product.full_clean()
    product.save()
    stock = Stock.objects.create(product=product)
    if on_hand:
        stock_movement_record(
            stock=stock,
            kind=StockMovement.Kind.RECEIPT,
            quantity=on_hand,
            reason="Opening stock",
            actor=actor,
        )
    return product


def stock_movement_record(
    *,
    stock: Stock,
    kind: str,
    quantity: int,
    reason: str,
    reference: str = "",
    actor: Any = None,
    allocated_delta: int = 0,
) -> StockMovement:
    """Change on hand by a signed quantity and write its ledger row.

    The caller holds the stock lock (see locks.py) and its transaction.
    """
    if quantity == 0:
        raise ValidationError("A stock movement needs a quantity other than zero.")
    if not reason.strip():
        raise ValidationError("A stock movement needs a reason.")
    if stock.on_hand + quantity < stock.allocated + allocated_delta:
        raise ValidationError(f"{stock.product_id}: on hand would fall below what is allocated.")
    Stock.objects.filter(pk=stock.pk).update(
        on_hand=F("on_hand") + quantity,
        allocated=F("allocated") + allocated_delta,
        updated_at=timezone.now(),
    )
    stock.on_hand += quantity
    stock.allocated += allocated_delta
    return StockMovement.objects.create(
        product_id=stock.pk,
        kind=kind,
        quantity=quantity,
        reason=reason.strip(),
        reference=reference,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )


@transaction.atomic
def product_discontinue(*, product: Product, actor: Any = None) -> Product:
    """Mark a product discontinued: it accepts no new backorders from now on."""
    if product.is_discontinued:
        return product
    product.is_discontinued = True
    product.discontinued_at = timezone.now()
    product.save(update_fields=["is_discontinued", "discontinued_at"])
    return product


# --- suppliers and purchase orders -------------------------------------------------------


@dataclass(frozen=True)
class PurchaseLineRequest:
    product: Product
    quantity: int
    expected_date: dt.date


@transaction.atomic
def supplier_create(*, name: str, email: str = "", lead_time_days: int = 14) -> Supplier:
    supplier = Supplier(name=name.strip(), email=email.strip(), lead_time_days=lead_time_days)
    supplier.full_clean()
    supplier.save()
    return supplier


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


def _user(actor: Any) -> Any:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


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


@transaction.atomic
def purchase_order_create(
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
    if errors:
        raise ValidationError(errors)
    po = PurchaseOrder.objects.create(
        number="", supplier=supplier, note=note.strip(), created_by=_user(actor)
    )
    po.number = f"PO-{po.pk:06d}"
    PurchaseOrder.objects.filter(pk=po.pk).update(number=po.number)
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(
            purchase_order=po,
            product=req.product,
            quantity_ordered=req.quantity,
            expected_date=req.expected_date,
        )
        for req in lines
    )
    _po_event(po=po, message=f"Created with {len(lines)} lines", actor=actor)
    if send:
        _send(po=po, actor=actor)
    return po


def _send(*, po: PurchaseOrder, actor: Any) -> None:
    po.status = PurchaseOrder.Status.SENT
    po.sent_at = timezone.now()
    po.save(update_fields=["status", "sent_at"])
    _po_event(po=po, message=f"Sent to {po.supplier.name}", actor=actor)


@transaction.atomic
def purchase_order_send(*, purchase_order: PurchaseOrder, actor: Any = None) -> PurchaseOrder:
    """Send a draft: its lines count as incoming supply from now on."""
    po = _lock_po(purchase_order.pk)
    if po.status != PurchaseOrder.Status.DRAFT:
        raise ValidationError(f"{po.number} is {po.get_status_display().lower()}, not a draft.")
    _send(po=po, actor=actor)
    return po


@transaction.atomic
def purchase_order_line_reschedule(
    *, line: PurchaseOrderLine, expected_date: dt.date, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    """Change when a line is expected, with the supplier's reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Changing an expected date needs a reason.")
    po = _lock_po(line.purchase_order_id)
    line = PurchaseOrderLine.objects.select_related("product").get(pk=line.pk)
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
    line.save(update_fields=["expected_date"])
    _po_event(
        po=po,
        line=line,
        message=f"{line.product.sku} now expected {expected_date:%Y-%m-%d} "
        f"(was {old:%Y-%m-%d}): {reason}",
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


@transaction.atomic
def purchase_order_line_receive(
    *, line: PurchaseOrderLine, quantity: int, actor: Any = None
) -> StockMovement:
    """Receive units against a PO line: a receipt movement referencing the PO.

    Allocation to the waiting lines is the caller's next step (orders.services).
    """
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise ValidationError("Quantity received must be a whole number above zero.")
    stock = lock_stock(product_id=line.product_id)
    po = _lock_po(line.purchase_order_id)
    line = PurchaseOrderLine.objects.select_related("product").get(pk=line.pk)
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
    _po_event(
        po=po,
        line=line,
        message=f"Received {quantity} × {line.product.sku}",
        actor=actor,
        quantity=quantity,
    )
    _refresh_po_status(po)
    return movement


@transaction.atomic
def purchase_order_cancel(
    *, purchase_order: PurchaseOrder, reason: str, actor: Any = None
) -> PurchaseOrder:
    """Cancel everything still outstanding on a purchase order."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Cancelling a purchase order needs a reason.")
    po = _lock_po(purchase_order.pk)
    if po.status in (PurchaseOrder.Status.CANCELLED, PurchaseOrder.Status.RECEIVED):
        raise ValidationError(f"{po.number} is already {po.get_status_display().lower()}.")
    po.lines.filter(quantity_received__lt=F("quantity_ordered")).update(is_cancelled=True)
    _po_event(po=po, message=f"Cancelled: {reason}", actor=actor, reason=reason)
    _refresh_po_status(po)
    return po


@transaction.atomic
def purchase_order_line_cancel(
    *, line: PurchaseOrderLine, reason: str, actor: Any = None
) -> PurchaseOrderLine:
    """Cancel a line's outstanding units (what was received stays received)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Cancelling a purchase order line needs a reason.")
    po = _lock_po(line.purchase_order_id)
    line = PurchaseOrderLine.objects.select_related("product").get(pk=line.pk)
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

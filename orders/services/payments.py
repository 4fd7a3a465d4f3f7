"""Payments and refunds: what is owed back, by when, and recording that it went back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from config.calendar import add_working_days, store_date, store_today
from config.formats import format_date, format_money
from orders.money import shipping_rate_by_table, to_cents

from ..locks import lock_order
from ..models import Order, OrderEvent, OrderLine, Refund
from ..selectors import active_shipping_rate
from ._common import _events_record, _required_reason, _user


def refund_due_date(*, vested_at: dt.datetime, payment_method: str) -> dt.date:
    """7 working days, or one billing cycle when the shop is the creditor (store credit)."""
    vested_on = store_date(vested_at)
    if payment_method == Order.PaymentMethod.STORE_CREDIT:
        return vested_on + dt.timedelta(days=settings.STORE_CREDIT_BILLING_DAYS)
    return add_working_days(vested_on, 7)


def shipping_rate_for(subtotal: Decimal, items: int = 0) -> Decimal:
    """What the store charges to ship `items` units worth `subtotal`: its rate table in use,
    else the settings' flat rate."""
    return shipping_rate_by_table(subtotal, items, table=active_shipping_rate())


def _refund_obligation_create(
    *, order: Order, amount: Decimal, reason: str, now: dt.datetime, line: OrderLine | None = None
) -> Refund | None:
    """Owe the customer `amount`, never more than they paid and are not yet owed."""
    return _refund_obligations_create(owed=[(order, amount, reason, now, line)]).get(order.pk)


def _refund_obligations_create(
    *, owed: Sequence[tuple[Order, Decimal, str, dt.datetime, OrderLine | None]]
) -> dict[int, Refund]:
    """Owe several orders (one refund each, by order id) in one read and one insert; each
    amount is capped at what that order paid and is not yet owed."""
    paying = [row for row in owed if row[0].amount_paid > 0]
    if not paying:
        return {}
    already = dict(
        Refund.objects.filter(order_id__in=[row[0].pk for row in paying])
        .values("order_id")
        .annotate(total=Sum("amount"))
        .values_list("order_id", "total")
    )
    refunds = []
    for order, amount, reason, now, line in paying:
        capped = min(to_cents(amount), order.amount_paid - already.get(order.pk, Decimal("0")))
        if capped > 0:
            refunds.append(
                Refund(
                    order=order,
                    order_line=line,
                    amount=capped,
                    reason=reason,
                    vested_at=now,
                    due_date=refund_due_date(vested_at=now, payment_method=order.payment_method),
                )
            )
    return {refund.order_id: refund for refund in Refund.objects.bulk_create(refunds)}


@transaction.atomic
def refund_mark_issued(*, refund: Refund, reference: str, actor: Any = None) -> Refund:
    """Record that the money went back to the customer, and how."""
    reference = _required_reason(reference, what="Marking a refund issued")
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.issued_at is not None:
        raise ValidationError(f"This refund was already issued on {format_date(refund.issued_at)}.")
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
            f"This refund's failure was already recorded on {format_date(refund.failed_at)}."
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
                message=f"Refund of {format_money(refund.amount)} failed ({reason}): now owed by "
                f"{REFUND_OTHER_METHODS[method]} by {format_date(refund.due_date)}"[:300],
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
        order.amount_paid = to_cents(
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

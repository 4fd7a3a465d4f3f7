"""The FTC Mail Order Rule engine: deadlines, option notices, consent, cancellation.

One function decides for an order (`order_rule_evaluate`); it runs in the flow that changes an
ETA and hourly from beat. It is idempotent: every notice has a decision key, so running it
twice (or in two processes at once) never sends the same notice twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.calendar import store_date
from config.celery import publish_on_commit
from config.formats import format_date
from orders.models import Order, OrderEvent, OrderLine
from orders.services import Cancellation, lines_cancel_batch

from ..models import DelayNotice, OrderCompliance
from ..selectors import (
    exemption,
    latest_delay_notices,
    order_outlook,
    shipment_deadline,
)
from ._common import (
    GRACE,
    Branch,
    RuleBatch,
    State,
    _cancel_under_rule,
    _fmt,
    _lock_stocks_then_order,
    _record,
    _ship_by_store,
)
from .notices import _notice, _notice_reached, _notices_close


class StaleEtas(Exception):
    """A decision that depends on ETAs the batch's cancellations are about to change: the
    order is decided again, alone, once they are refreshed."""


@transaction.atomic
def order_rule_evaluate(*, order_id: int, now: dt.datetime | None = None) -> OrderCompliance | None:
    """Decide what the rule requires of one order right now, and do it."""
    if not settings.MAIL_ORDER_RULE_ENABLED:
        return None
    # Stock rows first, then the order, as shipping and receiving take them: a decision may
    # cancel lines (and so lock their stock) while staff ship the same order.
    order = _lock_stocks_then_order(order_id=order_id)
    compliance = _evaluate_locked(order=order, now=now or timezone.now())
    _ship_by_store(order_ids=[order_id])
    return compliance


def _evaluate_locked(
    *,
    order: Order,
    now: dt.datetime,
    batch: RuleBatch | None = None,
    lines: list[OrderLine] | None = None,
    compliance: OrderCompliance | None = None,
    notices: Mapping[int, DelayNotice] | None = None,
) -> OrderCompliance:
    """Decide for a locked order (its products' stock locked first), from its lines, rule
    state and latest notice as read under the lock (read here unless the caller read them for
    many orders).
    Within a batch, a cancellation is made at the end of the batch, and a decision on ETAs
    that the batch's cancellations change raises StaleEtas."""
    today = store_date(now)
    if lines is None:
        lines = list(OrderLine.objects.filter(order=order).select_related("product"))
    if compliance is None:
        compliance, _ = OrderCompliance.objects.get_or_create(order=order)
    if compliance.engine_failure:
        compliance.engine_failure, compliance.engine_failed_at = "", None
        compliance.save(update_fields=["engine_failure", "engine_failed_at", "updated_at"])

    exempt = exemption(order=order, lines=lines)
    if exempt:
        if compliance.state != State.EXEMPT:
            compliance.state, compliance.exempt_reason = State.EXEMPT, exempt
            compliance.save()
            _record(order, exempt)
        return compliance

    if _discontinued_cancel(order=order, lines=lines, batch=batch):
        lines = list(OrderLine.objects.filter(order=order).select_related("product"))

    if order.paid_at is None:
        if compliance.state != State.AWAITING_PAYMENT:
            voided = _void_notices_and_consent(compliance)
            compliance.state = State.AWAITING_PAYMENT
            compliance.properly_completed_at = None
            compliance.deadline = None
            compliance.save()
            _record(
                order,
                "Not properly completed: waiting for good payment; no deadline yet."
                + (" Earlier delay notices and consent no longer count." if voided else ""),
            )
        return compliance

    if compliance.properly_completed_at != order.paid_at or compliance.deadline is None:
        deadline = shipment_deadline(order=order, properly_completed_at=order.paid_at)
        moved = compliance.deadline is not None
        # A payment refused and made good again moves t0: whatever was sent or agreed under the
        # old t0 no longer counts, and the new deadline needs its own notice if it is missed.
        voided = _void_notices_and_consent(compliance)
        compliance.properly_completed_at = order.paid_at
        compliance.deadline, compliance.basis = deadline.date, deadline.basis
        if compliance.state == State.AWAITING_PAYMENT or voided:
            compliance.state = State.ON_TIME
        if voided:
            _record(order, "The payment moved: earlier delay notices and consent no longer count.")
        compliance.save()
        _record(
            order,
            f"{'Deadline moved' if moved else 'Deadline'}: ship by {format_date(deadline.date)} "
            f"({OrderCompliance.Basis(deadline.basis).label.lower()}).",
            t0=order.paid_at.isoformat(),
            deadline=deadline.date.isoformat(),
            basis=deadline.basis,
        )
    deadline_t = compliance.deadline
    assert deadline_t is not None  # noqa: S101 - set just above

    outlook = order_outlook(lines=lines, today=today)
    if notices is None:
        notices = latest_delay_notices(order_ids=[order.pk])
    _notices_close(order=order, compliance=compliance, lines=lines, now=now, notices=notices)
    if not outlook.open_lines:
        final = State.SHIPPED if outlook.shipped_any else State.CANCELLED
        if compliance.state != final:
            compliance.state = final
            compliance.cancel_at_end_of = None
            compliance.save()
        return compliance

    state = compliance.state
    waiting_on = {line.product_id for line in outlook.open_lines if line.backordered > 0}

    def expected() -> dt.date | None:
        if batch is not None and waiting_on & batch.products_to_refresh:
            raise StaleEtas
        return outlook.expected

    def cancel(day: dt.date, why: str) -> None:
        _cancel_under_rule(
            order=order,
            compliance=compliance,
            lines=outlook.open_lines,
            day=day,
            why=why,
            batch=batch,
        )

    if state in (State.NOTICE_SENT, State.RENEWED_NOTICE_SENT) and not _notice_reached(
        order=order,
        compliance=compliance,
        outlook=outlook,
        today=today,
        batch=batch,
        notices=notices,
    ):
        return compliance

    if state == State.ON_TIME:
        if today > deadline_t:
            cancel(
                deadline_t,
                f"not shipped by {format_date(deadline_t)} and no delay notice was sent in time",
            )
        elif (revised := expected()) is None or revised > deadline_t:
            branch = (
                Branch.SHORT
                if revised is not None and revised <= deadline_t + GRACE
                else Branch.LONG
            )
            answer_by = revised if branch == Branch.SHORT else deadline_t + GRACE
            # First notices voided by a moved payment: a new one is a new decision.
            earlier_firsts = order.delay_notices.filter(kind=DelayNotice.Kind.FIRST).count()
            assert answer_by is not None  # noqa: S101 - S always has a date
            _notice(
                order=order,
                compliance=compliance,
                kind=DelayNotice.Kind.FIRST,
                branch=branch,
                deadline=deadline_t,
                revised=revised,
                answer_by=answer_by,
                lines=outlook.open_lines,
                decision_key=f"{order.pk}:first:{deadline_t.isoformat()}"
                + (f":{earlier_firsts}" if earlier_firsts else ""),
                cancel_at_end_of=deadline_t + GRACE if branch == Branch.LONG else None,
                record=f"First delay notice (branch {branch}): revised date {_fmt(revised)}; "
                f"deadline {format_date(deadline_t)}.",
            )
        return compliance

    if state == State.NOTICE_SENT and compliance.branch == Branch.LONG:
        cutoff = compliance.cancel_at_end_of or deadline_t + GRACE
        if today > cutoff:
            cancel(cutoff, f"no consent to the delay by {format_date(cutoff)} and not shipped")
        return compliance

    if state == State.NOTICE_SENT and compliance.branch == Branch.SHORT:
        # Silence before the revised date is consent to it (branch S).
        agreed = compliance.revised_date
        assert agreed is not None  # noqa: S101
        if today >= agreed or (new_date := expected()) is None or new_date > agreed:
            compliance.state = State.CONSENTED
            compliance.consented_until = agreed
            compliance.consent_kind = OrderCompliance.ConsentKind.DEEMED
            compliance.save()
            _record(
                order,
                f"No answer: consent to a delay until {format_date(agreed)} is deemed.",
                consented_until=agreed.isoformat(),
            )
            state = State.CONSENTED
        else:
            return compliance

    if state == State.CONSENTED:
        consented = compliance.consented_until
        assert consented is not None  # noqa: S101
        if today > consented:
            cancel(consented, f"not shipped by the consented date {format_date(consented)}")
        elif (later := expected()) is None or later > consented:
            renewals = order.delay_notices.filter(kind=DelayNotice.Kind.RENEWED).count()
            _notice(
                order=order,
                compliance=compliance,
                kind=DelayNotice.Kind.RENEWED,
                branch="",
                deadline=consented,
                revised=later,
                answer_by=consented,
                lines=outlook.open_lines,
                decision_key=f"{order.pk}:renewed:{consented.isoformat()}:{renewals}",
                cancel_at_end_of=consented,
                record=f"Renewed notice: new date {_fmt(later)}; cancelled at the end of "
                f"{format_date(consented)} unless the customer consents.",
            )
        return compliance

    if state == State.RENEWED_NOTICE_SENT:
        renewal_cutoff = compliance.cancel_at_end_of
        assert renewal_cutoff is not None  # noqa: S101
        if today > renewal_cutoff:
            cancel(
                renewal_cutoff,
                f"no consent to the further delay before {format_date(renewal_cutoff)} passed",
            )
        return compliance

    return compliance  # consented indefinitely: no more notices


def _discontinued_cancel(
    *, order: Order, lines: Sequence[OrderLine], batch: RuleBatch | None = None
) -> bool:
    """A discontinued product is never offered as a wait: the shop cancels its waiting units,
    the customer is told (with any substitutes) and refunded, whatever they answered before:
    one cancellation, one refund and one email for all of the order's discontinued lines."""
    gone = [
        line
        for line in lines
        if line.product.is_discontinued
        and line.backordered > 0
        and not line.exempt_from_mail_order_rule
    ]
    if not gone:
        return False
    names = sorted({line.product.name for line in gone})
    cancelled = lines_cancel_batch(
        cancellations=[
            Cancellation(
                order_id=order.pk,
                quantities={line.pk: line.backordered for line in gone},
                cause="discontinued",
                reason=f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} discontinued "
                "and will not be made again",
            )
        ],
        refresh=batch is None,
    )
    if batch is not None:
        batch.products_to_refresh |= cancelled.product_ids
    skus = sorted({line.product.sku for line in gone})
    _record(
        order,
        "Discontinued items cancelled and refunded instead of kept waiting: " + ", ".join(skus),
        skus=skus,
    )
    return True


def _void_notices_and_consent(compliance: OrderCompliance) -> bool:
    """Forget the notices and consent given under an earlier t0; True if there were any."""
    had_any = compliance.state in (
        State.NOTICE_SENT,
        State.CONSENTED,
        State.CONSENTED_INDEFINITELY,
        State.RENEWED_NOTICE_SENT,
    )
    compliance.branch = ""
    compliance.revised_date = None
    compliance.consented_until = None
    compliance.consent_kind = ""
    compliance.cancel_at_end_of = None
    return had_any


def rule_from_events(events: Sequence[OrderEvent]) -> None:
    """Order event subscriber: once the change commits, re-decide for the orders whose ETA,
    payment or shipments changed. (Run after commit, not inside: a PO date change can move
    thousands of orders, and a decision may cancel lines, which needs the stock locks.)"""
    if not settings.MAIL_ORDER_RULE_ENABLED:
        return
    from ..tasks import rule_evaluate_task

    kinds = {
        OrderEvent.Kind.PLACED,
        OrderEvent.Kind.ETA_CHANGED,
        OrderEvent.Kind.PAYMENT,
        OrderEvent.Kind.SHIPPED,
        # Stock set aside, taken back, cancelled or substituted can end (or revive) a delay.
        OrderEvent.Kind.ALLOCATED,
        OrderEvent.Kind.DEALLOCATED,
        OrderEvent.Kind.CANCELLED,
        OrderEvent.Kind.SUBSTITUTED,
    }
    order_ids = sorted({e.order_id for e in events if e.kind in kinds})
    for start in range(0, len(order_ids), 500):
        publish_on_commit(rule_evaluate_task, order_ids[start : start + 500])

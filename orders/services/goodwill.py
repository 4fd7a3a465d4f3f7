"""Goodwill on long waits: rules, and granting their gestures within each month's budget."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.utils import timezone

from config.calendar import start_of_store_day, store_today
from config.formats import format_date, format_money
from orders.goodwill.models import GoodwillGesture, GoodwillGrant, GoodwillRule, GoodwillTrigger
from orders.goodwill.selectors import eta_moved_later, goodwill_budget_used
from orders.locks import lock_goodwill_rule, lock_goodwill_rules, lock_order
from orders.models import Order, OrderEvent, OrderLine
from orders.money import CENT

from ._common import _events_record

RULE_FIELDS = (
    "name",
    "channel",
    "trigger",
    "wait_days",
    "gesture",
    "amount",
    "discount_percent",
    "monthly_budget",
    "is_active",
)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone


def _rule_validate(rule: GoodwillRule) -> None:
    if rule.trigger == GoodwillTrigger.ETA_MOVED:
        rule.wait_days = None
    if rule.gesture != GoodwillGesture.DISCOUNT_CODE:
        rule.discount_percent = None
    if rule.trigger == GoodwillTrigger.LONG_WAIT and not rule.wait_days:
        raise ValidationError({"wait_days": "Give the number of days a wait must exceed."})
    rule.full_clean()
    if rule.gesture == GoodwillGesture.STORE_CREDIT and rule.amount <= 0:
        raise ValidationError({"amount": "Give the store credit's amount."})
    if rule.gesture == GoodwillGesture.DISCOUNT_CODE:
        if rule.discount_percent:
            rule.amount = Decimal("0")
        elif rule.amount <= 0:
            raise ValidationError({"amount": "Give the amount off, or a percentage."})


@transaction.atomic
def goodwill_rule_create(**fields: Any) -> GoodwillRule:
    """Create a goodwill rule (keyword arguments: the rule's fields)."""
    rule = GoodwillRule(**{name: value for name, value in fields.items() if name in RULE_FIELDS})
    _rule_validate(rule)
    rule.save()
    return rule


@transaction.atomic
def goodwill_rule_update(*, rule: GoodwillRule, **fields: Any) -> GoodwillRule:
    """Change a rule; grants already made keep what they were."""
    locked = GoodwillRule.objects.select_for_update(of=("self",)).get(pk=rule.pk)
    for name, value in fields.items():
        if name in RULE_FIELDS:
            setattr(locked, name, value)
    _rule_validate(locked)
    locked.save()
    return locked


def _candidates(rule: GoodwillRule, now: dt.datetime) -> list[tuple[Order, str]]:
    """Orders still waiting, not granted yet, that meet the rule's trigger: oldest first."""
    waiting = OrderLine.objects.filter(order=OuterRef("pk"), quantity_backordered__gt=0)
    granted = GoodwillGrant.objects.filter(order=OuterRef("pk"))
    orders = (
        Order.objects.filter(Exists(waiting))
        .exclude(Exists(granted))
        .order_by("placed_at", "pk")
        .only("pk", "number", "placed_at", "channel_id")
    )
    if rule.channel_id is not None:
        orders = orders.filter(channel_id=rule.channel_id)
    if rule.trigger == GoodwillTrigger.LONG_WAIT:
        days = rule.wait_days or 0
        # Placed before this store day's date minus N: waited more than N whole store days.
        cutoff = start_of_store_day(store_today(now) - dt.timedelta(days=days))
        reason = f"waiting longer than {days} days"
        return [(order, reason) for order in orders.filter(placed_at__lt=cutoff)]
    moved = OrderEvent.objects.filter(order=OuterRef("pk"), kind=OrderEvent.Kind.ETA_CHANGED)
    orders = orders.filter(Exists(moved))
    events = OrderEvent.objects.filter(
        order__in=orders, kind=OrderEvent.Kind.ETA_CHANGED, created_at__lte=now
    ).values_list("order_id", "data")
    slipped = {order_id for order_id, data in events if eta_moved_later(data or {})}
    return [(order, "ETA moved later") for order in orders if order.pk in slipped]


def _order_values(order_ids: Iterable[int]) -> dict[int, Decimal]:
    rows = (
        OrderLine.objects.filter(order_id__in=list(order_ids))
        .values("order_id")
        .annotate(total=Sum(F("quantity") * F("unit_price")))
        .values_list("order_id", "total")
    )
    return {order_id: total or Decimal("0") for order_id, total in rows}


def _new_code(taken: set[str]) -> str:
    while True:
        code = "THANKS-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
        if code not in taken and not GoodwillGrant.objects.filter(code=code).exists():
            taken.add(code)
            return code


def _grant_value(rule: GoodwillRule, order_value: Decimal) -> Decimal:
    """What granting the rule's gesture costs: its amount, or for a percentage off the next
    order that share of this order's value."""
    if rule.discount_percent:
        return (order_value * rule.discount_percent / 100).quantize(CENT)
    return rule.amount


def _grant_make(
    *,
    order: Order,
    rule: GoodwillRule,
    value: Decimal,
    reason: str,
    now: dt.datetime,
    codes: set[str],
    actor: Any = None,
) -> tuple[GoodwillGrant, OrderEvent]:
    """Write the grant; return it with its timeline event (for the caller to record: its
    subscribers send the storefront's goodwill.granted webhook in the same transaction)."""
    grant = GoodwillGrant.objects.create(
        order=order,
        rule=rule,
        gesture=rule.gesture,
        value=value,
        discount_percent=rule.discount_percent,
        code=_new_code(codes) if rule.gesture == GoodwillGesture.DISCOUNT_CODE else "",
        reason=reason,
        granted_at=now,
    )
    event = OrderEvent(
        order=order,
        kind=OrderEvent.Kind.GOODWILL,
        actor=actor,
        message=f"Goodwill ({reason}): {grant.customer_text}"[:300],
        data={
            "grant": grant.pk,
            "rule": rule.pk,
            "rule_name": rule.name,
            "gesture": grant.gesture,
            "value": str(value),
            "code": grant.code,
            "discount_percent": grant.discount_percent,
            "granted_at": now.astimezone(dt.UTC).isoformat(),
            "reason": reason,
        },
    )
    return grant, event


@transaction.atomic
def goodwill_apply(*, now: dt.datetime | None = None) -> list[GoodwillGrant]:
    """Grant each active rule's gesture to the waiting orders that qualify, once per order,
    oldest order first, until the rule's budget for this calendar month would be exceeded.

    The rules stay locked until commit, so two appliers at once take turns: the second sees
    the first's grants (budget spent, orders served) and never exceeds a budget or grants an
    order twice (the order's unique grant backs the latter in the database too).
    """
    now = now or timezone.now()
    grants: list[GoodwillGrant] = []
    events: list[OrderEvent] = []
    codes: set[str] = set()
    served: set[int] = set()
    for rule in lock_goodwill_rules():
        used = goodwill_budget_used(now=now, rule_id=rule.pk)
        candidates = [(o, why) for o, why in _candidates(rule, now) if o.pk not in served]
        values = _order_values(o.pk for o, _ in candidates) if rule.discount_percent else {}
        for order, reason in candidates:
            value = _grant_value(rule, values.get(order.pk, Decimal("0")))
            if used + value > rule.monthly_budget:
                break
            used += value
            served.add(order.pk)
            grant, event = _grant_make(
                order=order, rule=rule, value=value, reason=reason, now=now, codes=codes
            )
            grants.append(grant)
            events.append(event)
    if events:
        _events_record(events)
    return grants


@transaction.atomic
def goodwill_grant(
    *, order: Order, rule: GoodwillRule, actor: Any, now: dt.datetime | None = None
) -> GoodwillGrant:
    """Give one waiting order the rule's gesture by hand, within the rule's budget for this
    calendar month; a GOODWILL timeline event says who gave it.

    The rule is locked as goodwill_apply locks it, so the two take turns on its budget; the
    order is locked too, and its unique grant backs "once per order" in the database.
    """
    now = now or timezone.now()
    locked = lock_goodwill_rule(rule_id=rule.pk)
    order = lock_order(order_id=order.pk)
    earlier = GoodwillGrant.objects.filter(order=order).first()
    if earlier is not None:
        raise ValidationError(
            f"{order.number} already received goodwill on {format_date(earlier.granted_at)}: "
            f"{earlier.customer_text}."
        )
    if not locked.is_active:
        raise ValidationError(f"The goodwill rule “{locked.name}” is not active.")
    if not OrderLine.objects.filter(order=order, quantity_backordered__gt=0).exists():
        raise ValidationError(
            f"Nothing is waiting on {order.number}: goodwill is for customers who wait."
        )
    value = _grant_value(locked, _order_values([order.pk]).get(order.pk, Decimal("0")))
    left = locked.monthly_budget - goodwill_budget_used(now=now, rule_id=locked.pk)
    if value > left:
        raise ValidationError(
            f"The rule “{locked.name}” has {format_money(max(left, Decimal('0')))} left of "
            f"this month's budget; this gesture costs {format_money(value)}."
        )
    username = actor.get_username() if actor is not None else "staff"
    grant, event = _grant_make(
        order=order,
        rule=locked,
        value=value,
        reason=f"given by {username}",
        now=now,
        codes=set(),
        actor=actor,
    )
    _events_record([event])
    return grant


@transaction.atomic
def goodwill_grants_told(*, grant_ids: Iterable[int], told_at: dt.datetime) -> int:
    """Record that an email sent at `told_at` told the customers of these gestures."""
    return GoodwillGrant.objects.filter(pk__in=list(grant_ids), told_at__isnull=True).update(
        told_at=told_at
    )

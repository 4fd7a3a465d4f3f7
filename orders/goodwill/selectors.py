"""Reads about goodwill: the month's budget spent, the grants, and the gestures still to tell."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from config.calendar import start_of_store_day, store_today

from ..models import EtaSource
from .models import GoodwillGrant, GoodwillRule

ZERO = Decimal("0.00")


def eta_moved_later(data: dict[str, Any]) -> bool:
    """Whether an ETA_CHANGED event's data moved a dated line later (or to "unknown").

    A first date, an earlier one, or a lead-time estimate rolling forward as the days pass
    with no purchase order yet (the customer is not told of that creep) is no reason.
    """
    for line in data.get("lines", []):
        old, new = line.get("old"), line.get("new")
        creep = line.get("old_source") == line.get("source") == EtaSource.LEAD_TIME
        if old and (not new or new > old) and not creep:  # ISO dates compare as text
            return True
    return False


def goodwill_month_start(*, now: dt.datetime) -> dt.datetime:
    """The first moment of the current calendar month in the store's time zone."""
    return start_of_store_day(store_today(now).replace(day=1))


def goodwill_budget_used(*, now: dt.datetime, rule_id: int | None = None) -> Decimal:
    """What grants made this calendar month (store time) cost, for one rule or all."""
    grants = GoodwillGrant.objects.filter(granted_at__gte=goodwill_month_start(now=now))
    if rule_id is not None:
        grants = grants.filter(rule_id=rule_id)
    total = grants.aggregate(total=Sum("value"))["total"]
    return total if total is not None else ZERO


@dataclass(frozen=True)
class RuleUsage:
    rule: GoodwillRule
    used: Decimal
    grants: int

    @property
    def left(self) -> Decimal:
        return max(self.rule.monthly_budget - self.used, ZERO)

    @property
    def used_percent(self) -> int:
        budget = self.rule.monthly_budget
        return min(100, int(100 * self.used / budget)) if budget else 100


def goodwill_rules_usage(*, now: dt.datetime) -> list[RuleUsage]:
    """Every rule, by name, with what it spent this month and how many grants it made (one
    query)."""
    this_month = Q(grants__granted_at__gte=goodwill_month_start(now=now))
    money = DecimalField(max_digits=14, decimal_places=2)
    rules = (
        GoodwillRule.objects.select_related("channel")
        .annotate(
            used=Coalesce(Sum("grants__value", filter=this_month), Value(ZERO), output_field=money),
            month_grants=Count("grants", filter=this_month),
        )
        .order_by("name", "pk")
    )  # an aggregate drops Meta.ordering
    return [RuleUsage(rule, rule.used, rule.month_grants or 0) for rule in rules]


def goodwill_grants(*, limit: int = 100) -> QuerySet[GoodwillGrant]:
    """The latest grants with their order, customer and rule."""
    return GoodwillGrant.objects.select_related("order__customer", "rule").order_by(
        "-granted_at", "-id"
    )[:limit]


def goodwill_untold(*, order_ids: Iterable[int]) -> dict[int, GoodwillGrant]:
    """The gesture each of these orders was granted and its customer not yet told of."""
    ids = set(order_ids)
    if not ids:
        return {}
    return {
        grant.order_id: grant
        for grant in GoodwillGrant.objects.filter(order_id__in=ids, told_at__isnull=True)
    }


def goodwill_email_facts(grant: GoodwillGrant) -> dict[str, Any]:
    """What an email says of a gesture (the text, and the grant it tells of)."""
    return {"grant": grant.pk, "text": grant.customer_text, "code": grant.code}

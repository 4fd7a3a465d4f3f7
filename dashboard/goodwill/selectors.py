"""Reads for the goodwill screen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from orders.goodwill.selectors import RuleUsage, goodwill_grants, goodwill_rules_usage
from orders.models import GoodwillGrant


@dataclass(frozen=True)
class GoodwillPage:
    rules: list[RuleUsage]
    used: Decimal  # this calendar month, every rule
    cap: Decimal  # the active rules' monthly budgets together
    grants_this_month: int
    grants: list[GoodwillGrant]


def goodwill_page(*, now: dt.datetime) -> GoodwillPage:
    """The rules with this month's spending, the total against the cap, the latest grants."""
    rules = goodwill_rules_usage(now=now)
    return GoodwillPage(
        rules=rules,
        used=sum((usage.used for usage in rules), Decimal("0.00")),
        cap=sum((u.rule.monthly_budget for u in rules if u.rule.is_active), Decimal("0.00")),
        grants_this_month=sum(usage.grants for usage in rules),
        grants=list(goodwill_grants(limit=50)),
    )

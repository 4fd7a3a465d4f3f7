"""The demo shop's goodwill: one rule for long waits, applied once the story is loaded, so
the Goodwill screen, the timelines and the report show grants."""

from __future__ import annotations

from decimal import Decimal

from ..models import GoodwillGrant, GoodwillRule
from ..services import goodwill_apply, goodwill_rule_create


def demo_goodwill() -> list[GoodwillGrant]:
    """Create the "Thanks for waiting" rule ($10 store credit after three weeks, $150 a month)
    and apply it now."""
    goodwill_rule_create(
        name="Thanks for waiting",
        trigger=GoodwillRule.Trigger.LONG_WAIT,
        wait_days=21,
        gesture=GoodwillRule.Gesture.STORE_CREDIT,
        amount=Decimal("10.00"),
        monthly_budget=Decimal("150.00"),
    )
    return goodwill_apply()

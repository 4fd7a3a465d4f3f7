"""Cancellation risk: the waiting lines whose customers are most likely to cancel, scored in
the database so the list ranks and pages without a query per line.

The score is a sum of points, each factor capped so no single one decides alone:

- store days waited: 1 point per full week, up to 4 — chip "waited 34 days" (not for a
  preorder waiting for its release date: that wait was the promise);
- times the line's ETA moved: 2 points per move, up to 6 — chip "ETA moved 2×";
- opens of the order's status page: 1 point per open after the first, up to 4 — chip
  "opened status page 5×";
- value waiting (units backordered × unit price): 1 point per full 100, up to 4 — chip "$480.00".

A line with no point is not listed; HIGH_RISK points or more is high risk (for example a
month's wait and an ETA that moved twice). Opening the page once is what the email link is
for; each open after that is a customer checking again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Greatest, Least

from config.calendar import start_of_store_day
from config.formats import format_money
from orders.eta_history import EtaMoves
from orders.models import EtaSource, OrderLine

from ..queue.selectors import waited_days

WEEK_DAYS = 7
MAX_WAIT_POINTS = 4
POINTS_PER_ETA_MOVE = 2
MAX_ETA_POINTS = 6
MAX_VIEW_POINTS = 4
VALUE_STEP = Decimal("100")
MAX_VALUE_POINTS = 4
HIGH_RISK = 8


def _wait_points(today: dt.date) -> Case:
    """1 point per full week waited: a line queued before the start of the store day after
    `today` − 7k has waited at least 7k store days. A preorder waiting for its release date
    waits as promised: no point."""
    whens = [When(eta_source=EtaSource.RELEASE, then=Value(0))]
    whens += [
        When(
            queued_at__lt=start_of_store_day(today - dt.timedelta(days=WEEK_DAYS * weeks - 1)),
            then=Value(weeks),
        )
        for weeks in range(MAX_WAIT_POINTS, 0, -1)
    ]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def _value_points() -> Case:
    whens = [
        When(waiting_value__gte=VALUE_STEP * steps, then=Value(steps))
        for steps in range(MAX_VALUE_POINTS, 0, -1)
    ]
    return Case(*whens, default=Value(0), output_field=IntegerField())


def cancellation_risk_lines(*, today: dt.date) -> QuerySet[OrderLine]:
    """Waiting lines with at least one point of cancellation risk, each annotated with
    `risk_score`, its factors (`eta_moves`, `status_views`, `waiting_value`) and its order,
    customer and product: one query for any number of rows. Unordered: rank it by
    `-risk_score` (keyset paging adds the order)."""
    return (
        OrderLine.objects.filter(quantity_backordered__gt=0)
        .select_related("order__customer", "product")
        .annotate(
            eta_moves=EtaMoves(),
            status_views=F("order__status_views"),
            waiting_value=ExpressionWrapper(
                F("quantity_backordered") * F("unit_price"),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
        )
        # Not selected: only their sum is (each is inlined into it).
        .alias(
            wait_points=_wait_points(today),
            eta_points=Least(F("eta_moves") * POINTS_PER_ETA_MOVE, Value(MAX_ETA_POINTS)),
            view_points=Least(Greatest(F("status_views") - 1, Value(0)), Value(MAX_VIEW_POINTS)),
            value_points=_value_points(),
        )
        .annotate(
            risk_score=F("wait_points") + F("eta_points") + F("view_points") + F("value_points")
        )
        .filter(risk_score__gt=0)
    )


@dataclass(frozen=True)
class RiskRow:
    """One line as the cancellation risk list shows it: its score and the reasons for it."""

    line: OrderLine
    score: int
    waited_days: int
    reasons: list[str]

    @property
    def high(self) -> bool:
        return self.score >= HIGH_RISK


def risk_reasons(
    *, waited: int, eta_moves: int, status_views: int, waiting_value: Decimal
) -> list[str]:
    """The chips of the factors that scored: what a person reads instead of the number."""
    reasons = []
    if waited >= WEEK_DAYS:
        reasons.append(f"waited {waited} days")
    if eta_moves:
        reasons.append(f"ETA moved {eta_moves}×")
    if status_views > 1:
        reasons.append(f"opened status page {status_views}×")
    if waiting_value >= VALUE_STEP:
        reasons.append(format_money(waiting_value))
    return reasons


def risk_rows(lines: list[OrderLine], *, today: dt.date) -> list[RiskRow]:
    """Rows for lines from cancellation_risk_lines(), in the same order."""
    rows = []
    for line in lines:
        waited = waited_days(since=line.queued_at, today=today)
        rows.append(
            RiskRow(
                line=line,
                score=line.risk_score,  # type: ignore[attr-defined]
                waited_days=waited,
                reasons=risk_reasons(
                    waited=0 if line.eta_source == EtaSource.RELEASE else waited,
                    eta_moves=line.eta_moves,  # type: ignore[attr-defined]
                    status_views=line.status_views,  # type: ignore[attr-defined]
                    waiting_value=line.waiting_value,  # type: ignore[attr-defined]
                ),
            )
        )
    return rows


def high_risk_count(*, today: dt.date) -> int:
    """How many waiting lines are at high cancellation risk (HIGH_RISK points or more)."""
    return cancellation_risk_lines(today=today).filter(Q(risk_score__gte=HIGH_RISK)).count()

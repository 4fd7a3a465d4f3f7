"""Reads for the compliance screen: a fixed number of queries whatever the data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce

from compliance.models import DelayNotice, NoticeFollowUp, OrderCompliance
from compliance.selectors import (
    DATED_STATES,
    notice_follow_ups_open,
    ship_by_expression,
)
from orders.models import (
    OrderEvent,
    OrderLine,
    Refund,
)

from ..lists.filters import DEADLINE_WINDOWS, NO_DATE, consent_choices, consent_q, window_q

DEADLINE_WINDOW_DAYS = 14


def _order_line_sum(expression: Combinable) -> Subquery:
    """A sum over the lines of the compliance row's order."""
    return Subquery(
        OrderLine.objects.filter(order=OuterRef("order"))
        .values("order")
        .annotate(total=Sum(expression, output_field=IntegerField()))
        .values("total")[:1],
        output_field=IntegerField(),
    )


# --- compliance --------------------------------------------------------------------------------


# The deadline list's windows: by default what passed or falls due within DEADLINE_WINDOW_DAYS
# (what the screen's card counts), else one of the lists' windows or any date.
DEADLINES_DEFAULT = ""
DEADLINES_ANY = "any"
COMPLIANCE_WINDOWS = {
    DEADLINES_DEFAULT: f"Passed or due within {DEADLINE_WINDOW_DAYS} days",
    **DEADLINE_WINDOWS,
    DEADLINES_ANY: "Any date",
}


UNDATED_STATES = set(OrderCompliance.State.values) - set(DATED_STATES)


def deadline_consent_choices() -> list[tuple[str, str]]:
    """The consent states an order with a ship-by date can be in, "awaiting an answer" first."""
    return [(value, label) for value, label in consent_choices() if value not in UNDATED_STATES]


def compliance_deadlines(
    *, today: dt.date, window: str = DEADLINES_DEFAULT, consent: str = ""
) -> QuerySet[OrderCompliance]:
    """Orders not yet fully shipped or cancelled with a ship-by date in the window, soonest
    first, with their units to ship and backordered (and, never NULL, what the list sorts on)."""
    unfinished = Exists(
        OrderLine.objects.filter(
            order=OuterRef("order"), quantity__gt=F("quantity_shipped") + F("quantity_cancelled")
        )
    )
    deadlines = (
        OrderCompliance.objects.filter(unfinished, state__in=DATED_STATES)
        .annotate(ship_by=ship_by_expression(""))
        .filter(ship_by__isnull=False)
    )
    if window == DEADLINES_DEFAULT or window not in COMPLIANCE_WINDOWS:
        deadlines = deadlines.filter(ship_by__lte=today + dt.timedelta(days=DEADLINE_WINDOW_DAYS))
    elif window != DEADLINES_ANY:
        deadlines = deadlines.filter(window_q("ship_by", window, today=today))
    return (
        deadlines.filter(consent_q("state", consent))
        .annotate(
            units_open=Coalesce(
                _order_line_sum(F("quantity") - F("quantity_shipped") - F("quantity_cancelled")),
                0,
            ),
            units_backordered=Coalesce(_order_line_sum(F("quantity_backordered")), 0),
            deadline_key=Coalesce("deadline", Value(NO_DATE), output_field=DateField()),
        )
        .select_related("order__customer")
        .order_by("ship_by", "order_id")
    )


def deadlines_due_count(*, today: dt.date) -> int:
    """How many orders the default deadline list holds (the screen's card)."""
    return compliance_deadlines(today=today).count()


@dataclass(frozen=True)
class ComplianceScreen:
    notices: list[DelayNotice]
    cancellations: list[OrderEvent]
    refunds: list[Refund]
    refunds_total: int
    refunds_overdue: int
    refunds_owed: Decimal
    # Refunds the original method could not take, owed by cash, check or money order.
    failed_refunds: list[Refund] = field(default_factory=list)
    # Delay notices whose email failed: staff must tell the customer another way.
    follow_ups: list[NoticeFollowUp] = field(default_factory=list)
    # Orders the rule engine could not decide (it carried on with the others).
    engine_failures: list[OrderCompliance] = field(default_factory=list)


# Rows per list on the compliance screen: the ones due first (each refund row carries two forms;
# a page of 100 took over 200 ms to draw at a million orders).
SCREEN_LIST_ROWS = 50


def compliance_screen(*, today: dt.date, limit: int = SCREEN_LIST_ROWS) -> ComplianceScreen:
    """Notices awaiting an answer, automatic cancellations, refunds owed (the deadlines are a
    list of their own: compliance_deadlines)."""
    latest_notice = Subquery(
        DelayNotice.objects.filter(order=OuterRef("order"))
        .order_by("-sent_at", "-id")
        .values("pk")[:1]
    )
    notices = (
        DelayNotice.objects.filter(
            Q(
                kind=DelayNotice.Kind.FIRST,
                order__compliance__state=OrderCompliance.State.NOTICE_SENT,
            )
            | Q(
                kind=DelayNotice.Kind.RENEWED,
                order__compliance__state=OrderCompliance.State.RENEWED_NOTICE_SENT,
            ),
            answer__isnull=True,
            pk=latest_notice,
        )
        .select_related("order__customer", "notification", "follow_up")
        .order_by("answer_by", "id")
    )
    cancellations = (
        OrderEvent.objects.filter(kind=OrderEvent.Kind.CANCELLED, data__cause="mail_order_rule")
        .select_related("order__customer")
        .order_by("-created_at", "-id")
    )
    open_refunds = Refund.objects.filter(issued_at__isnull=True)
    totals = open_refunds.aggregate(
        owed=Coalesce(Sum("amount"), Decimal("0")),
        total=Count("pk"),
        overdue=Count("pk", filter=Q(due_date__lt=today)),
    )
    refunds = open_refunds.select_related("order__customer", "order_line__product").order_by(
        "due_date", "id"
    )
    return ComplianceScreen(
        notices=list(notices[:limit]),
        cancellations=list(cancellations[:limit]),
        refunds=list(refunds[:limit]),
        refunds_total=totals["total"],
        refunds_overdue=totals["overdue"],
        refunds_owed=Decimal(totals["owed"]).quantize(Decimal("0.01")),
        failed_refunds=list(
            refunds.filter(failed_at__isnull=False).order_by("due_date", "id")[:limit]
        ),
        follow_ups=list(notice_follow_ups_open()[:limit]),
        engine_failures=list(
            OrderCompliance.objects.exclude(engine_failure="")
            .select_related("order__customer")
            .order_by("engine_failed_at", "order_id")[:limit]
        ),
    )

"""Filters the staff lists share: a date window (passed, or due within so many days), the Mail
Order Rule consent state, the sales channel and the supplier, each as a Q on a path of the
list's rows, with the choices their menus offer. An unknown value filters nothing."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from compliance.models import OrderCompliance
from inventory.models import Supplier
from storefront.models import SalesChannel

# Consent filter values beyond the compliance states themselves.
AWAITING_ANSWER = "awaiting_answer"
AWAITING_ANSWER_STATES = (
    OrderCompliance.State.NOTICE_SENT,
    OrderCompliance.State.RENEWED_NOTICE_SENT,
)
# Date windows: "overdue" (the date passed) or due within so many days from today.
OVERDUE = "overdue"
WINDOW_DAYS = (7, 14, 30)
DEADLINE_WINDOWS = {
    OVERDUE: "Ship-by date passed",
    **{str(days): f"Due within {days} days" for days in WINDOW_DAYS},
}
# The same windows over a purchase order's next expected date.
DUE_WINDOWS = {
    OVERDUE: "Expected date passed",
    **{str(days): f"Due within {days} days" for days in WINDOW_DAYS},
}
NO_CHANNEL = "none"
# A date that sorts after every real one, for rows with no date (keyset sorts never see NULL).
NO_DATE = dt.date(9999, 12, 31)


def window_q(field: str, window: str, *, today: dt.date) -> Q:
    """Rows whose date `field` passed ("overdue") or falls within the next N days ("7", "14",
    "30": from today, both included)."""
    if window == OVERDUE:
        return Q(**{f"{field}__lt": today})
    if window in DEADLINE_WINDOWS or window in DUE_WINDOWS:
        last = today + dt.timedelta(days=int(window))
        return Q(**{f"{field}__gte": today, f"{field}__lte": last})
    return Q()


def consent_q(state_field: str, consent: str) -> Q:
    """Rows whose order's compliance state (at `state_field`) is `consent`; AWAITING_ANSWER is
    either notice sent."""
    if consent == AWAITING_ANSWER:
        return Q(**{f"{state_field}__in": AWAITING_ANSWER_STATES})
    if consent in OrderCompliance.State.values:
        return Q(**{state_field: consent})
    return Q()


def channel_q(channel_field: str, channel: str) -> Q:
    """Rows of one sales channel (an id), or of staff entry (NO_CHANNEL)."""
    if channel == NO_CHANNEL:
        return Q(**{f"{channel_field}__isnull": True})
    if channel.isascii() and channel.isdigit() and 0 < int(channel) < 2**63:
        return Q(**{f"{channel_field}_id": int(channel)})
    return Q()


def channel_choices() -> list[tuple[int, str]]:
    """(id, name) of the sales channels, for a channel filter."""
    return list(SalesChannel.objects.order_by("name").values_list("pk", "name"))


def supplier_choices() -> list[tuple[int, str]]:
    """(id, name) of the suppliers, for a supplier filter."""
    return list(Supplier.objects.order_by("name").values_list("pk", "name"))


def consent_choices() -> list[tuple[str, str]]:
    """The consent states to filter by, "awaiting an answer" (either notice) first."""
    return [
        (AWAITING_ANSWER, "Awaiting an answer (any notice)"),
        *OrderCompliance.State.choices,
    ]

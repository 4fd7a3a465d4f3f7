"""Follow-ups: staff telling a customer a notice's content another way when its email failed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.calendar import store_date
from config.formats import format_date
from orders.locks import lock_order

from ..models import NoticeFollowUp
from ._common import _record, _staff


@transaction.atomic
def notice_follow_up_done(
    *, follow_up: NoticeFollowUp, how: str, actor: Any = None, now: dt.datetime | None = None
) -> NoticeFollowUp:
    """Staff told the customer the notice's content another way (phone, letter): from now on
    the notice counts, if this was before its deadline."""
    now = now or timezone.now()
    how = (how or "").strip()
    if not how:
        raise ValidationError("Say how the customer was told (for example: phoned, read out).")
    order = lock_order(order_id=follow_up.order_id)
    follow_up = NoticeFollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if follow_up.done_at is not None:
        raise ValidationError(f"This was already done on {format_date(follow_up.done_at)}.")
    if store_date(now) > follow_up.due_by:
        raise ValidationError(
            f"Too late: the customer had to be told by the end of {format_date(follow_up.due_by)}; "
            "a notice after the deadline does not count, so the order is cancelled at it."
        )
    follow_up.done_at, follow_up.done_by, follow_up.how = now, _staff(actor), how[:200]
    follow_up.save(update_fields=["done_at", "done_by", "how"])
    _record(
        order,
        f"Delay notice given another way: {how}"[:300],
        notice=follow_up.notice_id,
        at=now.isoformat(),
    )
    return follow_up

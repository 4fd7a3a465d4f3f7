import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from compliance.models import DelayNotice, OrderCompliance
from compliance.services import consent_answer, rule_run
from notifications.models import Notification
from notifications.services import notification_send
from orders.models import Refund
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=NY)


def test_ftc_example_branch_l_silence_cancels_at_t_plus_30():
    with time_machine.travel(at("2026-01-05"), tick=False):
        lamp = ProductFactory(on_hand=0, lead_time_days=None, unit_price=Decimal("40.00"))
        order = place_order((lamp, 1))
        rule_run()
        # The outbox sends the notice (a notice that never went out would not count).
        notification_send(notification_id=DelayNotice.objects.get(order=order).notification_id)
    compliance = OrderCompliance.objects.get(order=order)
    assert compliance.deadline == dt.date(2026, 2, 4)
    # ETA unknown: branch L notice straight away.
    assert compliance.state == "notice_sent"
    assert compliance.branch == "L"
    notice = DelayNotice.objects.get(order=order)
    assert notice.answer_by == dt.date(2026, 3, 6)
    with time_machine.travel(at("2026-03-06", 23), tick=False):
        rule_run()
    compliance.refresh_from_db()
    assert compliance.state == "notice_sent"
    with time_machine.travel(at("2026-03-07", 1), tick=False):
        rule_run()
        rule_run()
    compliance.refresh_from_db()
    assert compliance.state == "cancelled"
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.due_date) == (Decimal("40.00"), dt.date(2026, 3, 17))
    assert Notification.objects.filter(order=order, kind="delay_notice").count() == 1


def test_express_consent_then_renewed_notice():
    with time_machine.travel(at("2026-01-05"), tick=False):
        lamp = ProductFactory(on_hand=0, lead_time_days=40)
        order = place_order((lamp, 1))
        rule_run()
    compliance = OrderCompliance.objects.get(order=order)
    assert (compliance.state, compliance.branch) == ("notice_sent", "S")
    notice = DelayNotice.objects.get(order=order)
    with time_machine.travel(at("2026-01-06"), tick=False):
        consent_answer(notice=notice, choice="wait_until")
    compliance.refresh_from_db()
    assert (compliance.state, compliance.consented_until) == ("consented", notice.revised_date)

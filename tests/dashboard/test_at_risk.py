"""One meaning of "at risk" on every screen: a waiting line whose ETA is unknown or later than its
order's ship-by date (the consented date where the customer consented, else the deadline)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from compliance.models import ConsentAnswer, DelayNotice, OrderCompliance
from compliance.selectors import ship_by_date
from compliance.services import consent_answer, rule_run
from notifications.services import notification_send
from orders.models import Order
from tests.factories import ProductFactory, place_order, staff_in
from tests.shown import shown

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=NY)  # a Monday


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def stat_value(page: str, label: str) -> str:
    match = re.search(
        rf'<div class="label">{re.escape(label)}</div>\s*<div class="value">([^<]*)</div>', page
    )
    assert match, f"no stat {label!r}"
    return match.group(1)


def queue_order_numbers(html: str) -> list[str]:
    return re.findall(r'<td data-label="Order" class="nowrap"><a href="[^"]+">(BD-\d+)</a>', html)


def listed_order_numbers(html: str) -> list[str]:
    return re.findall(r'class="nowrap" href="/dashboard/orders/\d+/">(BD-\d+)</a>', html)


def consent_to_the_revised_date(order: Order) -> None:
    notice = DelayNotice.objects.get(order=order)
    assert notice.notification_id is not None
    notification_send(notification_id=notice.notification_id)
    consent_answer(notice=notice, choice=ConsentAnswer.Choice.WAIT_UNTIL)


def test_the_card_the_queue_and_the_orders_list_agree_on_what_is_at_risk(client: Client):
    # Given: stock in 10 days, and stock in 40 days (past the 30-day deadline of 2026-04-01).
    soon = ProductFactory(sku="SOON-1", on_hand=0, lead_time_days=10)
    late = ProductFactory(sku="LATE-1", on_hand=0, lead_time_days=40)
    in_time = place_order((soon, 1))
    no_consent = place_order((late, 1))
    consented = place_order((late, 1))
    consented_too_early = place_order((late, 1))
    indefinitely = place_order((late, 1))
    rule_run()
    consent_to_the_revised_date(consented)
    # The customer agreed to a date the ETA still misses, or to wait whatever the date.
    OrderCompliance.objects.filter(order=consented_too_early).update(
        state=OrderCompliance.State.CONSENTED, consented_until=dt.date(2026, 4, 3)
    )
    OrderCompliance.objects.filter(order=indefinitely).update(
        state=OrderCompliance.State.CONSENTED_INDEFINITELY, consented_until=None
    )
    client.force_login(staff_in("Managers"))

    # When
    overview = client.get(reverse("dashboard:overview")).content.decode()
    queue = client.get(reverse("dashboard:queue"), {"at_risk": "1"}).content.decode()
    whole_queue = client.get(reverse("dashboard:queue")).content.decode()
    orders = client.get(reverse("dashboard:orders"), {"at_risk": "1"}).content.decode()

    # Then: the consented date replaces the deadline; an indefinite consent has no date to miss.
    at_risk = [no_consent.number, consented_too_early.number]
    assert sorted(queue_order_numbers(queue)) == at_risk
    assert "2 waiting lines at risk" in queue
    assert stat_value(overview, "Lines at risk") == str(len(queue_order_numbers(queue)))
    assert f'href="{reverse("dashboard:queue")}?at_risk=1"' in overview
    assert sorted(listed_order_numbers(orders)) == at_risk
    # The whole queue flags the same lines, row by row.
    rows = whole_queue.split("<tbody>")[1].split("</tr>")[:-1]
    flagged = sorted(
        number for row in rows if "At risk:" in row for number in queue_order_numbers(row)
    )
    assert len(rows) == 5
    assert flagged == at_risk
    compliance = OrderCompliance.objects.get(order=consented)
    assert compliance.state == OrderCompliance.State.CONSENTED
    assert ship_by_date(compliance) == compliance.consented_until
    assert consented.lines.get().eta <= compliance.consented_until
    assert in_time.lines.get().eta < OrderCompliance.objects.get(order=in_time).deadline


def test_the_queue_shows_the_consented_date_as_the_ship_by_date(client: Client):
    late = ProductFactory(sku="LATE-2", on_hand=0, lead_time_days=40)
    order = place_order((late, 1))
    rule_run()
    consent_to_the_revised_date(order)
    consented_until = OrderCompliance.objects.get(order=order).consented_until
    assert consented_until is not None
    client.force_login(staff_in("Operations"))

    html = client.get(reverse("dashboard:queue")).content.decode()

    # Not the original deadline, and no warning: the ETA meets the consented date.
    assert f'<td data-label="Ship by" class="nowrap">{shown(consented_until)}</td>' in html
    assert "1 Apr 2026" not in html
    assert "badge warn" not in html.split("<tbody>")[1]

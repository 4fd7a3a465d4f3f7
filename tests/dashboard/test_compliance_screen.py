"""The managers' Mail Order Rule screen: deadlines, notices, automatic cancellations, refunds."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.export import CSV_HEADER
from compliance.models import NoticeFollowUp, OrderCompliance
from compliance.services import order_rule_evaluate, rule_run
from dashboard.compliance.selectors import SCREEN_LIST_ROWS
from notifications.models import Notification
from orders.models import Order, Refund
from orders.services import order_cancel
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in
from tests.shown import shown

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=NY)  # a Monday
SCREEN_URL = reverse("dashboard:compliance")
EXPORT_URL = reverse("dashboard:compliance_export")


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def manager():
    return staff_in("Managers")


@pytest.fixture
def managers(client: Client, manager) -> Client:
    client.force_login(manager)
    return client


def issue_url(refund: Refund) -> str:
    return reverse("dashboard:refund_issue", args=[refund.pk])


def rule_story() -> dict[str, Order]:
    """One order of each kind the screen lists, made by the services and the rule engine."""
    on_shelf = ProductFactory(on_hand=10, unit_price="40.00")
    no_date = ProductFactory(on_hand=0, lead_time_days=None)
    on_time = place_order(
        (on_shelf, 1),
        customer=CustomerFactory(email="due@example.com"),
        promised_ship_date=dt.date(2026, 3, 5),
    )
    waiting = place_order((no_date, 2), customer=CustomerFactory(email="wait@example.com"))
    missed = place_order(
        (on_shelf, 2),
        customer=CustomerFactory(email="missed@example.com"),
        promised_ship_date=dt.date(2026, 3, 3),
    )
    for order in (on_time, waiting, missed):
        order_rule_evaluate(order_id=order.pk)
    # Two days later nothing has shipped: the missed order is cancelled under the rule.
    order_rule_evaluate(order_id=missed.pk, now=NOW + dt.timedelta(days=2))
    late = place_order((on_shelf, 1), customer=CustomerFactory(email="late@example.com"))
    order_cancel(order=late, reason="Customer asked", at=NOW - dt.timedelta(days=20))
    return {"on_time": on_time, "waiting": waiting, "missed": missed, "late": late}


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


# --- who may open it --------------------------------------------------------------------------


def test_only_managers_open_the_compliance_screen(client):
    refund_url = reverse("dashboard:refund_issue", args=[1])
    for group, status in (("Operations", 403), (None, 403), ("Managers", 200)):
        client.force_login(staff_in(group))
        assert client.get(SCREEN_URL).status_code == status
        assert (
            client.get(EXPORT_URL, {"start": "2026-03-01", "end": "2026-03-02"}).status_code
            == status
        )
    client.force_login(staff_in("Operations"))
    assert client.post(refund_url, {"reference": "x"}).status_code == 403


# --- what it shows --------------------------------------------------------------------------


def test_the_screen_lists_deadlines_notices_cancellations_and_refunds(managers):
    story = rule_story()
    html = managers.get(SCREEN_URL).content.decode()

    deadlines = section(html, "h-deadlines")
    assert story["on_time"].number in deadlines
    assert '<span class="badge warn">5 Mar 2026</span>' in deadlines
    assert "Ship date stated at order time" in deadlines
    # The order waiting with no date must ship by 2026-04-01: not within the next 14 days.
    assert story["waiting"].number not in deadlines

    notices = section(html, "h-notices")
    assert story["waiting"].number in notices
    assert "First delay option notice" in notices
    assert "Branch L: revised date later, or none" in notices
    assert '<span class="badge warn">no date</span>' in notices
    assert "1 May 2026" in notices  # answer by T + 30

    cancellations = section(html, "h-cancellations")
    assert story["missed"].number in cancellations
    assert "not shipped by 3 Mar 2026 and no delay notice was sent in time" in cancellations
    assert "due 12 Mar 2026" in cancellations  # the refund owed, in the store's date format
    assert story["late"].number not in cancellations  # the customer cancelled that one

    refunds = section(html, "h-refunds")
    missed_refund = story["missed"].refunds.get()
    late_refund = story["late"].refunds.get()
    assert str(missed_refund.amount) == "80.00"
    assert '<td class="num">$80.00</td>' in refunds
    assert f"{shown(late_refund.due_date)} overdue" in refunds
    assert refunds.index(story["late"].number) < refunds.index(story["missed"].number)
    assert f'action="{issue_url(missed_refund)}"' in refunds
    assert '<label for="ref-' in refunds

    assert '<div class="label">Refunds overdue</div><div class="value">1</div>' in html
    assert '<div class="value">$120.00</div>' in html  # 80.00 + 40.00 owed


def test_the_screen_is_calm_when_nothing_is_due(managers):
    html = managers.get(SCREEN_URL).content.decode()
    assert "No unshipped order must ship in the next 14 days." in html
    assert "No notice is waiting for an answer." in html
    assert "No refund is owed." in html
    assert "No order has been cancelled under the rule." in html


def test_the_screen_costs_the_same_queries_for_one_or_many_stories(managers):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert managers.get(SCREEN_URL).status_code == 200
        return len(ctx.captured_queries)

    rule_story()
    one = queries()
    for _ in range(4):
        rule_story()
    assert queries() == one


def test_the_refunds_list_shows_the_ones_due_first_and_says_how_many_more(managers):
    product = ProductFactory(on_hand=100, unit_price="10.00")
    for _ in range(SCREEN_LIST_ROWS + 1):
        order_cancel(order=place_order((product, 1)), reason="Customer asked")
    html = section(managers.get(SCREEN_URL).content.decode(), "h-refunds")
    assert html.count(">Mark issued</button>") == SCREEN_LIST_ROWS
    shown_text = f"Showing the {SCREEN_LIST_ROWS} due first of {SCREEN_LIST_ROWS + 1}."
    assert shown_text in html


# --- marking a refund issued ---------------------------------------------------------------


def test_a_manager_marks_a_refund_issued(managers, manager):
    story = rule_story()
    refund = story["missed"].refunds.get()

    response = managers.post(
        issue_url(refund), {"reference": " re_3PxQ2 ", "next": SCREEN_URL}, follow=True
    )

    refund.refresh_from_db()
    assert refund.issued_at is not None
    assert refund.issue_reference == "re_3PxQ2"
    assert refund.issued_by == manager
    html = response.content.decode()
    assert response.redirect_chain == [(SCREEN_URL, 302)]
    assert (
        f"The refund of $80.00 on {story['missed'].number} is marked issued (reference re_3PxQ2)."
        in html
    )
    assert f'action="{issue_url(refund)}"' not in html
    story["missed"].refresh_from_db()
    assert str(story["missed"].amount_refunded) == "80.00"


def test_marking_issued_from_the_order_page_returns_there(managers):
    story = rule_story()
    refund = story["late"].refunds.get()
    order_url = reverse("dashboard:order", args=[story["late"].pk])
    response = managers.post(issue_url(refund), {"reference": "check 1042", "next": order_url})
    assert response.status_code == 302
    assert response["Location"] == order_url


def test_a_refund_needs_a_reference(managers):
    refund = rule_story()["missed"].refunds.get()
    response = managers.post(issue_url(refund), {"reference": "  "}, follow=True)
    refund.refresh_from_db()
    assert refund.issued_at is None
    assert "was not marked issued: Give the refund&#x27;s reference" in response.content.decode()


def test_a_refund_cannot_be_issued_twice(managers):
    refund = rule_story()["missed"].refunds.get()
    managers.post(issue_url(refund), {"reference": "first"})
    response = managers.post(issue_url(refund), {"reference": "second"}, follow=True)
    refund.refresh_from_db()
    assert refund.issue_reference == "first"
    assert "This refund was already issued on 2 Mar 2026." in response.content.decode()


def test_next_must_stay_on_this_site(managers):
    refund = rule_story()["missed"].refunds.get()
    response = managers.post(
        issue_url(refund), {"reference": "r1", "next": "https://evil.example.com/"}
    )
    assert response["Location"] == SCREEN_URL


def test_marking_issued_is_post_only(managers):
    refund = rule_story()["missed"].refunds.get()
    assert managers.get(issue_url(refund)).status_code == 405


# --- the CSV export ---------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(content)))


def test_the_export_holds_the_record_of_each_order_in_the_period(managers):
    story = rule_story()
    older = place_order((ProductFactory(on_hand=1), 1))
    Order.objects.filter(pk=older.pk).update(placed_at=NOW - dt.timedelta(days=40))

    response = managers.get(EXPORT_URL, {"start": "2026-03-01", "end": "2026-03-02"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="mail-order-rule-2026-03-01-to-2026-03-02.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == list(CSV_HEADER)
    numbers = {row[0] for row in rows[1:]}
    assert numbers == {order.number for order in story.values()}
    missed = [row for row in rows[1:] if row[0] == story["missed"].number]
    assert missed[0][1] == "missed@example.com"
    assert missed[0][3] == "2026-03-03"
    assert missed[0][4] == "Ship date stated at order time"
    assert [row[6] for row in missed][0] == "Order placed"
    assert any(row[6] == "Cancelled" for row in missed)
    assert any(row[6] == "Refund owed" and row[7].startswith("$80.00 due") for row in missed)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2026-03-01"}, "Give both dates: &#x27;end&#x27; is missing"),
        (
            {"start": "2026-13-01", "end": "2026-03-02"},
            "&#x27;start&#x27; must be a date written YYYY-MM-DD, not &#x27;2026-13-01&#x27;.",
        ),
        (
            {"start": "2026-03-05", "end": "2026-03-01"},
            "The start (2026-03-05) is after the end (2026-03-01).",
        ),
    ],
)
def test_bad_export_dates_are_a_400_with_the_reason(managers, params, message):
    response = managers.get(EXPORT_URL, params)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'name="start"' in html  # the form is there to try again


# --- a refund that failed, and notices to give another way ------------------------------------


def failed_url(refund: Refund) -> str:
    return reverse("dashboard:refund_failed", args=[refund.pk])


def test_a_manager_records_a_failed_refund_and_the_screen_lists_its_new_due_date(managers):
    refund = rule_story()["missed"].refunds.get()

    response = managers.post(
        failed_url(refund),
        {"reason": "The card is closed", "method": "money_order", "next": SCREEN_URL},
        follow=True,
    )

    refund.refresh_from_db()
    # Learned on Mon 2 Mar: owed by money order 7 working days later.
    assert (refund.failure_reason, refund.other_method) == ("The card is closed", "money_order")
    assert refund.due_date == dt.date(2026, 3, 11)
    html = response.content.decode()
    assert (
        f"The refund of $80.00 on {refund.order.number} failed: it is now owed by money order "
        "by 11 Mar 2026." in html
    )
    failed = section(html, "h-failed-refunds")
    assert refund.order.number in failed
    assert "11 Mar 2026" in failed
    assert "The card is closed" in failed
    assert "Money order" in failed


def test_a_failed_refund_needs_a_reason(managers):
    refund = rule_story()["missed"].refunds.get()
    response = managers.post(failed_url(refund), {"reason": " ", "method": "check"}, follow=True)
    refund.refresh_from_db()
    assert refund.failed_at is None
    assert "was not marked failed: Say why the refund failed" in response.content.decode()


def test_only_managers_record_a_failed_refund(client):
    refund = rule_story()["missed"].refunds.get()
    client.force_login(staff_in("Operations"))
    response = client.post(failed_url(refund), {"reason": "Card closed", "method": "check"})
    assert response.status_code == 403
    refund.refresh_from_db()
    assert refund.failed_at is None


def test_a_bounced_notice_is_listed_until_staff_tell_the_customer(managers):
    story = rule_story()
    email = Notification.objects.get(order=story["waiting"], kind="delay_notice")
    Notification.objects.filter(pk=email.pk).update(state="bounced")
    order_rule_evaluate(order_id=story["waiting"].pk)

    html = managers.get(SCREEN_URL).content.decode()
    follow_ups = section(html, "h-follow-ups")
    assert story["waiting"].number in follow_ups
    assert "The delay notice: its email bounced" in follow_ups
    follow_up = NoticeFollowUp.objects.get(order=story["waiting"])

    response = managers.post(
        reverse("dashboard:follow_up_done", args=[follow_up.pk]),
        {"how": "Phoned and read the notice"},
        follow=True,
    )
    html = response.content.decode()
    assert "is recorded as given: Phoned and read the notice." in html
    assert "Every delay notice reached its customer." in html


def test_the_screen_lists_orders_the_engine_could_not_decide(managers):
    story = rule_story()
    # A ship-by date at the end of the calendar: the engine cannot add 30 days to it.
    Order.objects.filter(pk=story["waiting"].pk).update(promised_ship_date=dt.date.max)
    OrderCompliance.objects.filter(order=story["waiting"]).update(properly_completed_at=None)
    rule_run(order_ids=[story["waiting"].pk, story["on_time"].pk])

    failures = section(managers.get(SCREEN_URL).content.decode(), "h-engine-failures")
    assert story["waiting"].number in failures
    assert "OverflowError: date value out of range" in failures
    assert story["on_time"].number not in failures

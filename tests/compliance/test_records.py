"""The Mail Order Rule record for staff: the page and CSV per order (admin), the CSV per period
(the dashboard's export)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.export import CSV_HEADER
from compliance.models import ConsentAnswer, DelayNotice
from compliance.selectors import compliance_record
from compliance.services import consent_answer, rule_run
from notifications.services import notification_send
from orders.models import Order
from orders.services import shipment_create
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order, staff_in

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
EXPORT_URL = reverse("dashboard:compliance_export")


@pytest.fixture
def manager_client(client: Client) -> Client:
    client.force_login(staff_in("Managers"))
    return client


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=NY)


def record_url(order: Order) -> str:
    return reverse("admin:compliance_record", args=[order.pk])


def record_csv_url(order: Order) -> str:
    return reverse("admin:compliance_record_csv", args=[order.pk])


def read_csv(response: Any) -> list[dict[str, str]]:
    content = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode()
    reader = csv.reader(io.StringIO(content))
    assert next(reader) == list(CSV_HEADER)
    return [dict(zip(CSV_HEADER, row, strict=True)) for row in reader]


def order_with_notice(day: str, email: str, *, send: bool = True) -> tuple[Order, DelayNotice]:
    """An order placed on `day` whose lamp waits 40 days: a branch S notice, sent at once."""
    with time_machine.travel(at(day), tick=False):
        lamp = ProductFactory.create(on_hand=0, lead_time_days=40, name="Brass lamp")
        order = place_order((lamp, 1), customer=CustomerFactory.create(email=email))
        rule_run(order_ids=[order.pk])
        notice = DelayNotice.objects.get(order=order)
        if send:
            assert notice.notification_id is not None
            notification_send(notification_id=notice.notification_id)
    return order, notice


@pytest.fixture
def answered_order() -> tuple[Order, DelayNotice]:
    """Placed 5 Jan 2026; the mug ships, the lamp's notice goes out, the customer cancels it."""
    with time_machine.travel(at("2026-01-05"), tick=False):
        mug = ProductFactory.create(on_hand=3, name="Mug")
        lamp = ProductFactory.create(on_hand=0, lead_time_days=40, name="Brass lamp")
        ada = CustomerFactory.create(email="ada@example.com")
        order = place_order((mug, 1), (lamp, 1), customer=ada)
        shipment_create(order=order, carrier="UPS", tracking_number="1Z1")
        rule_run(order_ids=[order.pk])
        notice = DelayNotice.objects.get(order=order)
        assert notice.notification_id is not None
        notification_send(notification_id=notice.notification_id)
    with time_machine.travel(at("2026-01-06", 9), tick=False):
        consent_answer(notice=notice, choice=ConsentAnswer.Choice.CANCEL)
    notice.refresh_from_db()
    return order, notice


def email_text(notice: DelayNotice) -> str:
    notification = notice.notification
    assert notification is not None
    notification.refresh_from_db()
    assert notification.body_text
    return notification.body_text


# --- the page -----------------------------------------------------------------------------


def test_record_page_shows_deadline_notice_full_text_and_answer(
    admin_client: Client, answered_order: tuple[Order, DelayNotice]
) -> None:
    order, notice = answered_order

    response = admin_client.get(record_url(order))

    assert response.status_code == 200
    assert "compliance/record.html" in [t.name for t in response.templates]
    content = response.content.decode()
    flat = " ".join(content.split())
    assert f"Mail Order Rule record: order {order.number}" in content
    assert "ada@example.com" in content
    assert "5 Jan 2026, 10:00" in flat  # placed and t0, in store time
    assert "<td>4 Feb 2026</td>" in flat  # T
    assert "30 days after the order was properly completed" in content
    assert "S: revised date within 30 days of the deadline" in content
    # The notice's full text, exactly as the customer received it (HTML-escaped on the page).
    text = email_text(notice)
    assert "15 Feb 2026" in text  # the revised date
    assert f'<pre class="bd-email">{escape(text)}</pre>' in content
    assert 'Email: <span class="bd-state">Sent</span>, sent 5 Jan 2026, 10:00' in flat
    assert "answer by 15 Feb 2026" in flat
    # The answer and when it arrived.
    answer_row = content.split(f'id="answer-{notice.pk}"')[1].split("</tr>")[0]
    assert "6 Jan 2026, 09:00" in answer_row
    assert "<strong>Cancel and refund</strong>" in answer_row
    # Shipment, cancellation and refund.
    assert "Shipped 1 unit by UPS, tracking 1Z1" in content
    assert "Cancelled 1 unit: The customer chose to cancel after a delay notice" in content
    assert "$25.00 due 15 Jan 2026" in content
    assert record_csv_url(order) in content


def escape(text: str) -> str:
    from django.utils.html import escape as html_escape

    return str(html_escape(text))


def test_record_page_of_an_order_never_evaluated(admin_client: Client) -> None:
    order = place_order((ProductFactory.create(on_hand=1), 1))

    response = admin_client.get(record_url(order))

    assert response.status_code == 200
    assert "Not evaluated under the rule yet." in response.content.decode()


def test_record_page_of_an_unknown_order_is_404(admin_client: Client) -> None:
    assert admin_client.get(reverse("admin:compliance_record", args=[999])).status_code == 404


def test_unsent_notice_says_no_text_is_on_record(admin_client: Client) -> None:
    order, _ = order_with_notice("2026-01-05", "bo@example.com", send=False)

    content = admin_client.get(record_url(order)).content.decode()

    assert "Not sent yet: no text is on record." in content
    assert "Pending" in content


# --- CSV per order ------------------------------------------------------------------------


def test_csv_per_order_has_every_record_row(
    admin_client: Client, answered_order: tuple[Order, DelayNotice]
) -> None:
    order, notice = answered_order

    response = admin_client.get(record_csv_url(order))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="mail-order-rule-{order.number}.csv"'
    )
    rows = read_csv(response)
    assert {
        (r["order number"], r["customer email"], r["t0 (store time)"], r["deadline T"], r["basis"])
        for r in rows
    } == {
        (
            order.number,
            "ada@example.com",
            "2026-01-05T10:00:00-05:00",
            "2026-02-04",
            "30 days after the order was properly completed",
        )
    }
    events = [(r["event time (store time)"], r["event"], r["detail"]) for r in rows]
    placed = "2026-01-05T10:00:00-05:00"
    answered = "2026-01-06T09:00:00-05:00"
    assert events[0] == (placed, "Order placed", order.number)
    assert (placed, "Shipped", "Shipped 1 unit by UPS, tracking 1Z1") in events
    assert (placed, "First delay option notice", email_text(notice) + " [delivery: sent]") in events
    assert (answered, "Customer answered", "Cancel and refund") in events
    assert (answered, "Refund owed", "$25.00 due 15 Jan 2026") in events
    assert [e for _, e, _ in events].count("Cancelled") == 1
    _, rows_from_selector = compliance_record(order_id=order.pk)
    assert len(events) == len(rows_from_selector)


# --- CSV per period -----------------------------------------------------------------------


def test_period_export_takes_the_orders_placed_in_the_store_days_given(
    manager_client: Client,
) -> None:
    order_with_notice("2026-01-04", "before@example.com")
    first, _ = order_with_notice("2026-01-05", "first@example.com")
    # 23:30 in New York on the 31st is already 1 Feb in UTC: still inside the period.
    with time_machine.travel(at("2026-01-31", 23).replace(minute=30), tick=False):
        late = place_order((ProductFactory.create(on_hand=1), 1), customer=CustomerFactory.create())
    order_with_notice("2026-02-01", "after@example.com")

    response = manager_client.get(EXPORT_URL, {"start": "2026-01-05", "end": "2026-01-31"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == (
        'attachment; filename="mail-order-rule-2026-01-05-to-2026-01-31.csv"'
    )
    rows = read_csv(response)
    assert [r["order number"] for r in rows if r["event"] == "Order placed"] == [
        first.number,
        late.number,
    ]
    assert [r["event time (store time)"] for r in rows if r["event"] == "Order placed"] == [
        "2026-01-05T10:00:00-05:00",
        "2026-01-31T23:30:00-05:00",
    ]
    first_rows = [r for r in rows if r["order number"] == first.number]
    assert [r["event"] for r in first_rows] == [
        "Order placed",
        "Mail Order Rule",
        "Mail Order Rule",
        "First delay option notice",
    ]
    assert first_rows[-1]["detail"].endswith(" [delivery: sent]")
    # An order the rule has not evaluated yet: its t0, T and basis are empty.
    late_rows = [r for r in rows if r["order number"] == late.number]
    assert (late_rows[0]["t0 (store time)"], late_rows[0]["deadline T"], late_rows[0]["basis"]) == (
        "",
        "",
        "",
    )


def test_period_export_with_no_orders_is_the_header_alone(manager_client: Client) -> None:
    response = manager_client.get(EXPORT_URL, {"start": "2026-01-01", "end": "2026-01-01"})

    assert response.status_code == 200
    assert read_csv(response) == []


def export_queries(client: Client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(EXPORT_URL, {"start": "2026-01-01", "end": "2026-01-31"})
        rows = read_csv(response)  # the queries run while the response streams
    return len(ctx.captured_queries), len(rows)


def test_period_export_queries_do_not_grow_with_orders(manager_client: Client) -> None:
    for n in range(2):
        order, notice = order_with_notice("2026-01-05", f"a{n}@example.com")
        with time_machine.travel(at("2026-01-06"), tick=False):
            consent_answer(notice=notice, choice=ConsentAnswer.Choice.CANCEL)
    two, two_rows = export_queries(manager_client)
    for n in range(8):
        order, notice = order_with_notice("2026-01-07", f"b{n}@example.com")
        with time_machine.travel(at("2026-01-08"), tick=False):
            consent_answer(notice=notice, choice=ConsentAnswer.Choice.CANCEL)

    ten, ten_rows = export_queries(manager_client)

    assert ten_rows == 5 * two_rows
    assert two == ten


@pytest.fixture
def order() -> Order:
    return place_order((ProductFactory.create(on_hand=1), 1))


def all_urls(order: Order) -> list[str]:
    return [
        record_url(order),
        record_csv_url(order),
    ]


def test_staff_without_the_permission_get_403(client: Client, order: Order) -> None:
    client.force_login(UserFactory.create())

    assert [client.get(url).status_code for url in all_urls(order)] == [403, 403]


def test_staff_with_the_view_permission_get_the_records(client: Client, order: Order) -> None:
    clerk = UserFactory.create()
    clerk.user_permissions.add(Permission.objects.get(codename="view_ordercompliance"))
    client.force_login(clerk)

    assert [client.get(url).status_code for url in all_urls(order)] == [200, 200]


def test_customers_and_anonymous_visitors_go_to_the_login_page(
    client: Client, order: Order
) -> None:
    client.force_login(UserFactory.create(is_staff=False))
    responses = [client.get(url) for url in all_urls(order)]
    client.logout()
    responses += [client.get(url) for url in all_urls(order)]

    assert [r.status_code for r in responses] == [302] * 4
    assert all(r["Location"].startswith(reverse("admin:login")) for r in responses)


def test_record_page_only_answers_get(admin_client: Client, order: Order) -> None:
    assert admin_client.post(record_url(order)).status_code == 405

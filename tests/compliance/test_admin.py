"""Admin for the Mail Order Rule, the Order admin's additions, and the cancel/payment actions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib import messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import ConsentAnswer, DelayNotice, OrderCompliance
from compliance.services import consent_answer
from notifications.models import Notification
from orders.models import Order
from tests.compliance.test_records import at, email_text, order_with_notice
from tests.factories import ProductFactory, place_order
from tests.inventory.test_admin import messages_of, run_action

pytestmark = pytest.mark.django_db
ORDERS_URL = reverse("admin:orders_order_changelist")
LINES_URL = reverse("admin:orders_orderline_changelist")


def page_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def answered_orders(count: int, day: str) -> list[Order]:
    orders = []
    for n in range(count):
        order, notice = order_with_notice(day, f"{day}-{n}@example.com")
        with time_machine.travel(at(day, 15), tick=False):
            consent_answer(notice=notice, choice=ConsentAnswer.Choice.WAIT_UNTIL)
        orders.append(order)
    return orders


# --- the rule's own records -----------------------------------------------------------------


@pytest.mark.parametrize("model_name", ["ordercompliance", "delaynotice", "consentanswer"])
def test_rule_changelists_render_rows_in_constant_queries(
    admin_client: Client, model_name: str
) -> None:
    url = reverse(f"admin:compliance_{model_name}_changelist")
    answered_orders(2, "2026-01-05")
    two = page_queries(admin_client, url)
    answered_orders(4, "2026-01-06")

    six = page_queries(admin_client, url)

    assert two == six
    assert admin_client.get(url).context["cl"].result_count == 6


def test_compliance_changelist_columns_and_record_link(admin_client: Client) -> None:
    (order,) = answered_orders(1, "2026-01-05")

    response = admin_client.get(reverse("admin:compliance_ordercompliance_changelist"))

    content = " ".join(response.content.decode().split())
    change = reverse("admin:compliance_ordercompliance_change", args=[order.pk])
    assert f'<th class="field-order nowrap"><a href="{change}">{order.number}</a></th>' in content
    assert "Customer consented to a delay" in content
    assert '<td class="field-deadline nowrap">Feb. 4, 2026</td>' in content
    assert '<td class="field-revised_date nowrap">Feb. 15, 2026</td>' in content
    assert '<td class="field-consented_until nowrap">Feb. 15, 2026</td>' in content
    record = reverse("admin:compliance_record", args=[order.pk])
    assert f'<a href="{record}">record</a>' in content
    # One period export: the dashboard's, linked from here.
    assert reverse("dashboard:compliance") in content
    assert 'type="date"' not in content


def test_compliance_changelist_filters_and_searches(admin_client: Client) -> None:
    (waiting,) = answered_orders(1, "2026-01-05")
    other = place_order((ProductFactory.create(on_hand=0, lead_time_days=60), 1))
    OrderCompliance.objects.create(order=other, state=OrderCompliance.State.NOTICE_SENT)
    url = reverse("admin:compliance_ordercompliance_changelist")

    def found(**query: str) -> list[int]:
        return [row.order_id for row in admin_client.get(url, query).context["cl"].result_list]

    assert found(state="consented") == [waiting.pk]
    assert found(basis="30_days", branch="S") == [waiting.pk]
    assert found(q="2026-01-05-0@example.com") == [waiting.pk]
    assert found(q=other.number) == [other.pk]


def test_rule_records_are_read_only(admin_client: Client) -> None:
    (order,) = answered_orders(1, "2026-01-05")
    compliance = OrderCompliance.objects.get(order=order)
    notice = DelayNotice.objects.get(order=order)

    for model_name, pk in [
        ("ordercompliance", compliance.pk),
        ("delaynotice", notice.pk),
        ("consentanswer", notice.answer.pk),
    ]:
        assert admin_client.get(reverse(f"admin:compliance_{model_name}_add")).status_code == 403
        change = admin_client.get(reverse(f"admin:compliance_{model_name}_change", args=[pk]))
        assert change.status_code == 200
        assert change.context["adminform"].form.fields == {}
        delete = reverse(f"admin:compliance_{model_name}_delete", args=[pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_delay_notice_page_shows_the_email_text_and_the_answer(admin_client: Client) -> None:
    (order,) = answered_orders(1, "2026-01-05")
    notice = DelayNotice.objects.get(order=order)

    response = admin_client.get(reverse("admin:compliance_delaynotice_change", args=[notice.pk]))

    content = response.content.decode()
    text = email_text(notice)
    assert "15 Feb 2026" in text  # the revised date
    assert str(_escape(text)) in content
    assert "I&#x27;ll wait until the revised date" in content
    assert reverse("admin:compliance_record", args=[order.pk]) in content


def _escape(text: str) -> str:
    from django.utils.html import escape

    return str(escape(text))


# --- the Order admin ------------------------------------------------------------------------


def test_order_page_shows_emails_rule_panel_and_record_link(admin_client: Client) -> None:
    (order,) = answered_orders(1, "2026-01-05")

    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    assert response.status_code == 200
    inlines = [f.opts.__class__.__name__ for f in response.context["inline_admin_formsets"]]
    assert inlines[-1] == "OrderEmailInline"
    content = " ".join(response.content.decode().split())
    assert 'class="fieldset-heading">Mail Order Rule</h2>' in content
    assert '<th scope="row">State</th><td>Customer consented to a delay</td>' in content
    assert "<td>4 Feb 2026 (30 days after the order was properly completed)</td>" in content
    assert "Express until 15 Feb 2026" in content
    record = reverse("admin:compliance_record", args=[order.pk])
    assert f'<a href="{record}">Open the Mail Order Rule record</a>' in content
    # Every email of the order, with the text the customer received.
    kinds = {n.get_kind_display() for n in Notification.objects.filter(order=order)}
    assert kinds
    assert {"Order confirmation", "Delay option notice", "Consent confirmed"} <= kinds
    for kind in kinds:
        assert kind in content
    notice = DelayNotice.objects.get(order=order)
    assert _escape(email_text(notice)).split("\n")[2] in content


def test_order_page_queries_do_not_grow_with_emails(admin_client: Client) -> None:
    few = place_order((ProductFactory.create(on_hand=1), 1))
    (many,) = answered_orders(1, "2026-01-05")
    assert Notification.objects.filter(order=many).count() > 1
    # the first page a process serves fills its caches (content types, the store's settings)
    admin_client.get(reverse("admin:orders_order_change", args=[few.pk]))

    counts = [
        page_queries(admin_client, reverse("admin:orders_order_change", args=[o.pk]))
        for o in (few, many)
    ]

    assert counts[0] == counts[1]


def test_order_changelist_queries_still_do_not_grow(admin_client: Client) -> None:
    answered_orders(2, "2026-01-05")
    two = page_queries(admin_client, ORDERS_URL)
    answered_orders(4, "2026-01-06")

    assert page_queries(admin_client, ORDERS_URL) == two


# --- cancelling with a cause ----------------------------------------------------------------


def test_record_dishonoured_payment(admin_client: Client) -> None:
    order = place_order((ProductFactory.create(on_hand=1), 1))
    assert order.paid_at is not None

    response = run_action(
        admin_client, ORDERS_URL, "record_payment_dishonoured", [order], reason="Cheque bounced"
    )

    order.refresh_from_db()
    assert order.paid_at is None
    assert messages_of(response) == [
        (messages.SUCCESS, f"{order.number}: Payment dishonoured: Cheque bounced")
    ]


def test_record_dishonoured_payment_needs_a_reason(admin_client: Client) -> None:
    order = place_order((ProductFactory.create(on_hand=1), 1))

    response = run_action(
        admin_client, ORDERS_URL, "record_payment_dishonoured", [order], reason=""
    )

    assert "reason" in response.context["form"].errors
    order.refresh_from_db()
    assert order.paid_at is not None


def test_record_payment_received_in_store_time(admin_client: Client) -> None:
    order = place_order((ProductFactory.create(on_hand=1), 1))
    run_action(admin_client, ORDERS_URL, "record_payment_dishonoured", [order], reason="Bounced")

    response = run_action(
        admin_client, ORDERS_URL, "record_payment_received", [order], received_at="2025-01-08T16:30"
    )

    order.refresh_from_db()
    # 16:30 in New York in January is 21:30 UTC.
    assert order.paid_at == dt.datetime(2025, 1, 8, 21, 30, tzinfo=dt.UTC)
    assert messages_of(response) == [
        (messages.SUCCESS, f"{order.number}: Payment received: {order.amount_paid}")
    ]


def test_record_payment_received_now_and_not_twice(admin_client: Client) -> None:
    order = place_order((ProductFactory.create(on_hand=1), 1))
    run_action(admin_client, ORDERS_URL, "record_payment_dishonoured", [order], reason="Bounced")

    run_action(admin_client, ORDERS_URL, "record_payment_received", [order], received_at="")
    again = run_action(admin_client, ORDERS_URL, "record_payment_received", [order])

    order.refresh_from_db()
    assert order.paid_at is not None
    assert (messages.ERROR, f"{order.number}: Order {order.number} is already paid.") in (
        messages_of(again)
    )


def test_payment_cannot_be_received_in_the_future(admin_client: Client) -> None:
    order = place_order((ProductFactory.create(on_hand=1), 1))
    run_action(admin_client, ORDERS_URL, "record_payment_dishonoured", [order], reason="Bounced")

    later = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = run_action(
        admin_client, ORDERS_URL, "record_payment_received", [order], received_at=f"{later}T00:01"
    )

    assert response.context["form"].errors["received_at"] == [
        "A payment cannot be received in the future."
    ]
    order.refresh_from_db()
    assert order.paid_at is None

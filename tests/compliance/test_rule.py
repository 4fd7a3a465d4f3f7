"""The FTC Mail Order Rule, as behaviour: deadlines, option notices, consent, cancellation and
refunds, on a fixed clock in the store's time zone (America/New_York).

Every scenario follows the rule's text (16 CFR 435). ETAs come from purchase orders the way staff
set them: a line's ETA is the PO line's expected date plus one handling day, so each PO date
below is the day before the ETA it stands for. Decisions on commit do not run in these tests,
so each step calls rule_run() explicitly, as the hourly beat would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from compliance.models import ConsentAnswer, DelayNotice, NoticeFollowUp, OrderCompliance
from compliance.selectors import compliance_record, notice_follow_ups_open
from compliance.services import consent_answer, notice_follow_up_done, rule_run
from inventory.models import Product, PurchaseOrderLine
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from notifications.services import delivery_event_record, notification_send
from orders.models import Order, OrderEvent, Refund, Shipment, ShippingRate, ShippingRateBand
from orders.services import (
    LineRequest,
    order_payment_dishonoured,
    order_payment_received,
    order_place,
    product_allocate,
    product_discontinue,
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
    refund_due_date,
    refund_mark_failed,
    refund_mark_issued,
    shipment_create,
    shipping_rate_for,
)
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
State = OrderCompliance.State
Kind = Notification.Kind


# --- helpers -------------------------------------------------------------------------------


def at(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment in the store's time zone."""
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=NY)


def date(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


@contextmanager
def on(day: str, hour: int = 10, minute: int = 0) -> Iterator[None]:
    """Do a step at a store moment; the outbox then sends what is due, as its worker would."""
    with time_machine.travel(at(day, hour, minute), tick=False):
        yield
        outbox_send()


def outbox_send() -> None:
    for pk in Notification.objects.filter(
        state=Notification.State.PENDING, send_after__lte=timezone.now()
    ).values_list("pk", flat=True):
        notification_send(notification_id=pk)


def lamp(**fields: object) -> Product:
    """A $40 desk lamp, out of stock, with no lead time: its ETA comes only from POs."""
    defaults: dict[str, object] = {
        "name": "Desk Lamp",
        "unit_price": Decimal("40.00"),
        "on_hand": 0,
        "lead_time_days": None,
    }
    return ProductFactory(**(defaults | fields))


def supply(product: Product, expected: str, quantity: int = 10) -> PurchaseOrderLine:
    """Send a PO for `product` expected on `expected` (the ETA is one handling day later)."""
    supplier = supplier_create(name=f"Supplier for {product.sku}")
    po = purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(product, quantity, date(expected))],
        send=True,
    )
    return po.lines.get()


def reschedule(line: PurchaseOrderLine, expected: str) -> None:
    purchase_order_line_reschedule(
        line=line, expected_date=date(expected), reason="The supplier's ship is late"
    )


def arrive(line: PurchaseOrderLine, quantity: int | None = None) -> None:
    """Receive a PO line and allocate, as the task does once the receipt has committed."""
    purchase_order_line_receive(line=line, quantity=quantity or line.quantity_ordered)
    product_allocate(product_id=line.product_id)


def order_for(*items: tuple[Product, int], **kwargs: object) -> Order:
    customer = CustomerFactory(email="jane@example.com", name="Jane Doe")
    kwargs.setdefault("shipping_charge", Decimal("5.95"))
    return place_order(*items, customer=customer, **kwargs)


def rule(order: Order) -> OrderCompliance:
    return OrderCompliance.objects.get(order=order)


def notice_of(order: Order) -> DelayNotice:
    return DelayNotice.objects.filter(order=order).latest("sent_at", "id")


def send(order: Order, kind: str) -> EmailMultiAlternatives:
    """Send the order's latest email of `kind` and return the message the customer gets."""
    notification = Notification.objects.filter(order=order, kind=kind).latest("created_at", "id")
    assert notification_send(notification_id=notification.pk) == Notification.State.SENT
    [message] = [
        m
        for m in mail.outbox
        if m.extra_headers.get("X-Backorder-Desk-Notification") == str(notification.pk)
    ]
    return message


def html_of(message: EmailMultiAlternatives) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(html)


def one_line(text: str) -> str:
    """Email text with its line breaks folded, to match sentences wherever they wrap."""
    return " ".join(text.split())


def refund_of(order: Order) -> tuple[Decimal, dt.date]:
    refund = Refund.objects.get(order=order)
    return refund.amount, refund.due_date


def kinds_sent(order: Order) -> list[str]:
    return sorted(
        Notification.objects.filter(
            order=order,
            kind__in=[Kind.DELAY_NOTICE, Kind.RENEWED_NOTICE, Kind.CANCELLATION],
        ).values_list("kind", flat=True)
    )


@pytest.fixture
def example() -> tuple[Order, PurchaseOrderLine]:
    """FTC_RULE.md's example: a $40 lamp (+ $5.95 shipping) paid by card on Mon 2026-01-05,
    no time stated, so T = 2026-02-04. The PO first promises the lamp for 2026-01-21."""
    with on("2026-01-05", 9):
        product = lamp()
        po_line = supply(product, "2026-01-20")
    with on("2026-01-05"):
        order = order_for((product, 1))
        rule_run()
    return order, po_line


# --- the deadline T ---------------------------------------------------------------------------


def test_example_deadline_is_30_days_after_payment(example):
    order, _ = example

    compliance = rule(order)
    assert compliance.state == State.ON_TIME
    assert compliance.properly_completed_at == at("2026-01-05")
    assert (compliance.deadline, compliance.basis) == (date("2026-02-04"), "30_days")
    assert order.lines.get().eta == date("2026-01-21")
    assert OrderEvent.objects.filter(
        order=order,
        kind=OrderEvent.Kind.MAIL_ORDER_RULE,
        message="Deadline: ship by 4 Feb 2026 (30 days after the order was properly completed).",
    ).exists()


def test_t_counts_calendar_days_in_the_store_time_zone():
    # 23:30 in New York is already the next day in UTC: T still counts from the store's day.
    with on("2026-01-05", 23, 30):
        order = order_for((lamp(on_hand=1), 1))
        rule_run()

    assert rule(order).deadline == date("2026-02-04")


def test_a_stated_ship_date_is_the_deadline():
    with on("2026-01-05", 9):
        product = lamp()
        supply(product, "2026-01-20")
    with on("2026-01-05"):
        order = order_for((product, 1), promised_ship_date=date("2026-01-15"))
        rule_run()

    compliance = rule(order)
    assert (compliance.deadline, compliance.basis) == (date("2026-01-15"), "stated_date")
    # The PO's date (ETA 21 Jan) misses the stated date: a branch S notice at once.
    notice = notice_of(order)
    assert (notice.branch, notice.deadline, notice.revised_date) == (
        "S",
        date("2026-01-15"),
        date("2026-01-21"),
    )


def test_stated_business_days_skip_thanksgiving():
    # Wed 2026-11-25, "ships in 3 business days": Thu 26 is Thanksgiving, so Fri 27, Mon 30,
    # Tue 1 Dec.
    with on("2026-11-25", 9):
        on_time, late = lamp(sku="LAMP-A"), lamp(sku="LAMP-B")
        supply(on_time, "2026-11-30")  # ETA 1 Dec: on T, on time
        supply(late, "2026-12-01")  # ETA 2 Dec: one day late
    with on("2026-11-25"):
        first = order_for((on_time, 1), promised_business_days=3)
        second = place_order(
            (late, 1), customer=CustomerFactory(email="joe@example.com"), promised_business_days=3
        )
        rule_run()

    assert (rule(first).deadline, rule(first).basis) == (date("2026-12-01"), "stated_days")
    assert rule(first).state == State.ON_TIME
    assert not DelayNotice.objects.filter(order=first).exists()
    assert rule(second).deadline == date("2026-12-01")
    notice = notice_of(second)
    assert (notice.branch, notice.revised_date, notice.answer_by) == (
        "S",
        date("2026-12-02"),
        date("2026-12-02"),
    )
    text = one_line(send(second, Kind.DELAY_NOTICE).body)
    assert f"we can't ship your order {second.number} by 1 Dec 2026" in text
    assert "We now expect to ship it by 2 Dec 2026." in text


def test_credit_application_gives_50_days_when_no_time_was_stated():
    with on("2026-01-05", 9):
        product = lamp()
        supply(product, "2026-02-19")  # ETA 20 Feb
    with on("2026-01-05"):
        on_credit = order_for((product, 1), credit_application=True, payment_method="store_credit")
        by_card = place_order((product, 1), customer=CustomerFactory(email="joe@example.com"))
        rule_run()

    assert (rule(on_credit).deadline, rule(on_credit).basis) == (date("2026-02-24"), "50_days")
    assert rule(on_credit).state == State.ON_TIME
    assert not DelayNotice.objects.filter(order=on_credit).exists()
    # The same date is 16 days late for a card order (T = 4 Feb).
    assert (rule(by_card).state, rule(by_card).branch) == (State.NOTICE_SENT, "S")


def test_credit_order_cancelled_under_branch_l_is_refunded_within_one_billing_cycle():
    with on("2026-01-05"):
        order = order_for((lamp(), 1), credit_application=True, payment_method="store_credit")
        rule_run()
    assert (rule(order).branch, notice_of(order).answer_by) == ("L", date("2026-03-26"))

    with on("2026-03-27", 0, 30):
        rule_run()

    assert rule(order).state == State.CANCELLED
    # The shop is the creditor: one billing cycle (30 days) from the end of 26 Mar.
    assert refund_of(order) == (Decimal("45.95"), date("2026-04-25"))


def test_dishonoured_payment_moves_t0_and_the_deadline():
    with on("2026-01-05", 9):
        product = lamp()
        supply(product, "2026-01-20")
    with on("2026-01-05"):
        order = order_for((product, 1), payment_method="check")
        rule_run()
    assert rule(order).deadline == date("2026-02-04")

    with on("2026-01-07"):
        order_payment_dishonoured(order=order, reason="The check bounced")
        rule_run()
    compliance = rule(order)
    assert compliance.state == State.AWAITING_PAYMENT
    assert (compliance.properly_completed_at, compliance.deadline) == (None, None)

    # Past the old T: no notice, no cancellation while the order is not properly completed.
    with on("2026-02-06"):
        rule_run()
    assert rule(order).state == State.AWAITING_PAYMENT
    assert not DelayNotice.objects.filter(order=order).exists()
    assert not Refund.objects.filter(order=order).exists()

    with on("2026-02-10"):
        order_payment_received(order=order)
        rule_run()
    compliance = rule(order)
    assert compliance.state == State.ON_TIME
    assert compliance.properly_completed_at == at("2026-02-10")
    assert (compliance.deadline, compliance.basis) == (date("2026-03-12"), "30_days")


# --- the example: ships in time ----------------------------------------------------------------


def test_example_shipped_before_t_needs_nothing_else(example):
    order, po_line = example
    with on("2026-02-02"):
        arrive(po_line)
        rule_run()
    with on("2026-02-03"):
        shipment_create(order=order, carrier="UPS", tracking_number="1Z999")
        rule_run()
    with on("2026-03-10"):
        rule_run()

    assert rule(order).state == State.SHIPPED
    assert not DelayNotice.objects.filter(order=order).exists()
    assert kinds_sent(order) == []
    assert not Refund.objects.filter(order=order).exists()


def test_shipping_on_t_itself_is_on_time(example):
    order, po_line = example
    with on("2026-02-04", 9):
        arrive(po_line)
    with on("2026-02-04", 23, 30):
        shipment_create(order=order)
    with on("2026-02-05", 0, 30):
        rule_run()

    assert rule(order).state == State.SHIPPED
    assert kinds_sent(order) == []


def test_unshipped_at_t_without_a_notice_is_cancelled_at_the_end_of_t(example):
    order, po_line = example
    # The ETA (21 Jan) never moved, so no notice was due, but nothing shipped by T.
    with on("2026-02-04", 23, 30):
        rule_run()
    assert rule(order).state == State.ON_TIME

    with on("2026-02-05", 0, 30):
        rule_run()

    assert rule(order).state == State.CANCELLED
    assert order.lines.get().quantity_cancelled == 1
    refund = Refund.objects.get(order=order)
    assert refund.vested_at == at("2026-02-04", 23, 59).replace(second=59, microsecond=999999)
    # 7 working days after Wed 4 Feb.
    assert (refund.amount, refund.due_date) == (Decimal("45.95"), date("2026-02-13"))


# --- the example: branch S (revised date within T + 30) ---------------------------------------


def test_example_branch_s_notice_goes_out_before_t(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")  # ETA 20 Feb: 16 days after T
        rule_run()

    compliance = rule(order)
    assert (compliance.state, compliance.branch) == (State.NOTICE_SENT, "S")
    assert (compliance.revised_date, compliance.cancel_at_end_of) == (date("2026-02-20"), None)
    notice = notice_of(order)
    assert (notice.kind, notice.branch) == ("first", "S")
    assert (notice.deadline, notice.revised_date, notice.answer_by) == (
        date("2026-02-04"),
        date("2026-02-20"),
        date("2026-02-20"),
    )
    assert notice.sent_at == at("2026-01-30")
    assert notice.notification is not None
    assert notice.notification.kind == Kind.DELAY_NOTICE
    assert notice.notification.recipient == "jane@example.com"


def test_example_branch_s_silence_is_consent_to_the_revised_date(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    # After T, the notice went out in time: no cancellation, still waiting for an answer.
    for day in ("2026-02-05", "2026-02-19"):
        with on(day):
            rule_run()
        assert rule(order).state == State.NOTICE_SENT

    with on("2026-02-20", 8):
        rule_run()

    compliance = rule(order)
    assert compliance.state == State.CONSENTED
    assert (compliance.consented_until, compliance.consent_kind) == (
        date("2026-02-20"),
        "deemed",
    )
    with on("2026-02-20", 9):
        arrive(po_line)
    with on("2026-02-20", 15):
        shipment_create(order=order)
    with on("2026-02-21"):
        rule_run()
    assert rule(order).state == State.SHIPPED
    assert kinds_sent(order) == [Kind.DELAY_NOTICE]
    assert not Refund.objects.filter(order=order).exists()


def test_branch_s_notice_email_gives_the_date_the_right_to_cancel_and_what_silence_means(
    example,
):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
        message = send(order, Kind.DELAY_NOTICE)

    assert message.subject == f"Order {order.number} is delayed: please choose how to proceed"
    assert message.to == ["jane@example.com"]
    text = message.body
    assert text.startswith("Hi Jane Doe,\n\n")
    assert (
        f"We're sorry: we can't ship your order {order.number} by 4 Feb 2026 as we should."
        "\n\nWe now expect to ship it by 20 Feb 2026.\n"
        "Why: Desk Lamp: out of stock; our next delivery from the supplier is later than "
        "planned.\n\n"
        "You have the right to cancel and get a full, prompt refund. Cancelling costs you "
        'nothing: one click on "Cancel and refund" on your order page.\n\n'
        "Your choices (one click on your order page):\n"
        "- I'll wait until 20 Feb 2026\n"
        "- I'll wait, whatever the date\n"
        "- Cancel and refund\n\n"
        "If you don't answer: if we don't hear from you before we ship and before "
        "20 Feb 2026, we will take it that you agree to the delay until 20 Feb 2026."
        "\n\nIf you agree to wait whatever the date, you can still cancel at any time before "
        "we ship.\n\n"
        "Answer with one click on your order page:\nhttp://127.0.0.1:8000/orders/"
    ) in text
    assert "2026-02" not in text  # dates in words only
    html = html_of(message)
    assert "<strong>20 Feb 2026</strong>" in html
    assert "You have the right to cancel and get a full, prompt refund." in html
    # The full text is kept with the record of the notice.
    notification = notice_of(order).notification
    assert notification is not None
    notification.refresh_from_db()
    assert notification.body_text == text


# --- the example: branch L (revised date later than T + 30) ------------------------------------


def test_example_branch_l_silence_cancels_at_the_end_of_t_plus_30(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-03-19")  # ETA 20 Mar: 44 days after T
        rule_run()

    compliance = rule(order)
    assert (compliance.state, compliance.branch) == (State.NOTICE_SENT, "L")
    assert (compliance.revised_date, compliance.cancel_at_end_of) == (
        date("2026-03-20"),
        date("2026-03-06"),
    )
    notice = notice_of(order)
    # The cut-off is T + 30 even though the revised date is later.
    assert (notice.revised_date, notice.answer_by) == (date("2026-03-20"), date("2026-03-06"))

    with on("2026-03-06", 23, 30):
        rule_run()
    assert rule(order).state == State.NOTICE_SENT

    with on("2026-03-07", 0, 30):
        rule_run()

    assert rule(order).state == State.CANCELLED
    line = order.lines.get()
    assert (line.quantity_cancelled, line.quantity_backordered) == (1, 0)
    refund = Refund.objects.get(order=order)
    assert refund.vested_at == dt.datetime(2026, 3, 6, 23, 59, 59, 999999, tzinfo=NY)
    assert (refund.amount, refund.due_date) == (Decimal("45.95"), date("2026-03-17"))
    event = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.CANCELLED)
    assert event.data["cause"] == "mail_order_rule"


def test_branch_l_notice_email_says_silence_cancels_at_t_plus_30(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-03-19")
        rule_run()
        text = send(order, Kind.DELAY_NOTICE).body

    assert "We now expect to ship it by 20 Mar 2026." in text
    assert "You have the right to cancel and get a full, prompt refund." in text
    assert "- I'll wait until 20 Mar 2026\n- I'll wait, whatever the date\n" in text
    assert (
        "If you don't answer: unless you tell us by 6 Mar 2026 that you agree to wait, or we "
        "ship by then, we will cancel the delayed items at the end of 6 Mar 2026 and refund "
        "you in full."
    ) in text
    assert "we will take it that you agree" not in text


def test_branch_l_without_a_date_gives_the_reason_and_offers_no_dated_wait():
    with on("2026-01-05"):
        order = order_for((lamp(name="Brass Lamp"), 1))  # no PO, no lead time: no date
        rule_run()
        text = send(order, Kind.DELAY_NOTICE).body

    notice = notice_of(order)
    assert (notice.branch, notice.revised_date, notice.answer_by) == ("L", None, date("2026-03-06"))
    assert (
        "We can't give you a new shipping date yet.\nThe reason: Brass Lamp: out of stock and our "
        "supplier has not confirmed a delivery date."
    ) in text
    assert "Your choices (one click on your order page):\n- I'll wait, whatever the date\n" in text
    assert "I'll wait until" not in text
    assert "at the end of 6 Mar 2026 and refund you in full." in text


def test_shipping_by_t_plus_30_keeps_a_branch_l_order(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-03-19")
        rule_run()
    with on("2026-03-05"):
        reschedule(po_line, "2026-03-05")
        arrive(po_line)
        shipment_create(order=order)
    with on("2026-03-07"):
        rule_run()

    assert rule(order).state == State.SHIPPED
    assert not Refund.objects.filter(order=order).exists()


@pytest.mark.parametrize(
    ("po_date", "eta", "branch", "answer_by"),
    [
        ("2026-03-05", "2026-03-06", "S", "2026-03-06"),  # R = T + 30: still branch S
        ("2026-03-06", "2026-03-07", "L", "2026-03-06"),  # R = T + 31: branch L
    ],
)
def test_branch_boundary_is_t_plus_30(example, po_date, eta, branch, answer_by):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, po_date)
        rule_run()

    notice = notice_of(order)
    assert (notice.revised_date, notice.branch, notice.answer_by) == (
        date(eta),
        branch,
        date(answer_by),
    )


def test_notice_on_t_itself_is_in_time(example):
    order, po_line = example
    with on("2026-02-04", 22):
        reschedule(po_line, "2026-02-19")
        rule_run()

    assert (rule(order).state, notice_of(order).sent_at) == (
        State.NOTICE_SENT,
        at("2026-02-04", 22),
    )


def test_delay_learned_after_t_sends_no_notice_and_cancels_at_t(example):
    order, po_line = example
    with on("2026-02-05", 9):
        reschedule(po_line, "2026-02-19")
        rule_run()

    assert not DelayNotice.objects.filter(order=order).exists()
    assert kinds_sent(order) == [Kind.CANCELLATION]
    assert rule(order).state == State.CANCELLED
    assert refund_of(order) == (Decimal("45.95"), date("2026-02-13"))


# --- express and indefinite consent -------------------------------------------------------------


def test_branch_s_express_consent_to_the_revised_date(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    with on("2026-01-31"):
        answer = consent_answer(notice=notice_of(order), choice="wait_until")
        rule_run()

    assert (answer.choice, answer.received_at) == ("wait_until", at("2026-01-31"))
    compliance = rule(order)
    assert (compliance.state, compliance.consent_kind, compliance.consented_until) == (
        State.CONSENTED,
        "express",
        date("2026-02-20"),
    )
    with on("2026-01-31"):
        text = send(order, Kind.CONSENT_CONFIRMED).body
    assert (
        f"Thank you: we have your answer about order {order.number}.\n\n"
        "You agreed to wait until 20 Feb 2026. If we can't ship by then, we'll ask you "
        "again before that date."
    ) in text


def test_branch_l_express_consent_keeps_the_order_past_t_plus_30(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-03-19")
        rule_run()
    with on("2026-02-10"):
        consent_answer(notice=notice_of(order), choice="wait_until")
    with on("2026-03-07", 0, 30):
        rule_run()

    compliance = rule(order)
    assert (compliance.state, compliance.consented_until) == (State.CONSENTED, date("2026-03-20"))
    assert compliance.cancel_at_end_of is None
    with on("2026-03-20"):
        arrive(po_line)
        shipment_create(order=order)
    with on("2026-03-21"):
        rule_run()
    assert rule(order).state == State.SHIPPED
    assert kinds_sent(order) == [Kind.DELAY_NOTICE]


def test_wait_until_needs_a_date(example):
    with on("2026-01-05"):
        order = order_for((lamp(sku="NODATE"), 1))
        rule_run()
        with pytest.raises(ValidationError) as refused:
            consent_answer(notice=notice_of(order), choice="wait_until")

    assert refused.value.messages == [
        "This notice gives no date; choose to wait whatever the date."
    ]


def test_indefinite_consent_needs_no_further_notices():
    with on("2026-01-05"):
        product = lamp()
        order = order_for((product, 1))  # no date at all: branch L
        rule_run()
    with on("2026-01-10"):
        consent_answer(notice=notice_of(order), choice="wait_indefinitely")
        text = send(order, Kind.CONSENT_CONFIRMED).body
    assert (
        "You agreed to wait, whatever the date. You can still cancel for a full refund at any "
        "time before we ship, on your order page."
    ) in text

    # Past T + 30, a date appears and slips: no renewed notice, no cancellation.
    with on("2026-03-07"):
        rule_run()
    with on("2026-04-01"):
        po_line = supply(product, "2026-04-30")
        rule_run()
    with on("2026-04-20"):
        reschedule(po_line, "2026-06-30")
        rule_run()

    compliance = rule(order)
    assert (compliance.state, compliance.consent_kind, compliance.consented_until) == (
        State.CONSENTED_INDEFINITELY,
        "indefinite",
        None,
    )
    assert DelayNotice.objects.filter(order=order).count() == 1
    assert kinds_sent(order) == [Kind.DELAY_NOTICE]
    assert order.lines.get().quantity_backordered == 1


# --- renewed notice ----------------------------------------------------------------------------


@pytest.fixture
def deemed_consent(example) -> tuple[Order, PurchaseOrderLine]:
    """Branch S notice on 30 Jan (R = 20 Feb), no answer: consent deemed."""
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    return order, po_line


def test_renewed_notice_when_the_consented_date_will_be_missed(deemed_consent):
    order, po_line = deemed_consent
    with on("2026-02-15"):
        reschedule(po_line, "2026-03-09")  # ETA 10 Mar, after the 20 Feb agreed
        rule_run()

    compliance = rule(order)
    assert compliance.state == State.RENEWED_NOTICE_SENT
    assert (compliance.consent_kind, compliance.revised_date, compliance.cancel_at_end_of) == (
        "deemed",
        date("2026-03-10"),
        date("2026-02-20"),
    )
    notice = notice_of(order)
    assert (notice.kind, notice.deadline, notice.revised_date, notice.answer_by) == (
        "renewed",
        date("2026-02-20"),
        date("2026-03-10"),
        date("2026-02-20"),
    )
    with on("2026-02-15"):
        message = send(order, Kind.RENEWED_NOTICE)
    assert message.subject == (f"Order {order.number} is delayed again: your consent is needed")
    assert (
        f"We're sorry: we can't ship your order {order.number} by 20 Feb 2026, the date you "
        "agreed to wait for.\n\n"
        "We now expect to ship it by 10 Mar 2026.\n"
        "Why: Desk Lamp: out of stock; our next delivery from the supplier is later than "
        "planned.\n\n"
        "Unless you agree to this further delay before the end of 20 Feb 2026, we will take "
        "it that you don't, cancel the delayed items if they have not shipped, and refund you in "
        "full, promptly. You can also cancel now, at no cost.\n\n"
        "Your choices (one click on your order page):\n"
        "- I'll wait until 10 Mar 2026\n"
        "- I'll wait, whatever the date\n"
        "- Cancel and refund\n"
    ) in message.body


def test_silence_after_a_renewed_notice_cancels_at_the_end_of_the_consented_date(
    deemed_consent,
):
    order, po_line = deemed_consent
    with on("2026-02-15"):
        reschedule(po_line, "2026-03-09")
        rule_run()
    with on("2026-02-20", 23, 30):
        rule_run()
    assert rule(order).state == State.RENEWED_NOTICE_SENT

    with on("2026-02-21", 0, 30):
        rule_run()
        rule_run()

    assert rule(order).state == State.CANCELLED
    # Silence is never consent to a further delay: cancelled at the end of Fri 20 Feb.
    assert refund_of(order) == (Decimal("45.95"), date("2026-03-03"))
    assert kinds_sent(order) == [Kind.CANCELLATION, Kind.DELAY_NOTICE, Kind.RENEWED_NOTICE]


def test_express_consent_to_a_renewed_notice_moves_the_agreed_date(deemed_consent):
    order, po_line = deemed_consent
    with on("2026-02-15"):
        reschedule(po_line, "2026-03-09")
        rule_run()
    with on("2026-02-16"):
        consent_answer(notice=notice_of(order), choice="wait_until")
    with on("2026-02-21"):
        rule_run()

    compliance = rule(order)
    assert (compliance.state, compliance.consent_kind, compliance.consented_until) == (
        State.CONSENTED,
        "express",
        date("2026-03-10"),
    )
    # It slips once more: a second renewed notice, answerable until the end of 10 Mar.
    with on("2026-03-01"):
        reschedule(po_line, "2026-03-30")
        rule_run()
    notice = notice_of(order)
    assert (notice.kind, notice.deadline, notice.revised_date, notice.answer_by) == (
        "renewed",
        date("2026-03-10"),
        date("2026-03-31"),
        date("2026-03-10"),
    )
    assert DelayNotice.objects.filter(order=order, kind="renewed").count() == 2
    with on("2026-03-11"):
        rule_run()
    assert rule(order).state == State.CANCELLED


def test_missing_an_expressly_agreed_date_without_warning_cancels_at_its_end(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    with on("2026-01-31"):
        consent_answer(notice=notice_of(order), choice="wait_until")
    with on("2026-02-21", 0, 30):
        rule_run()

    assert rule(order).state == State.CANCELLED
    assert Refund.objects.get(order=order).vested_at == dt.datetime(
        2026, 2, 20, 23, 59, 59, 999999, tzinfo=NY
    )


# --- the customer's answers: cancel, twice, too late, after shipment ------------------------------


def test_customer_cancels_before_shipment_and_is_refunded_everything(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    with on("2026-01-31"):  # a Saturday
        consent_answer(notice=notice_of(order), choice="cancel")
        rule_run()
        text = send(order, Kind.CANCELLATION).body

    assert rule(order).state == State.CANCELLED
    assert order.lines.get().quantity_cancelled == 1
    # Everything paid, shipping included, within 7 working days (Mon 2 to Tue 10 Feb).
    assert refund_of(order) == (Decimal("45.95"), date("2026-02-10"))
    assert (
        f"As you asked, we've cancelled the following from your order {order.number}:\n"
        "- 1 × Desk Lamp\n\n"
        "Reason: The customer chose to cancel after a delay notice\n\n"
        "We'll refund $45.95 to the way you paid by 10 Feb 2026."
    ) in text
    assert Notification.objects.filter(order=order, kind=Kind.CONSENT_CONFIRMED).exists()


def test_a_choice_after_shipment_is_refused_politely(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    with on("2026-02-18"):
        reschedule(po_line, "2026-02-17")
        arrive(po_line)
        shipment_create(order=order)
    # The customer clicks the link in the old notice before the next run.
    with on("2026-02-18", 11), pytest.raises(ValidationError) as refused:
        consent_answer(notice=notice_of(order), choice="cancel")

    assert refused.value.messages == [
        "Your order has already shipped, so there is nothing left to change here. "
        "If you no longer want it, our returns policy applies."
    ]
    assert not ConsentAnswer.objects.exists()
    assert not Refund.objects.filter(order=order).exists()
    assert order.lines.get().quantity_shipped == 1


def test_a_choice_after_the_rule_cancelled_the_order_does_not_claim_it_shipped(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-03-19")
        rule_run()
    with on("2026-03-07", 0, 30):
        rule_run()
    assert rule(order).state == State.CANCELLED

    with on("2026-03-08"), pytest.raises(ValidationError) as refused:
        consent_answer(notice=notice_of(order), choice="wait_until")

    message = " ".join(refused.value.messages)
    assert "already shipped" not in message
    assert "closed" in message or "cancelled" in message


def test_the_first_answer_counts(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    notice = notice_of(order)
    with on("2026-01-31"):
        consent_answer(notice=notice, choice="wait_until")
    with on("2026-02-01"), pytest.raises(ValidationError) as refused:
        consent_answer(notice=notice, choice="cancel")

    assert refused.value.messages == [
        "We already have your answer to this notice; the first one counts."
    ]
    assert list(ConsentAnswer.objects.values_list("choice", flat=True)) == ["wait_until"]
    assert rule(order).state == State.CONSENTED
    assert not Refund.objects.filter(order=order).exists()
    assert Notification.objects.filter(order=order, kind=Kind.CONSENT_CONFIRMED).count() == 1


@pytest.mark.parametrize("renewed", [False, True], ids=["branch-L", "renewed"])
def test_a_wait_after_the_cut_off_is_too_late(example, renewed):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19" if renewed else "2026-03-19")
        rule_run()
    if renewed:
        with on("2026-02-15"):
            reschedule(po_line, "2026-03-09")
            rule_run()
    cut_off = notice_of(order).answer_by
    day_after = (cut_off + dt.timedelta(days=1)).isoformat()

    with on(day_after, 0, 10), pytest.raises(ValidationError):
        consent_answer(notice=notice_of(order), choice="wait_until")
    with on(day_after, 0, 30):
        rule_run()

    assert rule(order).state == State.CANCELLED
    assert Refund.objects.get(order=order).vested_at == dt.datetime.combine(
        cut_off, dt.time(23, 59, 59, 999999), tzinfo=NY
    )


# --- substitutes ---------------------------------------------------------------------------------


@pytest.fixture
def with_substitute() -> tuple[Order, Product]:
    """The desk lamp with no date (branch L), and a Mk2 lamp in stock that can stand in."""
    with on("2026-01-05"):
        mk2 = ProductFactory(sku="LAMP-MK2", name="Desk Lamp Mk2", on_hand=3)
        product = lamp(substitutes=[mk2])
        order = order_for((product, 1))
        rule_run()
    return order, mk2


def test_the_notice_offers_the_substitute_by_name(with_substitute):
    order, _ = with_substitute
    with on("2026-01-05"):
        text = send(order, Kind.DELAY_NOTICE).body

    assert "- Send Desk Lamp Mk2 instead of Desk Lamp\n" in text


def test_a_substitute_needs_express_consent(with_substitute):
    order, mk2 = with_substitute
    with on("2026-01-05"):
        text = send(order, Kind.DELAY_NOTICE).body
    assert "- Send Desk Lamp Mk2 instead of " in text
    # Never shipped without the customer's answer.
    assert order.lines.count() == 1

    line = order.lines.get()
    with on("2026-01-06"):
        consent_answer(
            notice=notice_of(order), choice="substitute", substitute_sku="LAMP-MK2", line_id=line.pk
        )
        confirmation = send(order, Kind.CONSENT_CONFIRMED).body

    line.refresh_from_db()
    assert (line.quantity_cancelled, line.quantity_substituted, line.quantity_backordered) == (
        1,
        1,
        0,
    )
    new_line = order.lines.get(product=mk2)
    assert (new_line.quantity, new_line.quantity_allocated, new_line.unit_price) == (
        1,
        1,
        Decimal("40.00"),
    )
    assert not Refund.objects.filter(order=order).exists()
    assert (
        "You accepted a substitute: Desk Lamp Mk2 instead of Desk Lamp. It is set aside for you "
        "at the price you paid and ships soon; the delayed item is cancelled."
    ) in confirmation


def test_a_substitute_accepted_after_t_is_not_cancelled_by_the_next_run(with_substitute):
    order, mk2 = with_substitute
    line = order.lines.get()
    with on("2026-02-10"):  # after T (4 Feb), before T + 30
        consent_answer(
            notice=notice_of(order), choice="substitute", substitute_sku="LAMP-MK2", line_id=line.pk
        )
    with on("2026-02-10", 11):
        rule_run()

    new_line = order.lines.get(product=mk2)
    assert (new_line.quantity_allocated, new_line.quantity_cancelled) == (1, 0)
    assert not Refund.objects.filter(order=order).exists()
    with on("2026-02-11"):
        shipment_create(order=order)
        rule_run()
    assert rule(order).state == State.SHIPPED


# --- partial shipment: the refund difference rule -------------------------------------------------


@pytest.mark.parametrize(
    ("free_over", "shipping_charge", "paid", "refund"),
    [
        # Flat rate: $40 + $25 + $5.95 paid; the lamp alone would cost $40 + $5.95.
        (None, "5.95", "70.95", "25.00"),
        # Free shipping over $50: $65 paid; the lamp alone is under $50, so it would have cost
        # $40 + $5.95 shipping, and the refund is $65 - $45.95, not the cable's $25.
        ("50.00", "0.00", "65.00", "19.05"),
        # The shop waived shipping on an order its rules would have charged: the shipped lamp
        # is never charged more shipping than the customer paid, so the cable's $25 comes back.
        (None, "0.00", "65.00", "25.00"),
    ],
    ids=["flat-rate", "free-over-50", "shipping-waived"],
)
def test_partly_shipped_order_refunds_paid_minus_what_the_shipped_items_alone_cost(
    settings, free_over, shipping_charge, paid, refund
):
    settings.SHIPPING_FREE_OVER = Decimal(free_over) if free_over else None
    with on("2026-01-05"):
        in_stock = lamp(on_hand=1)
        cable = lamp(sku="CABLE", name="Braided Cable", unit_price=Decimal("25.00"))
        order = order_for((in_stock, 1), (cable, 1), shipping_charge=Decimal(shipping_charge))
        rule_run()  # the cable has no date: branch L
    assert order.amount_paid == Decimal(paid)
    with on("2026-01-06"):
        shipment_create(order=order)
    with on("2026-03-07", 0, 30):
        rule_run()
        text = send(order, Kind.CANCELLATION).body

    assert rule(order).state == State.CANCELLED  # the unshipped part, under the rule
    cancelled = order.lines.get(product=cable)
    assert (cancelled.quantity_cancelled, cancelled.quantity_shipped) == (1, 0)
    assert order.lines.get(product=in_stock).quantity_shipped == 1
    assert refund_of(order) == (Decimal(refund), date("2026-03-17"))
    assert "- 1 × Braided Cable\n\n" in text
    assert f"We'll refund ${refund} to the way you paid by 17 Mar 2026." in text


# --- orders the rule does not cover -------------------------------------------------------------


@pytest.mark.parametrize(
    ("payment_method", "all_exempt", "reason"),
    [
        ("cod", False, "Exempt: cash on delivery."),
        ("bill_me", False, 'Exempt: "bill me" order, paid on invoice after delivery.'),
        ("card", True, "Exempt: only services, seeds or growing plants."),
    ],
)
def test_exempt_orders_get_no_notices_and_are_never_cancelled(payment_method, all_exempt, reason):
    with on("2026-01-05"):
        seeds = lamp(name="Tomato Seeds", exempt_from_mail_order_rule=all_exempt)
        order = order_for((seeds, 1), payment_method=payment_method, paid=payment_method == "card")
        rule_run()
    with on("2026-04-01"):
        rule_run()

    compliance = rule(order)
    assert (compliance.state, compliance.exempt_reason) == (State.EXEMPT, reason)
    assert compliance.deadline is None
    assert not DelayNotice.objects.filter(order=order).exists()
    assert kinds_sent(order) == []
    assert order.lines.get().quantity_backordered == 1


def test_an_exempt_line_does_not_make_a_covered_order_late():
    with on("2026-01-05"):
        seeds = lamp(name="Tomato Seeds", exempt_from_mail_order_rule=True)
        order = order_for((lamp(sku="IN-STOCK", on_hand=1), 1), (seeds, 1))
        rule_run()
    with on("2026-01-06"):
        shipment_create(order=order)
    with on("2026-03-10"):
        rule_run()

    assert rule(order).state == State.SHIPPED
    assert not DelayNotice.objects.filter(order=order).exists()
    # The seeds still wait: the rule does not cancel what it does not cover.
    assert order.lines.get(product=seeds).quantity_backordered == 1


# --- refund due dates: 7 working days, US federal holidays excluded ------------------------------


@pytest.mark.parametrize(
    ("vested", "payment_method", "due"),
    [
        (at("2026-01-16", 15), "card", "2026-01-28"),  # Fri; Mon 19 Jan is MLK Day
        (at("2026-01-15", 23, 30), "card", "2026-01-27"),  # already 16 Jan in UTC
        (at("2026-07-02"), "check", "2026-07-14"),  # Fri 3 Jul: Independence Day observed
        (at("2026-11-10"), "money_order", "2026-11-20"),  # Wed 11 Nov: Veterans Day
        (at("2026-11-25"), "card", "2026-12-07"),  # Thu 26 Nov: Thanksgiving
        (at("2026-12-23"), "paypal", "2027-01-05"),  # Christmas and New Year's Day
        (at("2026-12-23"), "store_credit", "2027-01-22"),  # one billing cycle (30 days)
    ],
)
def test_refund_due_dates_count_working_days(vested, payment_method, due):
    assert refund_due_date(vested_at=vested, payment_method=payment_method) == date(due)


def test_a_cancellation_before_thanksgiving_is_due_after_the_holiday():
    with on("2026-11-25", 9):
        product = lamp()
        supply(product, "2026-12-01")
    with on("2026-11-25"):
        order = order_for((product, 1), promised_business_days=3)
        rule_run()
        consent_answer(notice=notice_of(order), choice="cancel")

    assert refund_of(order) == (Decimal("45.95"), date("2026-12-07"))


# --- idempotency, the switch, and the record ------------------------------------------------------


def test_running_the_engine_twice_sends_one_notice_and_cancels_once(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-03-19")
        rule_run()
        rule_run()
    with on("2026-01-30", 11):
        rule_run()
    assert DelayNotice.objects.filter(order=order).count() == 1
    assert Notification.objects.filter(order=order, kind=Kind.DELAY_NOTICE).count() == 1
    rule_events = OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.MAIL_ORDER_RULE)
    assert rule_events.filter(message__startswith="First delay notice").count() == 1

    with on("2026-03-07", 0, 30):
        rule_run()
        rule_run()
    with on("2026-03-07", 1, 30):
        rule_run()
    assert Refund.objects.filter(order=order).count() == 1
    assert Notification.objects.filter(order=order, kind=Kind.CANCELLATION).count() == 1
    assert OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.CANCELLED).count() == 1


def test_nothing_happens_when_the_rule_is_switched_off(settings):
    settings.MAIL_ORDER_RULE_ENABLED = False
    with on("2026-01-05"):
        order = order_for((lamp(), 1))
        rule_run()
    with on("2026-03-07"):
        rule_run()

    assert not OrderCompliance.objects.exists()
    assert not DelayNotice.objects.exists()
    assert not Refund.objects.exists()
    assert kinds_sent(order) == []
    assert order.lines.get().quantity_backordered == 1


def test_the_record_keeps_t_each_notice_with_its_text_and_delivery_and_the_refund(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-03-19")
        rule_run()
        notice_text = send(order, Kind.DELAY_NOTICE).body
    with on("2026-03-07", 0, 30):
        rule_run()

    compliance, rows = compliance_record(order_id=order.pk)
    assert compliance is not None
    assert (compliance.properly_completed_at, compliance.deadline) == (
        at("2026-01-05"),
        date("2026-02-04"),
    )
    by_what = {row.what: row for row in rows}
    notice_row = by_what["First delay option notice"]
    assert notice_row.at == at("2026-01-30")
    assert notice_row.detail == notice_text + " [delivery: sent]"
    assert by_what["Refund owed"].detail == "$45.95 due 17 Mar 2026"
    assert any(
        row.detail.startswith(
            "Cancelled under the Mail Order Rule: no consent to the delay by 6 Mar 2026"
        )
        for row in rows
    )


# --- the cancellation email under the rule ------------------------------------------------------


def test_the_rule_cancellation_email_says_why_under_the_ftc_rule_and_the_refund(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-03-19")
        rule_run()
    with on("2026-03-07", 0, 30):
        rule_run()
        message = send(order, Kind.CANCELLATION)

    assert message.subject == f"Order {order.number}: cancellation and refund"
    text = message.body
    assert f"We're sorry: we could not ship the following from your order {order.number}" in text
    assert (
        "- 1 × Desk Lamp\n\n"
        "Under the FTC Mail Order Rule we have cancelled this item and will refund you in full."
        "\n\nWe'll refund $45.95 to the way you paid by 17 Mar 2026."
    ) in text
    assert "2026-03-06" not in text  # no raw dates from the engine's internal reason
    assert "Under the FTC Mail Order Rule we have cancelled this item" in html_of(message)


@pytest.mark.parametrize(
    ("po_date", "when", "missed"),
    [
        ("2026-03-19", "2026-03-07", "6 Mar 2026"),  # branch L: no consent by T + 30
        ("2026-01-20", "2026-02-05", "4 Feb 2026"),  # T passed without a notice
    ],
    ids=["branch-L", "no-notice"],
)
def test_the_rule_cancellation_email_names_the_missed_date(example, po_date, when, missed):
    order, po_line = example
    with on("2026-01-30"):
        if po_date != "2026-01-20":
            reschedule(po_line, po_date)
        rule_run()
    with on(when, 0, 30):
        rule_run()
        text = send(order, Kind.CANCELLATION).body

    assert (
        f"We're sorry: we could not ship the following from your order {order.number} by "
        f"{missed}:\n- 1 × Desk Lamp\n"
    ) in text


# --- one bad order never stops the engine ------------------------------------------------------


def test_one_order_that_breaks_the_engine_does_not_stop_the_run():
    with on("2026-01-05", 9):
        product = lamp()
        supply(product, "2026-03-20")
        no_date_yet = lamp(name="Floor Lamp")
    with on("2026-01-05"):
        bad = order_for((no_date_yet, 1))
        good = order_for((product, 1))
    # A ship-by date at the end of the calendar (typed before input had bounds); the item has
    # no date, so the engine looks 30 days past it, beyond the last date there is.
    Order.objects.filter(pk=bad.pk).update(promised_ship_date=dt.date.max)

    with on("2026-01-30"):
        assert rule_run(order_ids=[bad.pk, good.pk]) == 2

    # The good order was evaluated after the bad one failed: it got its deadline and notice.
    compliance = rule(good)
    assert compliance.deadline == date("2026-02-04")
    assert compliance.state == State.NOTICE_SENT
    # The bad one's failure is on its record, for staff to see.
    [failure] = OrderEvent.objects.filter(
        order=bad, kind=OrderEvent.Kind.MAIL_ORDER_RULE, data__failure__isnull=False
    )
    assert failure.message.startswith("The Mail Order Rule could not be applied to this order")
    assert "OverflowError" in failure.data["failure"]
    assert rule(bad).engine_failure == "OverflowError: date value out of range"
    assert not OrderCompliance.objects.filter(order=bad, deadline__isnull=False).exists()

    # The next run records the same failure once, not once an hour.
    with on("2026-01-30", 11):
        rule_run(order_ids=[bad.pk, good.pk])
    assert OrderEvent.objects.filter(order=bad, data__failure__isnull=False).count() == 1


# --- exemptions per line: later issues of a subscription ------------------------------------


def _subscription_order(*, first_issue_waits: bool) -> Order:
    customer = CustomerFactory(email="jane@example.com", name="Jane Doe")
    issue_one = lamp(
        sku="MAG-1", name="Garden Monthly, issue 1", on_hand=0 if first_issue_waits else 1
    )
    issue_two = lamp(sku="MAG-2", name="Garden Monthly, issue 2")
    return order_place(
        customer_email=customer.email,
        lines=[
            LineRequest(sku=issue_one.sku, quantity=1),
            LineRequest(sku=issue_two.sku, quantity=1, later_subscription_issue=True),
        ],
    )


def test_a_later_subscription_issue_is_exempt_while_the_first_issue_stays_covered():
    with on("2026-01-05"):
        order = _subscription_order(first_issue_waits=False)
        rule_run()
    with on("2026-01-06"):
        shipment_create(order=order)
    with on("2026-03-10"):
        rule_run()

    # The first issue shipped; issue 2 (no date yet) never made the order late.
    assert rule(order).state == State.SHIPPED
    assert not DelayNotice.objects.filter(order=order).exists()
    assert order.lines.get(product__sku="MAG-2").quantity_backordered == 1
    assert not Refund.objects.filter(order=order).exists()


def test_the_first_issue_of_a_subscription_is_covered():
    with on("2026-01-05"):
        order = _subscription_order(first_issue_waits=True)
        rule_run()
    # Issue 1 has no date: the customer is told about issue 1, and only about it.
    notice = DelayNotice.objects.get(order=order)
    assert notice.delay_reason.startswith("Garden Monthly, issue 1:")
    assert "issue 2" not in notice.delay_reason
    with on("2026-03-07", 0, 30):
        rule_run()

    # No answer by T + 30: issue 1 is cancelled under the rule; issue 2 still waits.
    assert rule(order).state == State.CANCELLED
    assert order.lines.get(product__sku="MAG-1").quantity_cancelled == 1
    assert order.lines.get(product__sku="MAG-2").quantity_backordered == 1


def test_an_order_of_later_issues_only_is_exempt():
    with on("2026-01-05"):
        customer = CustomerFactory()
        issue = lamp(sku="MAG-3")
        order = order_place(
            customer_email=customer.email,
            lines=[{"sku": issue.sku, "quantity": 1, "later_subscription_issue": True}],
        )
        rule_run()

    assert rule(order).state == State.EXEMPT
    assert order.lines.get().later_subscription_issue is True


def test_later_subscription_issue_must_be_true_or_false():
    issue = lamp(sku="MAG-4")
    with pytest.raises(ValidationError, match="later_subscription_issue must be true or false"):
        order_place(
            customer_email="jane@example.com",
            lines=[{"sku": issue.sku, "quantity": 1, "later_subscription_issue": "yes"}],
        )


# --- shipping late is refused at the moment of shipping -------------------------------------


def test_shipping_after_t_without_consent_is_refused_when_staff_ship(example):
    order, po_line = example
    with on("2026-02-05", 8):
        arrive(po_line)  # the lamps arrive the morning after T; no notice ever went out
    with on("2026-02-05", 9), pytest.raises(ValidationError) as refused:
        shipment_create(order=order, carrier="UPS")

    assert refused.value.messages == [
        f"Order {order.number} cannot ship: under the Mail Order Rule it had to ship by "
        "4 Feb 2026 and the customer has not agreed to a later date. The delayed items must be "
        "cancelled and refunded instead."
    ]
    assert not Shipment.objects.filter(order=order).exists()
    assert order.lines.get().quantity_allocated == 1
    with on("2026-02-05", 10):
        rule_run()
    assert rule(order).state == State.CANCELLED


def test_shipping_after_t_with_consent_to_a_later_date_goes_ahead(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")  # ETA 20 Feb: a branch S notice
        rule_run()
    consent_answer(
        notice=notice_of(order), choice=ConsentAnswer.Choice.WAIT_UNTIL, now=at("2026-01-31")
    )
    with on("2026-02-19"):
        arrive(po_line)
    with on("2026-02-20", 15):
        shipment_create(order=order, carrier="UPS")
        rule_run()

    assert rule(order).state == State.SHIPPED
    assert not Refund.objects.filter(order=order).exists()


def test_shipping_after_the_consented_date_is_refused(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    consent_answer(
        notice=notice_of(order), choice=ConsentAnswer.Choice.WAIT_UNTIL, now=at("2026-01-31")
    )
    with on("2026-02-21", 9):
        arrive(po_line)
        with pytest.raises(ValidationError, match="had to ship by 20 Feb 2026"):
            shipment_create(order=order)


def test_a_shipment_cannot_be_dated_before_it_is_recorded(example):
    order, po_line = example
    with on("2026-02-04", 9):
        arrive(po_line)
    # Shipped on T according to the clerk, but only recorded the next morning.
    with on("2026-02-05", 9), pytest.raises(ValidationError) as refused:
        shipment_create(order=order, shipped_at=at("2026-02-04", 16))

    assert refused.value.messages == [
        "A shipment is recorded when it is handed to the carrier: it cannot be dated earlier "
        "than now (2026-02-04 16:00 was given)."
    ]
    assert not Shipment.objects.filter(order=order).exists()


def test_the_ship_screen_shows_why_a_late_order_cannot_ship(client, example):
    order, po_line = example
    client.force_login(staff_in("Operations"))
    with on("2026-02-05", 8):
        arrive(po_line)
    line = order.lines.get()
    with on("2026-02-05", 9):
        response = client.post(
            reverse("dashboard:ship_order", args=[order.pk]), {f"line_{line.pk}": "1"}
        )

    assert response.status_code == 200
    assert (
        "it had to ship by 4 Feb 2026 and the customer has not agreed" in response.content.decode()
    )
    assert not Shipment.objects.filter(order=order).exists()


# --- a payment refused after a notice or consent ---------------------------------------------


def test_a_payment_refused_after_consent_voids_the_notice_and_the_consent(example):
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")  # ETA 20 Feb: branch S
        rule_run()
    old_notice = notice_of(order)
    consent_answer(notice=old_notice, choice=ConsentAnswer.Choice.WAIT_UNTIL, now=at("2026-01-31"))
    assert rule(order).consented_until == date("2026-02-20")

    # The card is refused and good payment arrives before the engine runs again.
    with on("2026-02-01"):
        order_payment_dishonoured(order=order, reason="Card refused by the bank")
    with on("2026-02-03"):
        order_payment_received(order=order)
        rule_run()

    compliance = rule(order)
    assert compliance.properly_completed_at == at("2026-02-03")
    assert compliance.deadline == date("2026-03-05")
    assert compliance.state == State.ON_TIME
    assert (compliance.consented_until, compliance.revised_date, compliance.branch) == (
        None,
        None,
        "",
    )
    assert OrderEvent.objects.filter(
        order=order,
        message="The payment moved: earlier delay notices and consent no longer count.",
    ).exists()
    # The old notice can no longer be answered.
    with pytest.raises(ValidationError, match="no longer applies"):
        consent_answer(notice=old_notice, choice=ConsentAnswer.Choice.CANCEL, now=at("2026-02-04"))

    # The new deadline gets its own notice when it will be missed.
    with on("2026-03-01"):
        reschedule(po_line, "2026-03-19")
        rule_run()
    new_notice = notice_of(order)
    assert new_notice != old_notice
    assert (new_notice.deadline, new_notice.revised_date) == (
        date("2026-03-05"),
        date("2026-03-20"),
    )
    assert rule(order).state == State.NOTICE_SENT


def test_a_payment_refused_and_made_good_with_the_same_stated_date_gets_a_new_notice():
    with on("2026-01-05", 9):
        product = lamp()
        supply(product, "2026-02-19")  # ETA 20 Feb
    with on("2026-01-05"):
        order = order_for((product, 1), promised_ship_date=date("2026-02-04"))
        rule_run()
    first = notice_of(order)
    assert (first.deadline, first.revised_date) == (date("2026-02-04"), date("2026-02-20"))

    with on("2026-01-20"):
        order_payment_dishonoured(order=order, reason="The check bounced")
        rule_run()
    assert rule(order).state == State.AWAITING_PAYMENT
    with on("2026-01-22"):
        order_payment_received(order=order)
        rule_run()

    # Same stated date, but the first notice went out under a payment that failed.
    second = notice_of(order)
    assert second != first
    assert (second.deadline, second.revised_date) == (date("2026-02-04"), date("2026-02-20"))
    assert rule(order).state == State.NOTICE_SENT


# --- a notice counts only once it has reached the buyer ---------------------------------------


def _bounce(order: Order, kind: str = Kind.DELAY_NOTICE) -> None:
    email = Notification.objects.get(order=order, kind=kind)
    assert email.state == Notification.State.SENT
    # The provider's id for the message, as a real provider returns it.
    Notification.objects.filter(pk=email.pk).update(provider_message_id=f"msg-{email.pk}")
    delivery_event_record(
        event_id=f"bounce-{email.pk}",
        event_type="bounced",
        message_id=f"msg-{email.pk}",
        recipient=email.recipient,
    )


@pytest.fixture
def bounced_notice(example) -> tuple[Order, PurchaseOrderLine]:
    """The example with a branch S notice (ETA 20 Feb) whose email bounced on 31 Jan."""
    order, po_line = example
    with on("2026-01-30"):
        reschedule(po_line, "2026-02-19")
        rule_run()
    with on("2026-01-31"):
        _bounce(order)
        rule_run()
    return order, po_line


def test_a_bounced_notice_asks_staff_to_tell_the_customer_another_way(bounced_notice):
    order, _ = bounced_notice

    [follow_up] = NoticeFollowUp.objects.filter(order=order)
    assert (follow_up.due_by, follow_up.problem, follow_up.done_at) == (
        date("2026-02-04"),
        "its email bounced",
        None,
    )
    assert list(notice_follow_ups_open()) == [follow_up]
    assert OrderEvent.objects.filter(
        order=order,
        message="The delay notice did not reach the customer (its email bounced): staff must "
        "tell them another way (phone) by the end of 4 Feb 2026, or the order is cancelled then.",
    ).exists()


def test_a_bounced_notice_nobody_followed_up_cancels_the_order_at_t(bounced_notice):
    order, _ = bounced_notice
    with on("2026-02-05", 0, 30):
        rule_run()

    # Not a deemed consent to 20 Feb: the customer never had the notice.
    compliance = rule(order)
    assert compliance.state == State.CANCELLED
    assert compliance.consented_until is None
    assert refund_of(order) == (Decimal("45.95"), date("2026-02-13"))
    cancelled = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.CANCELLED)
    assert cancelled.message.startswith(
        "Cancelled 1 unit: the delay notice did not reach the customer by 4 Feb 2026 (its "
        "email bounced, and no other way of telling them was recorded)"
    )


def test_phoning_the_customer_before_t_makes_the_notice_count(bounced_notice):
    order, _ = bounced_notice
    follow_up = NoticeFollowUp.objects.get(order=order)
    with on("2026-02-03"):
        notice_follow_up_done(follow_up=follow_up, how="Phoned Jane and read her the notice")
    with on("2026-02-05", 0, 30):
        rule_run()
    assert rule(order).state == State.NOTICE_SENT
    with on("2026-02-20"):
        rule_run()

    compliance = rule(order)
    assert (compliance.state, compliance.consented_until) == (State.CONSENTED, date("2026-02-20"))
    assert not Refund.objects.filter(order=order).exists()
    assert list(notice_follow_ups_open()) == []
    assert OrderEvent.objects.filter(
        order=order, message="Delay notice given another way: Phoned Jane and read her the notice"
    ).exists()


def test_a_follow_up_after_t_is_refused(bounced_notice):
    order, _ = bounced_notice
    follow_up = NoticeFollowUp.objects.get(order=order)
    with (
        on("2026-02-05"),
        pytest.raises(
            ValidationError, match="Too late: the customer had to be told by the end of 4 Feb 2026"
        ),
    ):
        notice_follow_up_done(follow_up=follow_up, how="Phoned")
    follow_up.refresh_from_db()
    assert follow_up.done_at is None


def test_a_notice_still_unsent_at_t_is_no_notice(example):
    order, po_line = example
    # The outbox is stuck: the notice is written but its email never leaves.
    with time_machine.travel(at("2026-01-30"), tick=False):
        reschedule(po_line, "2026-02-19")
        rule_run()
    assert Notification.objects.get(order=order, kind=Kind.DELAY_NOTICE).state == "pending"
    with time_machine.travel(at("2026-02-05", 0, 30), tick=False):
        rule_run()

    assert rule(order).state == State.CANCELLED
    assert (
        "(its email had not gone out, and no other way"
        in OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.CANCELLED).message
    )


# --- a discontinued product is never a wait ------------------------------------------------------


def test_a_discontinued_product_is_cancelled_refunded_and_a_substitute_offered(with_substitute):
    order, mk2 = with_substitute
    # The customer had agreed to wait whatever the date.
    consent_answer(
        notice=notice_of(order),
        choice=ConsentAnswer.Choice.WAIT_INDEFINITELY,
        now=at("2026-01-06"),
    )
    with on("2026-01-12"):
        product_discontinue(product=order.lines.get().product)
        rule_run()

    line = order.lines.get()
    assert (line.quantity_cancelled, line.quantity_backordered) == (1, 0)
    assert rule(order).state == State.CANCELLED
    # Everything paid back, due 7 working days after Mon 12 Jan (MLK day excluded).
    assert refund_of(order) == (Decimal("45.95"), date("2026-01-22"))
    # No further notice offers a wait; the customer is told, with the substitute on offer.
    assert DelayNotice.objects.filter(order=order).count() == 1
    with on("2026-01-12", 11):
        text = one_line(send(order, Kind.DISCONTINUED).body)
    assert "has been discontinued and will not come back in stock, so we've cancelled it" in text
    assert "Instead, you might like: Desk Lamp Mk2 (LAMP-MK2)" in text
    assert "We'll refund $45.95 to the way you paid by 22 Jan 2026." in text
    assert OrderEvent.objects.filter(
        order=order,
        message="Discontinued items cancelled and refunded instead of kept waiting: "
        f"{line.product.sku}",
    ).exists()


def test_allocated_units_of_a_discontinued_product_still_ship():
    with on("2026-01-05"):
        product = lamp(on_hand=1)
        order = order_for((product, 2))
        rule_run()
    with on("2026-01-06"):
        product_discontinue(product=product)
        rule_run()

    line = order.lines.get()
    assert (line.quantity_allocated, line.quantity_cancelled) == (1, 1)
    with on("2026-01-07"):
        shipment_create(order=order)
        rule_run()
    assert rule(order).state == State.SHIPPED


# --- a refund that fails is owed another way ------------------------------------------------------


def test_a_failed_card_refund_is_owed_by_check_within_7_working_days_of_learning_of_it(example):
    order, _ = example
    with on("2026-02-05", 0, 30):
        rule_run()  # not shipped by T, no notice: cancelled, refund due 13 Feb
    refund = Refund.objects.get(order=order)
    with on("2026-02-09"):
        refund_mark_issued(refund=refund, reference="Card refund re_1")
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("45.95")

    # The bank returns it on Thu 12 Feb: the card is closed.
    with on("2026-02-12"):
        refund_mark_failed(refund=refund, reason="The card is closed", method="check")

    refund.refresh_from_db()
    assert (refund.failure_reason, refund.other_method) == ("The card is closed", "check")
    # 7 working days after Thu 12 Feb, Presidents' Day (16 Feb) excluded.
    assert refund.due_date == date("2026-02-24")
    assert refund.issued_at is None
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("0.00")
    assert OrderEvent.objects.filter(
        order=order,
        message="Refund of $45.95 failed (The card is closed): now owed by check by 24 Feb 2026",
    ).exists()
    with on("2026-02-13"):
        refund_mark_issued(refund=refund, reference="Check 1042")
    assert Order.objects.get(pk=order.pk).amount_refunded == Decimal("45.95")


@pytest.mark.parametrize(
    ("reason", "method", "message"),
    [
        ("", "check", "Recording a failed refund needs a reason."),
        ("Card closed", "store_credit", "Choose how the refund is owed instead"),
    ],
)
def test_a_failed_refund_needs_a_reason_and_cash_check_or_money_order(
    example, reason, method, message
):
    order, _ = example
    with on("2026-02-05", 0, 30):
        rule_run()
    refund = Refund.objects.get(order=order)
    with pytest.raises(ValidationError, match=message):
        refund_mark_failed(refund=refund, reason=reason, method=method)
    refund.refresh_from_db()
    assert (refund.failed_at, refund.due_date) == (None, date("2026-02-13"))


# --- the store's shipping rate table ------------------------------------------------------------


def rate_table(kind: str, amount: str = "0.00", bands: tuple[tuple[str, str], ...] = ()) -> None:
    table = ShippingRate.objects.create(
        name="Store rates", kind=kind, amount=Decimal(amount), is_active=True
    )
    for start, charge in bands:
        ShippingRateBand.objects.create(
            table=table, subtotal_from=Decimal(start), amount=Decimal(charge)
        )


@pytest.mark.parametrize(
    ("kind", "amount", "bands", "shipping_charge", "paid", "refund"),
    [
        # Bands: under $50 pays $7.50, $50 and up pays $4.00. $40 + $25 + $4 paid; the lamp
        # alone ($40) would have paid $7.50, so $69 - $47.50 comes back.
        ("bands", "0.00", (("0", "7.50"), ("50", "4.00")), "4.00", "69.00", "21.50"),
        # Per item, $3 a unit: $40 + 2 × $25 + $9 paid; the lamp alone pays $3.
        ("per_item", "3.00", (), "9.00", "99.00", "56.00"),
        # A flat $8 from the table (not the settings' $5.95).
        ("flat", "8.00", (), "8.00", "73.00", "25.00"),
    ],
    ids=["bands", "per-item", "flat-table"],
)
def test_partly_shipped_refund_prices_the_shipped_part_with_the_store_rate_table(
    kind, amount, bands, shipping_charge, paid, refund
):
    rate_table(kind, amount, bands)
    cables = 2 if kind == "per_item" else 1
    with on("2026-01-05"):
        in_stock = lamp(on_hand=1)
        cable = lamp(sku="CABLE", name="Braided Cable", unit_price=Decimal("25.00"))
        order = order_for((in_stock, 1), (cable, cables), shipping_charge=Decimal(shipping_charge))
        rule_run()  # the cable has no date: branch L
    assert order.amount_paid == Decimal(paid)
    with on("2026-01-06"):
        shipment_create(order=order)
    with on("2026-03-07", 0, 30):
        rule_run()

    assert rule(order).state == State.CANCELLED
    assert refund_of(order) == (Decimal(refund), date("2026-03-17"))


@pytest.mark.parametrize(
    ("subtotal", "items", "expected"),
    [("0", 0, "0.00"), ("49.99", 1, "7.50"), ("50", 1, "4.00"), ("120", 3, "0.00")],
)
def test_a_banded_table_charges_the_band_the_subtotal_falls_in(subtotal, items, expected):
    rate_table("bands", bands=(("0", "7.50"), ("50", "4.00")))
    ShippingRate.objects.update(free_over=Decimal("100"))
    assert shipping_rate_for(Decimal(subtotal), items) == Decimal(expected)


def test_without_a_rate_table_the_settings_rate_applies(settings):
    settings.SHIPPING_FLAT_RATE, settings.SHIPPING_FREE_OVER = Decimal("5.95"), None
    ShippingRate.objects.create(name="Draft", kind="flat", amount=Decimal("9"), is_active=False)
    assert shipping_rate_for(Decimal("40.00"), 1) == Decimal("5.95")


def test_a_bounced_renewed_notice_must_reach_the_customer_before_the_agreed_date(deemed_consent):
    order, po_line = deemed_consent
    with on("2026-02-15"):
        reschedule(po_line, "2026-03-09")  # renewed notice: the agreed 20 Feb is missed
        rule_run()
    with on("2026-02-16"):
        _bounce(order, Kind.RENEWED_NOTICE)
        rule_run()

    follow_up = NoticeFollowUp.objects.get(order=order)
    assert (follow_up.notice, follow_up.due_by) == (notice_of(order), date("2026-02-20"))
    with on("2026-02-18"):
        notice_follow_up_done(follow_up=follow_up, how="Phoned: she agrees to wait to 10 Mar")
    consent_answer(
        notice=notice_of(order),
        choice=ConsentAnswer.Choice.WAIT_UNTIL,
        via="phone",
        now=at("2026-02-18", 11),
    )
    with on("2026-02-21"):
        rule_run()
    assert (rule(order).state, rule(order).consented_until) == (State.CONSENTED, date("2026-03-10"))


def test_a_notice_for_many_waiting_items_names_the_first_and_counts_the_rest():
    # Eight long product names would not fit the notice's 300 characters.
    products = [
        ProductFactory(
            name=f"Handmade Walnut Reading Lamp With Linen Shade No. {n}",
            on_hand=0,
            lead_time_days=None,
        )
        for n in range(1, 9)
    ]
    with on("2026-01-05"):
        order = place_order(*((p, 1) for p in products))
        rule_run()  # no delivery date anywhere: the notice goes out at once

    notice = DelayNotice.objects.get(order=order)
    assert len(notice.delay_reason) <= 300
    assert notice.delay_reason.startswith("Handmade Walnut Reading Lamp With Linen Shade No. 1, ")
    assert "Shade No. 4 and 4 other items: out of stock" in notice.delay_reason
    assert OrderCompliance.objects.get(order=order).state == OrderCompliance.State.NOTICE_SENT

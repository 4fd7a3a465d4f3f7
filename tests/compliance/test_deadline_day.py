"""A deadline day: many orders whose supplier failed reach the end of their consent window
together, and the engine cancels them in batches of the same products, refreshing each
product's queue once per batch. The outcome is the one of deciding each order alone, one
transaction each; the cost per order stays the same whatever the number of orders."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from compliance.models import ConsentAnswer, OrderCompliance
from compliance.selectors import orders_due_for_rule, substitute_choices
from compliance.services import consent_answer, order_rule_evaluate, rule_run
from compliance.services.notices import _choices
from notifications.models import Notification
from orders.models import Order, OrderEvent, OrderLine, Refund
from orders.services import product_discontinue
from tests.compliance.test_rule import at, lamp, notice_of, on, reschedule, supply
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db

State = OrderCompliance.State
Kind = Notification.Kind


def order_of(*items: tuple[Any, int]) -> Order:
    return place_order(*items, customer=CustomerFactory(), shipping_charge=Decimal("5.95"))


def supplier_fails() -> tuple[list[Order], list[Order]]:
    """A lamp and a chair, both on a PO expected 20 January that the supplier moves to 1 May.
    Orders paid on 5 January (T = 4 February) got a branch L notice and stayed silent; orders
    paid on 1 February (T = 3 March) did too, and may still answer until 2 April."""
    with on("2026-01-05", 9):
        desk_lamp = lamp()
        chair = lamp(name="Chair", unit_price=Decimal("60.00"))
        lamp_po = supply(desk_lamp, "2026-01-20", quantity=8)
        chair_po = supply(chair, "2026-01-20", quantity=5)
    with on("2026-01-05"):
        due = [
            order_of((desk_lamp, 2)),
            order_of((desk_lamp, 1), (chair, 2)),
            order_of((chair, 1)),
            order_of((desk_lamp, 1)),
        ]
        rule_run()
    with on("2026-01-10"):
        reschedule(lamp_po, "2026-05-01")
        reschedule(chair_po, "2026-05-01")
        rule_run()
    with on("2026-02-01"):
        waiting = [
            order_of((desk_lamp, 2)),
            order_of((desk_lamp, 3), (chair, 2)),
            order_of((chair, 2)),
            order_of((desk_lamp, 2)),
        ]
        rule_run()
    assert {OrderCompliance.objects.get(order=o).state for o in due + waiting} == {
        State.NOTICE_SENT
    }
    return due, waiting


def outcome(decide: Any) -> dict[str, list[Any]]:
    """Decide on 7 March (the day after the first orders' consent window closed), send every
    email due, and return what a customer or staff could see; then undo it all."""
    mail.outbox.clear()
    with transaction.atomic():
        with on("2026-03-07", 1):
            decide()
        with on("2026-03-07", 3):
            pass  # the ETA emails' gathering window has passed: they go out too
        seen = {
            "lines": sorted(
                OrderLine.objects.values_list(
                    "order__number",
                    "product__sku",
                    "quantity_allocated",
                    "quantity_cancelled",
                    "eta",
                    "eta_source",
                    "eta_reference",
                )
            ),
            "refunds": sorted(
                Refund.objects.values_list(
                    "order__number", "amount", "due_date", "vested_at", "reason", "order_line_id"
                )
            ),
            "events": sorted(
                (e.order.number, e.kind, e.message, json.dumps(e.data, sort_keys=True))
                for e in OrderEvent.objects.select_related("order")
            ),
            "rule": sorted(
                OrderCompliance.objects.values_list(
                    "order__number", "state", "branch", "cancel_at_end_of"
                )
            ),
            "emails": sorted((m.to[0], m.subject, m.body) for m in mail.outbox),
        }
        transaction.set_rollback(True)
    mail.outbox.clear()
    return seen


def test_a_deadline_day_in_batches_ends_as_deciding_each_order_alone():
    due, waiting = supplier_fails()
    ids = orders_due_for_rule()

    def alone() -> None:
        for order_id in ids:
            order_rule_evaluate(order_id=order_id)

    one_by_one = outcome(alone)
    batched = outcome(lambda: rule_run(batch_size=3))

    assert batched == one_by_one
    # What both did: the silent orders cancelled, one refund and one email each, whatever
    # their number of lines; the others wait, now with a date from the PO the cancelled
    # orders no longer hold.
    states = dict((number, state) for number, state, _, _ in batched["rule"])
    assert {states[o.number] for o in due} == {State.CANCELLED}
    assert {states[o.number] for o in waiting} == {State.NOTICE_SENT}
    assert sorted(number for number, *_ in batched["refunds"]) == sorted(o.number for o in due)
    assert dict((number, amount) for number, amount, *_ in batched["refunds"])[
        due[1].number
    ] == Decimal("165.95")
    cancellations = [e for e in batched["emails"] if e[1].endswith("cancellation and refund")]
    assert sorted(to for to, *_ in cancellations) == sorted(o.customer.email for o in due)
    new_dates = [e for e in batched["emails"] if e[1].startswith("New delivery estimate")]
    assert new_dates
    waiting_lines = [row for row in batched["lines"] if row[0] in {o.number for o in waiting}]
    assert {(row[4].isoformat(), row[5]) for row in waiting_lines} == {("2026-05-02", "po")}


def test_orders_due_on_one_product_cost_the_same_queries_whatever_their_number(
    django_assert_num_queries,
):
    """The rule's cancellation of n orders of one product: a fixed number of statements per
    batch, none per order (the batch is read, cancelled, recorded and refreshed set-based, its
    orders decided under one savepoint)."""
    counts = {}
    for n in (2, 6):
        with on("2026-01-05"):
            product = lamp()
            supply(product, "2026-01-20", quantity=20)
            orders = [order_of((product, 1)) for _ in range(n)]
            rule_run(order_ids=[o.pk for o in orders])
        with on("2026-02-05"), CaptureQueriesContext(connection) as queries:
            rule_run(order_ids=[o.pk for o in orders])
        counts[n] = len(queries)
        assert {OrderCompliance.objects.get(order=o).state for o in orders} == {State.CANCELLED}
    assert counts[6] == counts[2]
    with on("2026-01-05"):
        product = lamp()
        supply(product, "2026-01-20", quantity=20)
        orders = [order_of((product, 1)) for _ in range(10)]
        rule_run(order_ids=[o.pk for o in orders])
    with on("2026-02-05"), django_assert_num_queries(counts[2]):
        rule_run(order_ids=[o.pk for o in orders])
    assert {OrderCompliance.objects.get(order=o).state for o in orders} == {State.CANCELLED}


def test_the_waiting_units_set_aside_for_a_cancelled_order_go_to_the_first_order_still_waiting():
    with on("2026-01-05"):
        product = lamp(on_hand=2)
        supply(product, "2026-01-20", quantity=10)
        first = order_of((product, 3))  # 2 set aside, 1 waiting
        second = order_of((product, 1))
        rule_run()
    with on("2026-01-20"):
        later = order_of((product, 2))
        rule_run()
    with on("2026-02-05"):  # T passed for the first two, with no notice sent
        rule_run()

    assert OrderCompliance.objects.get(order=first).state == State.CANCELLED
    assert OrderCompliance.objects.get(order=second).state == State.CANCELLED
    assert later.lines.get().quantity_allocated == 2
    assert first.lines.get().quantity_allocated == 0
    assert product.stock.__class__.objects.get(pk=product.pk).allocated == 2
    # The order that got the units heard of it once, not once per cancelled order.
    assert OrderEvent.objects.filter(order=later, kind=OrderEvent.Kind.ALLOCATED).count() == 1


def test_discontinued_lines_of_an_order_are_cancelled_with_one_refund_and_one_email():
    with on("2026-01-05"):
        desk_lamp = lamp()
        chair = lamp(name="Chair", unit_price=Decimal("60.00"))
        order = order_of((desk_lamp, 1), (chair, 2))
        rule_run()
    with on("2026-01-12"):
        product_discontinue(product=desk_lamp)
        product_discontinue(product=chair)
        rule_run()

    [event] = OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.CANCELLED)
    assert event.data["cause"] == "discontinued"
    assert event.data["reason"] == "Chair, Desk Lamp are discontinued and will not be made again"
    assert [row["cancelled"] for row in event.data["lines"]] == [1, 2]
    [refund] = Refund.objects.filter(order=order)
    assert refund.amount == Decimal("165.95")
    assert Notification.objects.filter(order=order, kind=Kind.DISCONTINUED).count() == 1
    assert OrderCompliance.objects.get(order=order).state == State.CANCELLED


def test_the_notice_offers_exactly_the_substitutes_the_page_offers(django_assert_num_queries):
    with on("2026-01-05"):
        spare = ProductFactory(sku="LAMP-MK2", name="Desk Lamp Mk2", on_hand=5)
        short = ProductFactory(sku="LAMP-MK3", name="Desk Lamp Mk3", on_hand=1)
        products = [lamp(name=f"Lamp {i}", substitutes=[spare, short]) for i in range(3)]
        order = order_of(*((product, 2) for product in products))

    with django_assert_num_queries(2):
        offered = _choices(order)

    assert offered == [
        {
            "line": choice.line_id,
            "sku": choice.product_sku,
            "name": choice.product_name,
            "substitute": "LAMP-MK2",
            "substitute_name": "Desk Lamp Mk2",
        }
        for choice in substitute_choices(order=order)
    ]
    assert [row["name"] for row in offered] == ["Lamp 0", "Lamp 1", "Lamp 2"]


def test_cancelling_after_agreeing_to_wait_whatever_the_date_is_confirmed_by_email():
    with on("2026-01-05"):
        product = lamp()
        order = order_of((product, 1))
        rule_run()
    notice = notice_of(order)
    with on("2026-01-06"):
        consent_answer(notice=notice, choice=ConsentAnswer.Choice.WAIT_INDEFINITELY)
    mail.outbox.clear()

    with on("2026-01-20"):
        consent_answer(notice=notice, choice=ConsentAnswer.Choice.CANCEL, now=at("2026-01-20"))

    assert OrderCompliance.objects.get(order=order).state == State.CANCELLED
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == sorted(
        [
            f"Order {order.number}: we have your answer",
            Notification.objects.get(order=order, kind=Kind.CANCELLATION).subject,
        ]
    )
    [confirmation] = [m for m in mail.outbox if m.subject.endswith("we have your answer")]
    assert "You chose to cancel. We've cancelled the delayed items" in confirmation.body


def test_the_command_runs_the_rule_in_batches_of_the_size_asked():
    with on("2026-01-05"):
        product = lamp()
        supply(product, "2026-01-20", quantity=5)
        orders = [order_of((product, 1)) for _ in range(3)]
        rule_run()
    out = StringIO()
    with on("2026-02-05"):
        call_command("mail_order_rule", "--batch-size", "2", stdout=out)

    assert "Mail Order Rule: 3 orders evaluated." in out.getvalue()
    assert {OrderCompliance.objects.get(order=o).state for o in orders} == {State.CANCELLED}
    with pytest.raises(CommandError, match="--batch-size must be a whole number above zero"):
        call_command("mail_order_rule", "--batch-size", "0")


def test_a_waiting_order_is_decided_on_the_dates_the_days_cancellations_gave_it():
    with on("2026-01-05"):
        product = lamp()
        supply(product, "2026-01-20", quantity=4)
        first, second = order_of((product, 2)), order_of((product, 2))
        rule_run()  # both covered by the PO: on time, no notice
    with on("2026-02-04", 20):
        later = order_of((product, 2))  # beyond the PO: no date yet

    with on("2026-02-05"):
        rule_run(batch_size=3)

    assert {OrderCompliance.objects.get(order=o).state for o in (first, second)} == {
        State.CANCELLED
    }
    # The PO the cancelled orders held now covers the later order: it ships within its
    # deadline, so it gets no delay notice (it would have on the dates before the run).
    line = later.lines.get()
    assert (line.eta.isoformat(), line.eta_source) == ("2026-02-06", "po")
    assert OrderCompliance.objects.get(order=later).state == State.ON_TIME
    assert not Notification.objects.filter(order=later, kind=Kind.DELAY_NOTICE).exists()

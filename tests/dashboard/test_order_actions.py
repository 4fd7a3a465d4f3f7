"""Acting on an order from its page: each action calls the same service the other screens
call, shows only to those allowed, and says what is wrong when the input is."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from orders.models import Order, OrderEvent, Shipment
from orders.services import shipment_create
from tests.addresses import PHONE_ORDER_ADDRESS
from tests.factories import ProductFactory, place_order, staff_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    return client


@pytest.fixture
def managers(client):
    client.force_login(staff_in("Managers"))
    return client


def test_the_order_page_offers_operations_their_actions_and_not_the_managers_ones(operations):
    phone = ProductFactory(sku="PHONE-1", on_hand=1)
    cable = ProductFactory(sku="CABLE-1", on_hand=0, substitutes=[ProductFactory(on_hand=4)])
    order = place_order(
        (phone, 1), (cable, 2), paid=False, payment_method=Order.PaymentMethod.CHECK
    )
    cable_line = order.lines.get(product=cable)

    page = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()

    assert "Ship what is allocated" in page
    assert 'name="unpaid_reason"' in page
    assert "Record payment received…" in page
    assert reverse("dashboard:order_line_substitute", args=[cable_line.pk]) in page
    assert f'data-dialog="dialog-cancel-{cable_line.pk}"' in page
    assert '<dialog id="dialog-cancel-' in page
    # Prioritising and recording a bounced payment are for Managers.
    assert "Prioritise…" not in page
    assert "Payment dishonoured…" not in page


def test_managers_see_prioritise_and_a_paid_order_offers_dishonoured(managers):
    order = place_order((ProductFactory(on_hand=0), 2))

    page = managers.get(reverse("dashboard:order", args=[order.pk])).content.decode()

    assert "Prioritise…" in page
    assert "Payment dishonoured…" in page
    assert "Record payment received…" not in page
    assert "Ship what is allocated" not in page  # nothing allocated


def test_operations_cannot_cancel_a_paid_line_from_the_order_page(operations):
    order = place_order((ProductFactory(on_hand=0), 2))

    page = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()

    assert "Cancel…" not in page
    response = operations.post(
        reverse("dashboard:order_line_cancel", args=[order.lines.get().pk]),
        {"reason": "asked", "cause": "customer", "quantity": "1"},
    )
    assert response.status_code == 403


def test_cancelling_a_line_needs_a_reason_and_then_cancels_it(operations):
    order = place_order((ProductFactory(on_hand=0), 3), paid=False)
    line = order.lines.get()
    url = reverse("dashboard:order_line_cancel", args=[line.pk])

    refused = operations.post(url, {"reason": "", "cause": "customer", "quantity": "2"})

    assert refused.status_code == 400
    assert "Give a reason" in refused.content.decode() or "required" in refused.content.decode()
    line.refresh_from_db()
    assert line.quantity_cancelled == 0

    done = operations.post(url, {"reason": "asked by phone", "cause": "customer", "quantity": "2"})

    assert done.status_code == 302
    assert done["Location"] == reverse("dashboard:order", args=[order.pk])
    line.refresh_from_db()
    assert (line.quantity_cancelled, line.quantity_backordered) == (2, 1)


def test_the_queue_substitute_leads_to_a_working_substitute_form(operations):
    spare = ProductFactory(sku="CABLE-2", name="Braided cable", on_hand=5)
    cable = ProductFactory(sku="CABLE-1", on_hand=0, substitutes=[spare])
    order = place_order((cable, 2))
    line = order.lines.get()

    queue = operations.get(reverse("dashboard:queue")).content.decode()
    link = re.search(r'href="([^"]+)"[^>]*>Substitute…', queue)
    assert link is not None
    form_page = operations.get(link.group(1).replace("&amp;", "&"))
    assert form_page.status_code == 200
    assert "CABLE-2 — Braided cable (5 available)" in form_page.content.decode()

    done = operations.post(
        reverse("dashboard:order_line_substitute", args=[line.pk]),
        {"substitute": "CABLE-2", "reason": "agreed by phone", "next": "/dashboard/queue/"},
    )

    assert done.status_code == 302
    assert done["Location"] == "/dashboard/queue/"
    line.refresh_from_db()
    assert (line.quantity_substituted, line.quantity_backordered) == (2, 0)
    new_line = order.lines.get(product=spare)
    assert new_line.quantity_allocated == 2
    event = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.SUBSTITUTED)
    assert event.message == "2 × CABLE-2 instead of CABLE-1: agreed by phone"


def test_a_substitute_without_enough_stock_is_refused_with_the_reason(operations):
    spare = ProductFactory(sku="CABLE-2", on_hand=1)
    cable = ProductFactory(sku="CABLE-1", on_hand=0, substitutes=[spare])
    line = place_order((cable, 2)).lines.get()

    response = operations.post(
        reverse("dashboard:order_line_substitute", args=[line.pk]),
        {"substitute": "CABLE-2", "reason": "agreed by phone"},
    )

    assert response.status_code == 400
    assert "CABLE-2: only 1 in stock, 2 needed." in response.content.decode()
    line.refresh_from_db()
    assert line.quantity_substituted == 0


def test_a_line_without_substitutes_says_so(operations):
    line = place_order((ProductFactory(sku="LONE-1", on_hand=0), 1)).lines.get()

    page = operations.get(reverse("dashboard:order_line_substitute", args=[line.pk]))

    assert "LONE-1 has no substitute products." in page.content.decode()


def test_recording_payment_then_shipping_needs_no_reason(operations):
    phone = ProductFactory(sku="PHONE-1", on_hand=2, unit_price="20.00")
    order = place_order((phone, 2), paid=False, payment_method=Order.PaymentMethod.MONEY_ORDER)
    ship_url = reverse("dashboard:ship_order", args=[order.pk])
    quantities = {f"line_{order.lines.get().pk}": "2"}

    refused = operations.post(ship_url, quantities)

    assert refused.status_code == 200
    assert "is not paid yet (Money order)" in refused.content.decode()
    assert not Shipment.objects.filter(order=order).exists()

    paid = operations.post(reverse("dashboard:order_payment_received", args=[order.pk]), {})
    assert paid.status_code == 302
    order.refresh_from_db()
    assert order.paid_at is not None
    assert order.amount_paid == 40

    shipped = operations.post(ship_url, quantities)

    assert shipped.status_code == 302
    assert Shipment.objects.get(order=order).override_reason == ""


def test_shipping_unpaid_with_a_reason_records_who_and_why(operations):
    order = place_order(
        (ProductFactory(sku="PHONE-1", on_hand=1), 1),
        paid=False,
        payment_method=Order.PaymentMethod.CHECK,
    )

    response = operations.post(
        reverse("dashboard:ship_order", args=[order.pk]),
        {f"line_{order.lines.get().pk}": "1", "unpaid_reason": "regular customer, check mailed"},
    )

    assert response.status_code == 302
    shipment = Shipment.objects.get(order=order)
    assert shipment.override_reason == "shipped unpaid: regular customer, check mailed"
    event = OrderEvent.objects.get(order=order, kind=OrderEvent.Kind.SHIPPED)
    assert event.data["unpaid_override"] == "regular customer, check mailed"
    assert event.actor == shipment.created_by is not None
    assert "(shipped unpaid: regular customer, check mailed)" in event.message


def test_cash_on_delivery_ships_unpaid_without_a_reason(operations):
    order = place_order(
        (ProductFactory(on_hand=1), 1), paid=False, payment_method=Order.PaymentMethod.COD
    )

    page = operations.get(reverse("dashboard:ship_order", args=[order.pk])).content.decode()
    assert "Not paid yet" not in page
    response = operations.post(
        reverse("dashboard:ship_order", args=[order.pk]), {f"line_{order.lines.get().pk}": "1"}
    )

    assert response.status_code == 302


def test_a_dishonoured_payment_needs_a_reason_and_makes_the_order_unpaid(managers):
    order = place_order((ProductFactory(on_hand=1), 1), payment_method=Order.PaymentMethod.CHECK)
    url = reverse("dashboard:order_payment_dishonoured", args=[order.pk])

    assert managers.post(url, {"reason": ""}).status_code == 400
    assert managers.post(url, {"reason": "the check bounced"}).status_code == 302

    order.refresh_from_db()
    assert order.paid_at is None
    page = managers.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    assert "Payment dishonoured: the check bounced" in page
    assert 'name="unpaid_reason"' in page


def test_resending_an_email_queues_a_copy_and_a_pending_one_is_refused(operations):
    order = place_order((ProductFactory(on_hand=1), 1))
    email = Notification.objects.get(order=order, kind=Notification.Kind.ORDER_CONFIRMATION)
    url = reverse("dashboard:order_email_resend", args=[order.pk, email.pk])

    pending = operations.post(url, follow=True)

    assert "This notification has not been sent yet." in pending.content.decode()
    assert not Notification.objects.filter(resend_of=email).exists()

    Notification.objects.filter(pk=email.pk).update(
        state=Notification.State.SENT, sent_at=timezone.now()
    )
    sent = operations.post(url, follow=True)

    assert "Order confirmation queued again to" in sent.content.decode()
    assert Notification.objects.filter(resend_of=email).count() == 1


def test_an_email_of_another_order_cannot_be_resent_from_this_one(operations):
    mine = place_order((ProductFactory(on_hand=1), 1))
    theirs = place_order((ProductFactory(on_hand=1), 1))
    email = Notification.objects.filter(order=theirs).first()

    response = operations.post(reverse("dashboard:order_email_resend", args=[mine.pk, email.pk]))

    assert response.status_code == 404


def test_prioritising_the_order_moves_every_open_line(managers):
    order = place_order((ProductFactory(on_hand=0), 1), (ProductFactory(on_hand=0), 2))

    response = managers.post(
        reverse("dashboard:order_prioritise", args=[order.pk]), {"reason": "VIP"}
    )

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.is_priority
    assert sorted(order.lines.values_list("priority", flat=True)) == [1, 1]


def test_an_action_on_a_missing_order_or_line_is_a_404(managers):
    assert managers.get(reverse("dashboard:order_prioritise", args=[999999])).status_code == 404
    assert managers.get(reverse("dashboard:order_line_cancel", args=[999999])).status_code == 404


def _order_page_queries(client, order: Order) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboard:order", args=[order.pk]))
    assert response.status_code == 200
    return len(queries)


def test_the_order_page_runs_the_same_queries_for_one_line_or_six(managers):
    spare = ProductFactory(on_hand=9)
    # Both orders still wait for a unit, so both show the goodwill form (which reads the rules).
    few = place_order((ProductFactory(on_hand=0, substitutes=[spare]), 1), paid=False)
    many = place_order(
        *[(ProductFactory(on_hand=n % 2, substitutes=[spare]), 2) for n in range(6)], paid=False
    )

    assert _order_page_queries(managers, few) == _order_page_queries(managers, many)


def test_changing_the_delivery_moves_what_has_not_shipped_and_says_so(operations):
    order = place_order((ProductFactory(on_hand=0), 2), paid=False)
    url = reverse("dashboard:order_delivery_change", args=[order.pk])
    page = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    assert 'data-dialog="dialog-delivery"' in page

    refused = operations.post(url, {**PHONE_ORDER_ADDRESS, "ship_to_city": ""})

    assert refused.status_code == 400
    assert "Enter the city." in refused.content.decode()

    done = operations.post(
        url,
        {
            **PHONE_ORDER_ADDRESS,
            "ship_to_city": "Boston",
            "ship_preference": Order.ShipPreference.SHIP_COMPLETE,
            "reason": "customer moved",
        },
        follow=True,
    )

    order.refresh_from_db()
    assert (order.ship_to_city, order.ship_preference) == ("Boston", "ship_complete")
    html = done.content.decode()
    assert "delivery changed for everything not yet shipped." in html
    assert "(customer moved)" in html


def test_a_shipped_order_cannot_change_its_delivery(operations):
    order = place_order((ProductFactory(on_hand=1), 1))
    shipment_create(order=order)

    page = operations.get(reverse("dashboard:order", args=[order.pk])).content.decode()
    assert "Change delivery…" not in page
    response = operations.post(
        reverse("dashboard:order_delivery_change", args=[order.pk]),
        {**PHONE_ORDER_ADDRESS, "ship_to_city": "Boston", "ship_preference": "ship_available"},
    )

    assert response.status_code == 400
    assert "has shipped: its delivery can no longer be changed." in response.content.decode()

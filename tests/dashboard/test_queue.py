import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import OrderCompliance
from compliance.services import order_rule_evaluate
from notifications.models import Notification
from notifications.services import notification_send
from orders.models import OrderEvent, OrderLine, Refund
from tests.factories import CustomerFactory, ProductFactory, place_order, staff_in
from tests.shown import shown

pytestmark = pytest.mark.django_db


@pytest.fixture
def operations(client):
    client.force_login(staff_in("Operations"))
    return client


@pytest.fixture
def manager(client):
    client.force_login(staff_in("Managers"))
    return client


def waiting_line(order) -> OrderLine:
    return order.lines.get(quantity_backordered__gt=0)


def test_permissions(client):
    url = reverse("dashboard:queue")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/dashboard/login/")
    client.force_login(staff_in(None))
    assert client.get(url).status_code == 403
    client.force_login(staff_in("Operations"))
    assert client.get(url).status_code == 200


def test_the_queue_lists_waiting_lines_in_allocation_order_with_deadline_and_consent(operations):
    phone = ProductFactory(sku="PHONE-1", on_hand=1)
    first = place_order((phone, 3), customer=CustomerFactory(name="Ada First"))
    place_order((phone, 2), customer=CustomerFactory(name="Bob Second"))
    OrderLine.objects.filter(pk=waiting_line(first).pk).update(
        queued_at=first.placed_at - dt.timedelta(days=4)
    )
    order_rule_evaluate(order_id=first.pk)
    compliance = OrderCompliance.objects.get(order=first)

    page = operations.get(reverse("dashboard:queue")).content.decode()

    assert page.index("Ada First") < page.index("Bob Second")
    assert "2 waiting lines" in page
    # Ada waits for 2 of 3 (one unit was in stock), 0 units ahead; Bob's 2 wait behind hers.
    assert '<td data-label="Waiting" class="num">2<span class="sub">of 3</span>' in page
    assert '<td data-label="Ahead" class="num">2</td>' in page
    assert '<td data-label="Waited" class="num nowrap">4 d</td>' in page
    assert shown(compliance.deadline) in page
    assert "On time" in page
    assert "Estimated from lead time" in page
    assert reverse("dashboard:order", args=[first.pk]) in page


def test_the_queue_filters_by_product(operations):
    phone, case = ProductFactory(sku="PHONE-1"), ProductFactory(sku="CASE-1")
    place_order((phone, 1), customer=CustomerFactory(name="Phone Buyer"))
    place_order((case, 1), customer=CustomerFactory(name="Case Buyer"))

    page = operations.get(reverse("dashboard:queue"), {"product": case.pk}).content.decode()

    assert "Case Buyer" in page
    assert "Phone Buyer" not in page
    assert "1 waiting line," in page


def make_waiting_lines(count: int) -> None:
    products = [ProductFactory() for _ in range(3)]
    for i in range(count):
        order = place_order((products[i % 3], 1))
        order_rule_evaluate(order_id=order.pk)


def queue_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("dashboard:queue")).status_code == 200
    return len(ctx.captured_queries)


def test_the_queue_costs_the_same_queries_for_10_or_120_lines(operations):
    make_waiting_lines(10)
    ten = queue_queries(operations)
    make_waiting_lines(110)
    many = queue_queries(operations)
    assert ten == many
    # session, user, user and group permissions, products with a queue, the page's lines (from
    # the index), their details, the bounded count, suppliers, channels and the user's saved
    # views of the queue.
    assert many == 11


def test_operations_staff_do_not_see_prioritise_and_cannot_post_it(operations):
    order = place_order((ProductFactory(), 1))
    line = waiting_line(order)
    assert "Prioritise" not in operations.get(reverse("dashboard:queue")).content.decode()
    response = operations.post(
        reverse("dashboard:queue_prioritise", args=[line.pk]), {"reason": "VIP"}
    )
    assert response.status_code == 403


def test_a_manager_prioritises_a_line_to_the_front(manager):
    product = ProductFactory()
    place_order((product, 1), customer=CustomerFactory(name="Early Bird"))
    late = place_order((product, 1), customer=CustomerFactory(name="Late Vip"))
    line = waiting_line(late)

    response = manager.post(
        reverse("dashboard:queue_prioritise", args=[line.pk]),
        {"reason": "Replacement for a broken unit", "next": reverse("dashboard:queue")},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:queue")
    line.refresh_from_db()
    assert line.priority == 1
    assert late.events.filter(kind=OrderEvent.Kind.PRIORITISED).exists()
    page = manager.get(reverse("dashboard:queue")).content.decode()
    assert page.index("Late Vip") < page.index("Early Bird")


def test_prioritising_needs_a_reason(manager):
    line = waiting_line(place_order((ProductFactory(), 1)))
    response = manager.post(reverse("dashboard:queue_prioritise", args=[line.pk]), {"reason": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    line.refresh_from_db()
    assert line.priority == 0


def test_a_manager_cancelling_a_paid_line_from_the_queue_creates_a_refund(manager):
    product = ProductFactory(unit_price="40.00")
    order = place_order((product, 2), amount_paid=None)
    line = waiting_line(order)

    response = manager.post(
        reverse("dashboard:queue_cancel", args=[line.pk]),
        {"reason": "Customer found it elsewhere", "cause": "customer", "quantity": "2"},
        follow=True,
    )

    assert response.status_code == 200
    line.refresh_from_db()
    assert line.quantity_cancelled == 2
    assert line.quantity_backordered == 0
    refund = Refund.objects.get(order=order)
    assert refund.amount == order.amount_paid
    assert "cancelled 2 ×" in response.content.decode()


def test_cancel_form_errors_are_shown(operations):
    line = waiting_line(place_order((ProductFactory(), 2), paid=False))
    response = operations.post(
        reverse("dashboard:queue_cancel", args=[line.pk]),
        {"reason": "", "cause": "weather", "quantity": "5"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in page
    assert "Select a valid choice." in page
    assert "Only 2 units of this line can still be cancelled." in page
    assert not Refund.objects.exists()


def test_operations_may_not_cancel_a_paid_line_because_it_owes_a_refund(operations):
    line = waiting_line(place_order((ProductFactory(sku="PAID-1"), 2)))
    url = reverse("dashboard:queue_cancel", args=[line.pk])

    page = operations.get(reverse("dashboard:queue")).content.decode()
    refused = operations.post(url, {"reason": "asked", "cause": "customer", "quantity": "2"})

    assert "Paid: a manager cancels" in page
    assert f'action="{url}"' not in page
    assert operations.get(url).status_code == 403
    assert refused.status_code == 403
    line.refresh_from_db()
    assert line.quantity_cancelled == 0
    assert not Refund.objects.exists()


def test_operations_cancel_an_unpaid_line_and_no_refund_is_owed(operations):
    line = waiting_line(place_order((ProductFactory(sku="UNPAID-1"), 2), paid=False))
    url = reverse("dashboard:queue_cancel", args=[line.pk])

    page = operations.get(reverse("dashboard:queue")).content.decode()
    response = operations.post(url, {"reason": "asked", "cause": "customer", "quantity": "2"})

    assert f'action="{url}"' in page
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.quantity_cancelled == 2
    assert not Refund.objects.exists()


@pytest.mark.parametrize("action", ["queue_cancel", "queue_prioritise"])
def test_a_line_that_no_longer_waits_is_not_in_the_queue(manager, action):
    product = ProductFactory(on_hand=5)
    line = place_order((product, 2)).lines.get()
    assert line.quantity_backordered == 0

    url = reverse(f"dashboard:{action}", args=[line.pk])
    response = manager.post(url, {"reason": "x", "cause": "customer", "quantity": "1"})

    assert manager.get(url).status_code == 404
    assert response.status_code == 404
    line.refresh_from_db()
    assert (line.quantity_cancelled, line.priority) == (0, 0)


# --- the cancellation's cause picks the customer's email --------------------------------------


def cancel_from_the_queue(client, order, cause: str):
    line = waiting_line(order)
    return client.post(
        reverse("dashboard:queue_cancel", args=[line.pk]),
        {"reason": "Supplier stopped", "cause": cause, "quantity": str(line.quantity_backordered)},
        follow=True,
    )


def cancellation_email(order) -> Notification:
    return Notification.objects.get(
        order=order, kind__in=[Notification.Kind.CANCELLATION, Notification.Kind.DISCONTINUED]
    )


def test_cancelling_because_the_shop_cannot_ship_refunds_and_tells_the_customer(manager):
    order = place_order((ProductFactory(unit_price=Decimal("20.00"), on_hand=0), 2))

    response = cancel_from_the_queue(manager, order, "shop")

    assert response.status_code == 200
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.issued_at) == (Decimal("40.00"), None)
    assert order.events.get(kind=OrderEvent.Kind.CANCELLED).data["cause"] == "shop"
    email = cancellation_email(order)
    assert (email.kind, email.facts["cause"]) == (Notification.Kind.CANCELLATION, "shop")
    assert notification_send(notification_id=email.pk) == Notification.State.SENT
    email.refresh_from_db()
    assert order.number in email.body_text
    assert "As you asked" not in email.body_text  # the shop cancelled, not the customer


def test_cancelling_because_discontinued_sends_the_discontinued_email(manager):
    order = place_order((ProductFactory(on_hand=0), 1))

    cancel_from_the_queue(manager, order, "discontinued")

    assert cancellation_email(order).kind == Notification.Kind.DISCONTINUED
    assert Refund.objects.filter(order=order).count() == 1

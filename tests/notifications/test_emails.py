"""The emails customers and staff read: names, quantities, dates in words, money, links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from inventory.models import Product, PurchaseOrder
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from notifications.services import (
    Rendered,
    notification_render,
    notification_send,
    staff_digest_create,
)
from notifications.templatetags.notification_tags import isodate, money
from orders.models import Order
from orders.selectors import order_status_url, store_today
from orders.services import (
    line_cancel,
    low_stock_alerts_record,
    order_flag_unreachable,
    product_discontinue,
    purchase_order_create,
    purchase_order_line_reschedule,
    shipment_create,
)
from tests.factories import CustomerFactory, ProductFactory, place_order, receive

Kind = Notification.Kind
HANDLING = 1  # ETA_HANDLING_DAYS default


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


def short(date: dt.date) -> str:
    """ "12 Mar", with the year only when it is not this year."""
    text = f"{date.day} {date:%b}"
    return text if date.year == store_today().year else f"{text} {date.year}"


def long(date: dt.date) -> str:
    return f"{date.day} {date:%b %Y}"


def notification(order: Order, kind: str) -> Notification:
    return Notification.objects.get(order=order, kind=kind)


def render(order: Order, kind: str) -> Rendered:
    rendered = notification_render(notification=notification(order, kind))
    assert rendered is not None
    return rendered


def send_po(product: Product, quantity: int, offset: int) -> PurchaseOrder:
    supplier = supplier_create(name=f"Supplier {PurchaseOrder.objects.count()}", lead_time_days=14)
    return purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(product, quantity, day(offset))],
        send=True,
    )


@pytest.fixture
def jane():
    return CustomerFactory(email="jane@example.com", name="Jane O'Brien")


# --- filters -----------------------------------------------------------------------------


def test_isodate_writes_dates_in_words():
    assert isodate("2027-03-12") == "12 Mar 2027"
    assert isodate("2027-03-12", "weekday").startswith("Friday 12 Mar")
    assert isodate(day(3).isoformat(), "short") == short(day(3))
    assert isodate(day(3).isoformat(), "weekday") == f"{day(3):%A} {short(day(3))}"
    assert isodate(None) == ""
    assert isodate("not a date") == ""


def test_money_has_the_currency_and_two_decimals():
    assert money("21.00") == "$21.00"
    assert money("1234.5") == "$1,234.50"
    assert money(Decimal("0")) == "$0.00"
    assert money(None) == ""


# --- order confirmation ------------------------------------------------------------------


@pytest.mark.django_db
def test_confirmation_says_what_ships_now_and_when_each_backorder_follows(jane):
    lamp = ProductFactory(name="Desk Lamp", on_hand=5)
    cable = ProductFactory(name="USB-C Cable & Plug", on_hand=1, lead_time_days=10)
    mat = ProductFactory(name="Standing Mat", on_hand=0)
    send_po(mat, 4, 6)
    game = ProductFactory(
        name="Space Game", is_preorder=True, release_date=day(5), lead_time_days=14
    )
    widget = ProductFactory(name="Odd Widget", lead_time_days=None)
    order = place_order((lamp, 2), (cable, 3), (mat, 1), (game, 1), (widget, 1), customer=jane)

    text = render(order, Kind.ORDER_CONFIRMATION).text

    assert text.startswith("Hi Jane O'Brien,\n\n")
    assert f"Thank you for your order {order.number}, placed on {long(store_today())}." in text
    assert "Shipping now:\n- 2 × Desk Lamp\n- 1 × USB-C Cable & Plug\n\n" in text
    assert (
        "On backorder:\n"
        f"- 2 × USB-C Cable & Plug: estimated from our supplier's lead time, "
        f"around {short(day(10 + HANDLING))}\n"
        f"- 1 × Standing Mat: expected to ship around {short(day(6 + HANDLING))}\n"
        "- 1 × Odd Widget: we don't have a date yet; we'll email you as soon as we do\n"
    ) in text
    assert (
        "Preorders:\n"
        f"- 1 × Space Game: preorder — releases on {short(day(5))}, "
        f"ships around {short(day(14 + HANDLING))}\n"
    ) in text
    assert (
        "We'll send items as they become available: what is in stock ships now, and each "
        "backordered item follows as soon as it arrives. Would you rather have everything sent "
        "together? Reply to this email or contact support@example.com and we'll change it."
    ) in text
    status_url = order_status_url(order=order)
    assert f"See your order status at any time:\n{status_url}\n" in text
    assert text.endswith("Backorder Desk Demo Store\n1 Demo Street, Springfield, NY 10001, USA\n")
    # Plain text is not HTML-escaped.
    assert "&#" not in text
    assert "&amp;" not in text


@pytest.mark.django_db
def test_an_evening_order_is_placed_on_the_stores_day_not_utcs(jane):
    """19:30 in New York is already tomorrow in UTC: the email gives the store's date."""
    with time_machine.travel(dt.datetime(2026, 12, 7, 0, 30, tzinfo=dt.UTC), tick=False):
        order = place_order((ProductFactory(name="Desk Lamp", on_hand=1), 1), customer=jane)
        text = render(order, Kind.ORDER_CONFIRMATION).text

    assert f"Thank you for your order {order.number}, placed on 6 Dec 2026." in text


@pytest.mark.django_db
def test_confirmation_is_sent_with_html_and_the_status_link(jane):
    lamp = ProductFactory(name="Desk Lamp", on_hand=1)
    order = place_order((lamp, 3), customer=jane)
    confirmation = notification(order, Kind.ORDER_CONFIRMATION)
    status_url = order_status_url(order=order)

    assert notification_send(notification_id=confirmation.pk) == Notification.State.SENT

    (message,) = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.to == ["jane@example.com"]
    assert message.subject == f"Your order {order.number}: what ships now and what follows"
    assert "- 1 × Desk Lamp\n" in message.body
    assert (
        f"- 2 × Desk Lamp: estimated from our supplier's lead time, around {short(day(15))}"
    ) in message.body
    content, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert isinstance(content, str)
    html = content
    assert f'<a href="{status_url}"' in html
    assert "See your order status</a>" in html
    assert "Desk Lamp" in html
    assert "Estimated from our supplier&#x27;s lead time, around " + short(day(15)) in html
    assert "We'll send items as they become available</p>" in html
    assert "1 Demo Street, Springfield, NY 10001, USA" in html
    assert 'href="mailto:support@example.com"' in html
    assert "http" not in html.replace(status_url, "")  # no external assets or links


@pytest.mark.django_db
def test_confirmation_of_a_ship_complete_order_says_everything_goes_together(jane):
    lamp = ProductFactory(name="Desk Lamp", on_hand=1)
    cable = ProductFactory(name="Cable", on_hand=0, lead_time_days=3)
    order = place_order(
        (lamp, 1), (cable, 1), customer=jane, ship_preference=Order.ShipPreference.SHIP_COMPLETE
    )

    text = render(order, Kind.ORDER_CONFIRMATION).text

    assert "In stock and set aside for you:\n- 1 × Desk Lamp\n" in text
    assert "Shipping now" not in text
    assert (
        "You asked us to send everything together, so we'll ship your order in one parcel once "
        "every item is here. Would you rather have items sent as they become available? Reply "
        "to this email or contact support@example.com and we'll change it."
    ) in text


@pytest.mark.django_db
def test_confirmation_with_everything_in_stock_has_no_backorder_section(jane):
    lamp = ProductFactory(name="Desk Lamp", on_hand=4)
    order = place_order((lamp, 4), customer=jane)

    text = render(order, Kind.ORDER_CONFIRMATION).text

    assert "Everything is in stock and ships now:\n- 4 × Desk Lamp\n" in text
    assert "On backorder" not in text
    assert "send everything together" not in text
    assert "We'll email you the tracking number as soon as your parcel is on its way." in text


@pytest.mark.django_db
def test_preorder_that_ships_on_its_release_date(jane):
    game = ProductFactory(name="Space Game", is_preorder=True, release_date=day(30))
    order = place_order((game, 1), customer=jane)

    text = render(order, Kind.ORDER_CONFIRMATION).text

    assert (
        f"- 1 × Space Game: preorder — releases on {short(day(30))} and ships on release day"
    ) in text


# --- ETA changes -------------------------------------------------------------------------


@pytest.fixture
def waiting_for_po(jane):
    """Jane waits for 2 lamps covered by a PO due in 10 days (ETA day 11)."""
    lamp = ProductFactory(name="Desk Lamp", on_hand=0)
    po = send_po(lamp, 5, 10)
    order = place_order((lamp, 2), customer=jane)
    assert order.lines.get().eta == day(10 + HANDLING)
    return order, po.lines.get()


@pytest.mark.django_db
def test_later_eta_gives_old_and_new_date_the_reason_and_offers_cancellation(waiting_for_po):
    order, po_line = waiting_for_po
    purchase_order_line_reschedule(
        line=po_line, expected_date=day(20), reason="The supplier's factory is closed for a week"
    )
    eta_email = notification(order, Kind.ETA_CHANGED)
    assert eta_email.send_after > timezone.now()  # batched

    rendered = notification_render(notification=eta_email)

    assert rendered is not None
    assert rendered.subject == f"New delivery estimate for order {order.number}"
    assert (
        f"- Desk Lamp: now expected to ship around {short(day(20 + HANDLING))}, later than the "
        f"{short(day(10 + HANDLING))} we gave you before."
    ) in rendered.text
    assert "Reason: The supplier's factory is closed for a week" in rendered.text
    assert (
        "If you'd rather not wait, reply to this email or write to support@example.com and "
        "we'll cancel the delayed items and refund you in full."
    ) in rendered.text
    assert order_status_url(order=order) in rendered.text

    Notification.objects.filter(pk=eta_email.pk).update(send_after=timezone.now())
    assert notification_send(notification_id=eta_email.pk) == Notification.State.SENT
    (message,) = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.body == rendered.text
    assert f'href="{order_status_url(order=order)}"' in str(message.alternatives[0][0])


@pytest.mark.django_db
def test_earlier_eta_is_good_news_without_a_cancellation_offer(waiting_for_po):
    order, po_line = waiting_for_po
    purchase_order_line_reschedule(
        line=po_line, expected_date=day(4), reason="The shipment arrived at the port early"
    )

    text = render(order, Kind.ETA_CHANGED).text

    assert (
        f"- Desk Lamp: good news, now expected to ship around {short(day(4 + HANDLING))}, "
        f"earlier than the {short(day(10 + HANDLING))} we gave you before."
    ) in text
    assert "refund" not in text


@pytest.mark.django_db
def test_eta_one_day_earlier_is_not_worth_an_email(waiting_for_po):
    order, po_line = waiting_for_po
    purchase_order_line_reschedule(line=po_line, expected_date=day(9), reason="A day early")
    eta_email = notification(order, Kind.ETA_CHANGED)

    assert notification_render(notification=eta_email) is None

    Notification.objects.filter(pk=eta_email.pk).update(send_after=timezone.now())
    assert notification_send(notification_id=eta_email.pk) == Notification.State.SUPPRESSED
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_new_date_for_a_line_cancelled_before_the_email_goes_is_not_sent(waiting_for_po):
    """A deadline day dates a batch's orders, then cancels some of them in a later batch: the
    customer must not hear of a new date after hearing of the cancellation."""
    order, po_line = waiting_for_po
    purchase_order_line_reschedule(line=po_line, expected_date=day(20), reason="Factory closed")
    eta_email = notification(order, Kind.ETA_CHANGED)
    line_cancel(line=order.lines.get(), reason="The customer stopped waiting")
    mail.outbox.clear()

    Notification.objects.filter(pk=eta_email.pk).update(send_after=timezone.now())

    assert notification_send(notification_id=eta_email.pk) == Notification.State.SUPPRESSED
    assert mail.outbox == []


@pytest.mark.django_db
def test_eta_lost_when_a_product_is_discontinued(waiting_for_po):
    order, po_line = waiting_for_po
    product_discontinue(product=po_line.product)

    text = render(order, Kind.ETA_CHANGED).text

    assert (
        f"- Desk Lamp: we no longer have a reliable date (we had said around "
        f"{short(day(10 + HANDLING))}). We'll email you as soon as we have a new one."
    ) in text
    assert "Reason: product discontinued" in text
    assert "we'll cancel the delayed items and refund you in full" in text


# --- shipments and allocation ------------------------------------------------------------


@pytest.mark.django_db
def test_partial_shipment_lists_what_shipped_tracking_and_what_is_still_coming(jane):
    lamp = ProductFactory(name="Desk Lamp", on_hand=5)
    cable = ProductFactory(name="Cable", on_hand=0, lead_time_days=10)
    order = place_order((lamp, 2), (cable, 1), customer=jane)

    shipment_create(order=order, carrier="UPS", tracking_number="1Z999AA10123456784")

    rendered = render(order, Kind.SHIPMENT_SENT)
    assert rendered.subject == f"Order {order.number} has shipped"
    assert (
        f"Part of your order {order.number} is on its way.\n\n"
        "In this shipment:\n"
        "- 2 × Desk Lamp\n\n"
        "Carrier: UPS\n"
        "Tracking number: 1Z999AA10123456784\n\n"
        "Still to come:\n"
        f"- 1 × Cable: estimated from our supplier's lead time, around {short(day(11))}\n\n"
        "We'll send the rest as soon as each item is ready, and email you each time."
    ) in rendered.text
    assert "1Z999AA10123456784" in rendered.html
    assert order_status_url(order=order) in rendered.text


@pytest.mark.django_db
def test_backordered_items_arriving_are_announced_then_shipped_in_full(jane):
    lamp = ProductFactory(name="Desk Lamp", on_hand=0)
    order = place_order((lamp, 3), customer=jane)

    receive(lamp, 3)

    text = render(order, Kind.ITEMS_ALLOCATED).text
    assert (
        f"Good news: backordered items on your order {order.number} have arrived and are set "
        "aside for you:\n- 3 × Desk Lamp\n\n"
        "They're about to ship. We'll email you the tracking number as soon as they're on their "
        "way."
    ) in text

    shipment_create(order=order, carrier="USPS", tracking_number="9400111899223")
    text = render(order, Kind.SHIPMENT_SENT).text
    assert f"Your order {order.number} is on its way.\n\nIn this shipment:\n- 3 × Desk Lamp" in text
    assert "Still to come" not in text


# --- cancellations -----------------------------------------------------------------------


@pytest.mark.django_db
def test_cancellation_says_what_was_cancelled_why_and_the_refund_by_when(jane):
    lamp = ProductFactory(name="Desk Lamp", on_hand=0, unit_price=Decimal("21.00"))
    order = place_order((lamp, 2), customer=jane)

    line_cancel(line=order.lines.get(), reason="Customer changed their mind", quantity=1)

    refund = order.refunds.get()
    rendered = render(order, Kind.CANCELLATION)
    assert rendered.subject == f"Order {order.number}: cancellation and refund"
    assert (
        f"As you asked, we've cancelled the following from your order {order.number}:\n"
        "- 1 × Desk Lamp\n\n"
        "Reason: Customer changed their mind\n\n"
        f"We'll refund $21.00 to the way you paid by {long(refund.due_date)}."
    ) in rendered.text
    assert "<strong>$21.00</strong>" in rendered.html


@pytest.mark.django_db
def test_cancellation_of_an_unpaid_order_says_no_payment_was_taken(jane):
    lamp = ProductFactory(name="Desk Lamp", on_hand=0)
    order = place_order((lamp, 1), customer=jane, paid=False)

    line_cancel(line=order.lines.get(), reason="Out of stock for too long", cause="shop")

    text = render(order, Kind.CANCELLATION).text
    assert f"We're sorry: we've had to cancel the following from your order {order.number}:" in text
    assert "No payment was taken for these items, so there is nothing to refund." in text


@pytest.mark.django_db
def test_discontinued_item_offers_substitutes_and_the_refund(jane):
    mk2 = ProductFactory(sku="LAMP-MK2", name="Desk Lamp Mk2", on_hand=3)
    led = ProductFactory(sku="LAMP-LED", name="LED Desk Lamp", on_hand=3)
    mk1 = ProductFactory(
        sku="LAMP-MK1", name="Desk Lamp Mk1", on_hand=0, unit_price=Decimal("30.00")
    )
    mk1.substitutes.set([mk2, led])
    order = place_order((mk1, 1), customer=jane)

    line_cancel(
        line=order.lines.get(), reason="The maker stopped producing it", cause="discontinued"
    )

    refund = order.refunds.get()
    rendered = render(order, Kind.DISCONTINUED)
    assert rendered.subject == f"Order {order.number}: an item will not come back"
    text = rendered.text
    assert (
        f"We're sorry: this item on your order {order.number} has been discontinued and will "
        "not come back in stock, so we've cancelled it:\n- 1 × Desk Lamp Mk1\n"
        "  Instead, you might like: "
    ) in text
    assert "Desk Lamp Mk2 (LAMP-MK2)" in text
    assert "LED Desk Lamp (LAMP-LED)" in text
    assert f"We'll refund $30.00 to the way you paid by {long(refund.due_date)}." in text
    assert "Would you like one of the alternatives instead? Reply to this email" in text
    assert "Desk Lamp Mk2" in rendered.html


# --- staff -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_backorder_alert(settings, jane):
    settings.STAFF_BACKORDER_ALERTS = True
    settings.STAFF_NOTIFICATION_EMAILS = ["ops@shop.example"]
    cable = ProductFactory(sku="CABLE", name="Cable", on_hand=1, lead_time_days=10)
    order = place_order((cable, 3), customer=jane)

    alert = notification(order, Kind.STAFF_BACKORDER_ALERT)
    rendered = notification_render(notification=alert)

    assert rendered is not None
    assert alert.recipient == "ops@shop.example"
    assert rendered.subject == f"New backorder: {order.number}"
    assert (
        f"New backorder: order {order.number}\n"
        "Customer: Jane O'Brien <jane@example.com>\n"
        f"Placed on: {long(store_today())}\n"
        "Ship preference: send items as they become available\n\n"
        "Backordered:\n"
        f"- 2 × Cable (CABLE): ETA {day(11):%A} {short(day(11))} (from lead time)\n\n"
        "Allocated from stock:\n- 1 × Cable (CABLE)"
    ) in rendered.text


@pytest.mark.django_db
def test_staff_digest_lists_low_stock_unknown_etas_and_unreachable_customers(settings, jane):
    settings.STAFF_NOTIFICATION_EMAILS = ["ops@shop.example"]
    widget = ProductFactory(sku="WIDGET", name="Odd Widget", lead_time_days=None, on_hand=0)
    order = place_order((widget, 3), customer=jane)
    low_stock_alerts_record()
    order_flag_unreachable(order_id=order.pk, reason="bounced: jane@example.com")

    (digest,) = staff_digest_create()
    rendered = notification_render(notification=Notification.objects.get(pk=digest.pk))

    assert rendered is not None
    today = store_today()
    assert rendered.subject == f"Backorder digest for {today.isoformat()}"
    assert rendered.text.startswith(
        f"Backorder digest for {today:%A} {short(today)}\n\n"
        "LOW STOCK\n"
        "- WIDGET Odd Widget: 0 on hand, 3 backordered; suggested reorder: 3\n\n"
        "ETAS UNKNOWN\n"
        f"- {order.number}: 3 × Odd Widget (WIDGET)\n\n"
        "CUSTOMERS WE CAN'T REACH BY EMAIL\n"
        f"- {order.number}: jane@example.com (bounced: jane@example.com)\n"
    )
    assert "status" not in rendered.text


@pytest.mark.django_db
def test_empty_staff_digest_says_nothing_today(settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["ops@shop.example"]

    (digest,) = staff_digest_create()
    rendered = notification_render(notification=Notification.objects.get(pk=digest.pk))

    assert rendered is not None
    assert rendered.text.count("Nothing today.") == 3
    assert rendered.html.count("Nothing today.") == 3

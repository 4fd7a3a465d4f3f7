"""The customer's status page answers a delay notice: the choices, one click each (with CSRF),
what the page says afterwards, and what it refuses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.models import ConsentAnswer, DelayNotice, OrderCompliance
from compliance.selectors import compliance_record
from compliance.services import consent_answer, rule_run
from inventory.models import Product, PurchaseOrderLine, Stock
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from notifications.services import notification_send
from orders.models import Order, Refund
from orders.selectors import order_status_token
from orders.services import (
    product_allocate,
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
    shipment_create,
    stock_adjust,
)
from tests.factories import CustomerFactory, ProductFactory, place_order, receive

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
State = OrderCompliance.State


# --- reading the page as a browser would -------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    button: str = ""


class PageReader(HTMLParser):
    """The page's visible text (whitespace folded) and its forms with their hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._text: list[str] = []
        self._form: Form | None = None
        self._in_button = False
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ("script", "style", "title"):
            self._skip += 1
        elif tag == "form":
            self._form = Form(action=values.get("action", ""), method=values.get("method", ""))
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and values.get("name"):
            self._form.fields[values["name"]] = values.get("value", "")
        elif tag == "button":
            self._in_button = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self._skip -= 1
        elif tag == "form":
            self._form = None
        elif tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._text.append(data)
        if self._in_button and self._form is not None:
            self._form.button += data.strip()

    @property
    def text(self) -> str:
        return " ".join(" ".join(self._text).split())


def read(response: HttpResponse) -> PageReader:
    reader = PageReader()
    reader.feed(response.content.decode())
    return reader


def form_labelled(page: PageReader, label: str) -> Form:
    forms = [form for form in page.forms if form.button == label]
    assert len(forms) == 1, f"expected one {label!r} button, the page has {page.forms}"
    return forms[0]


def click(client: Client, form: Form, **follow: bool) -> HttpResponse:
    assert form.method == "post"
    return client.post(form.action, form.fields, **follow)


# --- the shop -----------------------------------------------------------------------------------


def at(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=NY)


@contextmanager
def on(day: str, hour: int = 10, minute: int = 0) -> Iterator[None]:
    """Do a step at a store moment; the outbox then sends what is due, as its worker would
    (a delay notice counts only once it has gone out)."""
    with time_machine.travel(at(day, hour, minute), tick=False):
        yield
        for pk in Notification.objects.filter(
            state=Notification.State.PENDING, send_after__lte=timezone.now()
        ).values_list("pk", flat=True):
            notification_send(notification_id=pk)


def status_url(order: Order) -> str:
    return reverse("customer:status", args=[order_status_token(order=order)])


def answer_url(order: Order) -> str:
    return reverse("customer:consent", args=[order_status_token(order=order)])


def rule(order: Order) -> OrderCompliance:
    return OrderCompliance.objects.get(order=order)


@dataclass
class Delayed:
    order: Order
    po_line: PurchaseOrderLine
    lamp: Product


@pytest.fixture
def delayed() -> Delayed:
    """A $40 lamp (+ $5.95 shipping) paid Mon 2026-01-05 (T = 4 Feb). On 30 Jan the
    supplier's date slips to 19 Feb (ETA 20 Feb): a branch S notice goes out."""
    with on("2026-01-05"):
        lamp = ProductFactory(
            name="Desk Lamp", unit_price=Decimal("40.00"), on_hand=0, lead_time_days=None
        )
        po = purchase_order_create(
            supplier=supplier_create(name="Lamps Inc"),
            lines=[PurchaseLineRequest(lamp, 10, dt.date(2026, 1, 20))],
            send=True,
        )
        order = place_order(
            (lamp, 1),
            customer=CustomerFactory(email="jane@example.com", name="Jane Doe"),
            shipping_charge=Decimal("5.95"),
        )
        rule_run()
    po_line = po.lines.get()
    with on("2026-01-30"):
        purchase_order_line_reschedule(
            line=po_line, expected_date=dt.date(2026, 2, 19), reason="The supplier's ship is late"
        )
        rule_run()
    assert rule(order).state == State.NOTICE_SENT
    return Delayed(order=order, po_line=po_line, lamp=lamp)


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


# --- what the page shows -----------------------------------------------------------------------


def test_the_page_shows_the_choices_while_a_notice_awaits_an_answer(delayed, browser):
    with on("2026-01-31"):
        response = browser.get(status_url(delayed.order))

    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    page = read(response)
    assert (
        "Your order is delayed: please choose "
        "We now expect to ship on 20 Feb 2026. "
        "Desk Lamp: out of stock; our next delivery from the supplier is later than planned. "
        "If we don't hear from you before we ship, we'll take it that you accept the new date. "
        "You can cancel for a full, prompt refund at no cost."
    ) in page.text
    choices = [form.button for form in page.forms if form.action.endswith("/answer/")]
    assert choices == [
        "I'll wait until 20 Feb 2026",
        "I'll wait, whatever the date",
        "Cancel and refund",
    ]
    for form in page.forms:
        assert form.fields["csrfmiddlewaretoken"]
        assert form.fields["notice"] == str(DelayNotice.objects.get(order=delayed.order).pk)


def test_branch_l_page_says_when_silence_cancels():
    with on("2026-01-05"):
        lamp = ProductFactory(name="Desk Lamp", on_hand=0, lead_time_days=None)
        order = place_order((lamp, 1))
        rule_run()
        page = read(Client().get(status_url(order)))

    assert "We cannot give you a new date yet." in page.text
    assert (
        "Unless you agree to wait by 6 Mar 2026, or we ship by then, we will cancel the "
        "delayed items and refund you in full."
    ) in page.text
    assert [form.button for form in page.forms] == [
        "I'll wait, whatever the date",
        "Cancel and refund",
    ]


def test_no_choices_when_the_order_is_on_time(browser):
    with on("2026-01-05"):
        order = place_order((ProductFactory(name="Desk Lamp", on_hand=2), 1))
        rule_run()
        page = read(browser.get(status_url(order)))

    assert "please choose" not in page.text
    assert page.forms == []


# --- answering ----------------------------------------------------------------------------------


def test_ill_wait_records_consent_thanks_and_emails_a_confirmation(delayed, browser):
    with on("2026-01-31"):
        page = read(browser.get(status_url(delayed.order)))
        response = click(browser, form_labelled(page, "I'll wait until 20 Feb 2026"))

    assert response.status_code == 302
    assert response.headers["Location"] == form_labelled(
        page, "Cancel and refund"
    ).action.removesuffix("answer/")
    with on("2026-01-31", 10, 1):
        after = read(browser.get(response.headers["Location"]))
    assert "Thank you: we have your answer and have emailed you a confirmation." in after.text
    assert "please choose" not in after.text
    assert after.forms == []

    answer = ConsentAnswer.objects.get()
    assert (answer.choice, answer.received_at, answer.via) == (
        "wait_until",
        at("2026-01-31"),
        "status page",
    )
    compliance = rule(delayed.order)
    assert (compliance.state, compliance.consent_kind, compliance.consented_until) == (
        State.CONSENTED,
        "express",
        dt.date(2026, 2, 20),
    )
    confirmation = Notification.objects.get(order=delayed.order, kind="consent_confirmed")
    assert confirmation.state == Notification.State.SENT
    [message] = [m for m in mail.outbox if m.subject.endswith("we have your answer")]
    assert message.to == ["jane@example.com"]
    assert "You agreed to wait until 20 Feb 2026." in message.body


def test_a_click_without_the_csrf_token_is_refused(delayed, browser):
    with on("2026-01-31"):
        page = read(browser.get(status_url(delayed.order)))
        form = form_labelled(page, "Cancel and refund")
        fields = {k: v for k, v in form.fields.items() if k != "csrfmiddlewaretoken"}
        response = browser.post(form.action, fields)

    assert response.status_code == 403
    assert not ConsentAnswer.objects.exists()
    assert rule(delayed.order).state == State.NOTICE_SENT


def test_cancel_and_refund_cancels_and_shows_the_refund(delayed, browser):
    with on("2026-01-31"):  # a Saturday
        page = read(browser.get(status_url(delayed.order)))
        response = click(browser, form_labelled(page, "Cancel and refund"), follow=True)

    assert response.status_code == 200
    text = read(response).text
    assert "Thank you: we have your answer and have emailed you a confirmation." in text
    assert "Cancelled This order was cancelled." in text
    assert "1 cancelled" in text
    # Everything paid, shipping included, due within 7 working days.
    assert "Refunds $45.95 Desk Lamp Not yet issued · due by 10 Feb 2026" in text
    assert rule(delayed.order).state == State.CANCELLED
    refund = Refund.objects.get(order=delayed.order)
    assert (refund.amount, refund.due_date) == (Decimal("45.95"), dt.date(2026, 2, 10))
    assert DelayNotice.objects.get(order=delayed.order).closed_reason == "cancelled"
    assert Notification.objects.filter(order=delayed.order, kind="cancellation").exists()


def test_a_substitute_in_stock_replaces_the_delayed_line(browser):
    with on("2026-01-05"):
        mk2 = ProductFactory(sku="LAMP-MK2", name="Desk Lamp Mk2", on_hand=3)
        lamp = ProductFactory(
            name="Desk Lamp",
            unit_price=Decimal("40.00"),
            on_hand=0,
            lead_time_days=None,
            substitutes=[mk2],
        )
        order = place_order((lamp, 1), shipping_charge=Decimal("5.95"))
        rule_run()
    with on("2026-01-06"):
        page = read(browser.get(status_url(order)))
        form = form_labelled(page, "Send Desk Lamp Mk2 instead of Desk Lamp")
        assert form.fields["substitute"] == "LAMP-MK2"
        response = click(browser, form, follow=True)

    assert response.status_code == 200
    text = read(response).text
    assert "Thank you: we have your answer and have emailed you a confirmation." in text
    assert "Desk Lamp Mk2 Ordered: 1 1 in stock and set aside for you; it ships soon." in text
    original = order.lines.get(product=lamp)
    assert (original.quantity_cancelled, original.quantity_substituted) == (1, 1)
    assert original.quantity_backordered == 0
    substitute = order.lines.get(product=mk2)
    assert (substitute.quantity, substitute.quantity_allocated, substitute.unit_price) == (
        1,
        1,
        Decimal("40.00"),
    )
    assert Stock.objects.get(product=mk2).allocated == 1
    # Paid for by the substitute: nothing is owed back.
    assert not Refund.objects.filter(order=order).exists()
    assert ConsentAnswer.objects.get().substitute == mk2


# --- what the page refuses ----------------------------------------------------------------------


def test_a_second_answer_is_refused_and_the_first_counts(delayed, browser):
    with on("2026-01-31"):
        page = read(browser.get(status_url(delayed.order)))
        click(browser, form_labelled(page, "I'll wait until 20 Feb 2026"))
    # The same old page, another button.
    with on("2026-02-01"):
        response = click(browser, form_labelled(page, "Cancel and refund"))

    assert response.status_code == 409
    assert (
        "We already have your answer to this notice; the first one counts." in read(response).text
    )
    assert list(ConsentAnswer.objects.values_list("choice", flat=True)) == ["wait_until"]
    assert rule(delayed.order).state == State.CONSENTED
    assert not Refund.objects.filter(order=delayed.order).exists()


def test_a_choice_after_shipment_is_refused_politely(delayed, browser):
    with on("2026-01-31"):
        page = read(browser.get(status_url(delayed.order)))
    with on("2026-02-02"):
        purchase_order_line_reschedule(
            line=delayed.po_line, expected_date=dt.date(2026, 2, 2), reason="Arrived early"
        )
        purchase_order_line_receive(line=delayed.po_line, quantity=10)
        product_allocate(product_id=delayed.lamp.pk)
        shipment_create(order=delayed.order, carrier="UPS")
    with on("2026-02-02", 12):
        response = click(browser, form_labelled(page, "Cancel and refund"))

    assert response.status_code == 409
    text = read(response).text
    assert (
        "Your order has already shipped, so there is nothing left to change here. "
        "If you no longer want it, our returns policy applies."
    ) in text
    assert "1 shipped on 2 Feb 2026 with UPS." in text
    assert not ConsentAnswer.objects.exists()
    assert not Refund.objects.filter(order=delayed.order).exists()


def test_a_forged_or_foreign_token_finds_nothing(delayed, browser):
    order = delayed.order
    notice = DelayNotice.objects.get(order=order)
    token = order_status_token(order=order)
    with on("2026-01-31"):
        other = place_order((ProductFactory(on_hand=1), 1))
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert browser.get(reverse("customer:status", args=[forged])).status_code == 404
        assert browser.get(reverse("customer:status", args=["not-a-token"])).status_code == 404
        # Answering someone else's notice with one's own link: no such notice on this order.
        client = Client()
        response = client.post(
            reverse("customer:consent", args=[order_status_token(order=other)]),
            {"notice": notice.pk, "choice": "cancel"},
        )
        assert response.status_code == 400
        assert "That answer does not match a notice about this order" in read(response).text
        response = client.post(
            reverse("customer:consent", args=[forged]), {"notice": notice.pk, "choice": "cancel"}
        )
        assert response.status_code == 404

    assert not ConsentAnswer.objects.exists()
    assert rule(order).state == State.NOTICE_SENT


def test_the_answer_address_only_takes_posts(delayed):
    with on("2026-01-31"):
        assert Client().get(answer_url(delayed.order)).status_code == 405


def test_after_agreeing_to_wait_indefinitely_the_customer_can_still_cancel(browser):
    with on("2026-01-05"):
        lamp = ProductFactory(
            name="Desk Lamp", unit_price=Decimal("40.00"), on_hand=0, lead_time_days=None
        )
        order = place_order((lamp, 1), shipping_charge=Decimal("5.95"))
        rule_run()
    with on("2026-01-06"):
        consent_answer(notice=DelayNotice.objects.get(order=order), choice="wait_indefinitely")
    with on("2026-04-01"):
        page = read(browser.get(status_url(order)))
        assert "please choose" not in page.text
        assert (
            "Changed your mind? You agreed to wait, whatever the date. You can still cancel what "
            "has not shipped, for a full refund, until we ship it."
        ) in page.text
        assert [form.button for form in page.forms] == ["Cancel before it ships"]
        response = click(browser, form_labelled(page, "Cancel before it ships"), follow=True)

    assert response.status_code == 200
    text = read(response).text
    assert "Your order is cancelled. Your refund is shown below" in text
    assert "Cancelled This order was cancelled." in text
    assert rule(order).state == State.CANCELLED
    refund = Refund.objects.get(order=order)
    # Wed 1 Apr 2026 + 7 working days.
    assert (refund.amount, refund.due_date) == (Decimal("45.95"), dt.date(2026, 4, 10))


def test_the_thank_you_message_shows_once(delayed, browser):
    with on("2026-01-31"):
        page = read(browser.get(status_url(delayed.order)))
        response = click(browser, form_labelled(page, "I'll wait until 20 Feb 2026"), follow=True)

    assert read(response).text.count("Thank you: we have your answer") == 1


# --- only what the page offered is accepted -----------------------------------------------------


def snapshot(order: Order) -> tuple[object, ...]:
    """Everything an answer could change: answers, the rule's state, lines, stock, refunds."""
    return (
        list(ConsentAnswer.objects.values_list("notice_id", "choice", "substitute_id")),
        rule(order).state,
        list(
            order.lines.order_by("pk").values_list(
                "product_id", "quantity", "quantity_allocated", "quantity_cancelled"
            )
        ),
        list(Stock.objects.order_by("pk").values_list("product_id", "allocated")),
        list(Refund.objects.values_list("order_id", "amount")),
        Notification.objects.filter(kind="consent_confirmed").count(),
    )


@dataclass
class WithSubstitutes:
    order: Order
    speaker: Product  # $129, waiting
    speaker_mk2: Product  # its substitute, in stock
    cable: Product  # a second waiting line
    cable_pro: Product  # the cable's substitute, in stock
    studio: Product  # $399, nobody's substitute, in stock


@pytest.fixture
def with_substitutes() -> WithSubstitutes:
    with on("2026-01-05"):
        speaker_mk2 = ProductFactory(sku="SPK-MK2", name="Speaker Mk2", on_hand=2)
        cable_pro = ProductFactory(sku="CBL-PRO", name="Cable Pro", on_hand=5)
        studio = ProductFactory(
            sku="STUDIO-399", name="Studio Monitor", unit_price=Decimal("399.00"), on_hand=4
        )
        speaker = ProductFactory(
            sku="SPK-1",
            name="Speaker",
            unit_price=Decimal("129.00"),
            on_hand=0,
            lead_time_days=None,
            substitutes=[speaker_mk2],
        )
        cable = ProductFactory(
            sku="CBL-1", name="Cable", on_hand=0, lead_time_days=None, substitutes=[cable_pro]
        )
        order = place_order((speaker, 1), (cable, 1))
        rule_run()
    assert rule(order).state == State.NOTICE_SENT
    return WithSubstitutes(order, speaker, speaker_mk2, cable, cable_pro, studio)


def post_answer(client: Client, order: Order, **fields: object) -> HttpResponse:
    return client.post(answer_url(order), fields)


def test_the_page_offers_each_line_its_own_substitutes(with_substitutes, browser):
    with on("2026-01-06"):
        page = read(browser.get(status_url(with_substitutes.order)))

    assert [form.button for form in page.forms] == [
        "I'll wait, whatever the date",
        "Send Speaker Mk2 instead of Speaker",
        "Send Cable Pro instead of Cable",
        "Cancel and refund",
    ]


def test_a_forged_substitute_is_refused_and_nothing_changes(with_substitutes, browser):
    w = with_substitutes
    with on("2026-01-06"):
        page = read(browser.get(status_url(w.order)))
        form = form_labelled(page, "Send Speaker Mk2 instead of Speaker")
        before = snapshot(w.order)
        # The $399 monitor for the $129 speaker, at the speaker's price: never offered.
        response = click(browser, replace(form, fields={**form.fields, "substitute": "STUDIO-399"}))

    assert response.status_code == 400
    assert (
        "That substitute is not on offer for this order; please choose one of the options on "
        "this page."
    ) in read(response).text
    assert snapshot(w.order) == before
    assert not w.order.lines.filter(product=w.studio).exists()


def test_another_lines_substitute_is_refused(with_substitutes, browser):
    w = with_substitutes
    with on("2026-01-06"):
        page = read(browser.get(status_url(w.order)))
        form = form_labelled(page, "Send Speaker Mk2 instead of Speaker")
        before = snapshot(w.order)
        # The cable's substitute sent as the speaker's.
        response = click(browser, replace(form, fields={**form.fields, "substitute": "CBL-PRO"}))

    assert response.status_code == 400
    assert "That substitute is not on offer for this order" in read(response).text
    assert snapshot(w.order) == before


def test_a_substitute_that_went_out_of_stock_is_refused(with_substitutes, browser):
    w = with_substitutes
    with on("2026-01-06"):
        page = read(browser.get(status_url(w.order)))
        # Meanwhile someone else buys both Speaker Mk2s.
        place_order((w.speaker_mk2, 2))
        before = snapshot(w.order)
        response = click(browser, form_labelled(page, "Send Speaker Mk2 instead of Speaker"))

    assert response.status_code == 400
    text = read(response).text
    assert (
        "Sorry, Speaker Mk2 is no longer available to send instead; please choose another option."
    ) in text
    # The page that comes back offers what is still on offer.
    assert "Send Speaker Mk2 instead of Speaker" not in text
    assert "Send Cable Pro instead of Cable" in text
    assert snapshot(w.order) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"notice": "abc"}, "That answer does not match a notice about this order"),
        ({"notice": "１２"}, "That answer does not match a notice about this order"),
        ({"notice": "1" * 30}, "That answer does not match a notice about this order"),
        ({"notice": ""}, "That answer does not match a notice about this order"),
        ({"notice": "999999"}, "That answer does not match a notice about this order"),
        ({"line": "x1"}, "That item is not part of this order."),
        ({"line": "999999"}, "That item is not part of this order."),
        ({"choice": "refund_twice"}, "Please choose one of the options on this page."),
        ({"choice": ""}, "Please choose one of the options on this page."),
    ],
    ids=[
        "notice-letters",
        "notice-fullwidth-digits",
        "notice-huge",
        "notice-missing",
        "notice-unknown",
        "line-letters",
        "line-unknown",
        "choice-unknown",
        "choice-missing",
    ],
)
def test_a_malformed_answer_is_a_400_with_a_message(
    with_substitutes, browser, change: dict[str, str], message: str
):
    w = with_substitutes
    with on("2026-01-06"):
        page = read(browser.get(status_url(w.order)))
        form = form_labelled(page, "Send Speaker Mk2 instead of Speaker")
        before = snapshot(w.order)
        response = click(browser, replace(form, fields={**form.fields, **change}))

    assert response.status_code == 400
    assert message in read(response).text
    assert snapshot(w.order) == before


def test_wait_until_on_a_notice_without_a_date_is_refused(with_substitutes, browser):
    w = with_substitutes
    with on("2026-01-06"):
        page = read(browser.get(status_url(w.order)))
        form = form_labelled(page, "I'll wait, whatever the date")
        before = snapshot(w.order)
        response = click(browser, replace(form, fields={**form.fields, "choice": "wait_until"}))

    assert response.status_code == 400
    assert "This notice gives no date; choose to wait whatever the date." in read(response).text
    assert snapshot(w.order) == before


# --- once the delay is over ---------------------------------------------------------------------


def stock_arrives(delayed: Delayed) -> None:
    purchase_order_line_reschedule(
        line=delayed.po_line, expected_date=dt.date(2026, 2, 2), reason="Arrived early"
    )
    purchase_order_line_receive(line=delayed.po_line, quantity=10)
    product_allocate(product_id=delayed.lamp.pk)


def test_once_stock_arrives_the_page_stops_calling_the_order_delayed(delayed, browser):
    notice = DelayNotice.objects.get(order=delayed.order)
    with on("2026-02-02"):
        stock_arrives(delayed)
        # Even before the rule engine has run, the page never asks about a delay that is over.
        page = read(browser.get(status_url(delayed.order)))

    assert "Being prepared Everything you ordered is in stock and set aside for you." in page.text
    assert "delayed" not in page.text
    assert "please choose" not in page.text
    assert (
        "Changed your mind? If you no longer want your order, you can still cancel what has not "
        "shipped, for a full refund, until we ship it."
    ) in page.text
    assert [form.button for form in page.forms] == ["Cancel before it ships"]
    notice.refresh_from_db()
    assert notice.closed_at is None

    with on("2026-02-02", 11):
        rule_run()

    notice.refresh_from_db()
    assert (notice.closed_at, notice.closed_reason) == (at("2026-02-02", 11), "in_stock")
    # The rule's record (what staff export) says when and why.
    _, record = compliance_record(order_id=delayed.order.pk)
    assert (
        at("2026-02-02", 11),
        "Mail Order Rule",
        "Delay notice closed: the delayed items came into stock and are set aside.",
    ) in [(row.at, row.what, row.detail) for row in record]


def test_allocation_closes_the_notice_once_it_commits(delayed, django_capture_on_commit_callbacks):
    with on("2026-02-02"), django_capture_on_commit_callbacks(execute=True):
        stock_arrives(delayed)

    notice = DelayNotice.objects.get(order=delayed.order)
    assert (notice.closed_at, notice.closed_reason) == (at("2026-02-02"), "in_stock")


def test_an_old_page_cannot_answer_a_delay_that_is_over(delayed, browser):
    with on("2026-01-31"):
        page = read(browser.get(status_url(delayed.order)))
    with on("2026-02-02"):
        stock_arrives(delayed)
        rule_run()
        before = snapshot(delayed.order)
        response = click(browser, form_labelled(page, "I'll wait until 20 Feb 2026"))

    assert response.status_code == 409
    text = read(response).text
    assert (
        "Good news: your items are now in stock and set aside for you, so this delay notice no "
        "longer needs an answer."
    ) in text
    assert "please choose" not in text
    assert snapshot(delayed.order) == before


def test_cancel_before_it_ships_cancels_and_shows_the_refund(delayed, browser):
    with on("2026-02-02"):
        stock_arrives(delayed)
        rule_run()
        page = read(browser.get(status_url(delayed.order)))
        response = click(browser, form_labelled(page, "Cancel before it ships"), follow=True)

    assert response.status_code == 200
    text = read(response).text
    assert "Your order is cancelled. Your refund is shown below" in text
    assert "Cancelled This order was cancelled." in text
    # Mon 2 Feb + 7 working days.
    assert "Refunds $45.95 Desk Lamp Not yet issued · due by 11 Feb 2026" in text
    assert "Cancel before it ships" not in text
    assert rule(delayed.order).state == State.CANCELLED
    assert Stock.objects.get(product=delayed.lamp).allocated == 0
    assert delayed.order.events.filter(
        message="Customer cancelled before shipment; a full refund is owed."
    ).exists()
    assert Notification.objects.filter(order=delayed.order, kind="cancellation").exists()


def test_no_cancel_button_after_agreeing_to_a_date_and_the_address_refuses(delayed, browser):
    with on("2026-01-31"):
        page = read(browser.get(status_url(delayed.order)))
        click(browser, form_labelled(page, "I'll wait until 20 Feb 2026"))
    with on("2026-02-02"):
        stock_arrives(delayed)
        rule_run()
        page = read(browser.get(status_url(delayed.order)))
        before = snapshot(delayed.order)
        response = browser.post(
            reverse("customer:cancel", args=[order_status_token(order=delayed.order)]),
            {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value},
        )

    assert page.forms == []
    assert "delayed" not in page.text
    assert response.status_code == 409
    assert (
        "This order cannot be cancelled from this page; please email us and we will help."
        in read(response).text
    )
    assert snapshot(delayed.order) == before


def test_once_shipped_the_notice_closes_and_nothing_is_offered(delayed, browser):
    with on("2026-02-02"):
        stock_arrives(delayed)
        shipment_create(order=delayed.order, carrier="UPS")
        rule_run()
        page = read(browser.get(status_url(delayed.order)))

    notice = DelayNotice.objects.get(order=delayed.order)
    assert notice.closed_reason == "shipped"
    assert "Shipped Everything you ordered is on its way." in page.text
    assert "delayed" not in page.text
    assert page.forms == []


def test_a_newer_notice_replaces_the_old_one(delayed, browser):
    first = DelayNotice.objects.get(order=delayed.order)
    with on("2026-01-31"):
        old_page = read(browser.get(status_url(delayed.order)))
    with on("2026-02-10"):
        purchase_order_line_reschedule(
            line=delayed.po_line, expected_date=dt.date(2026, 3, 9), reason="Later again"
        )
        rule_run()
    renewed = DelayNotice.objects.get(order=delayed.order, kind="renewed")
    first.refresh_from_db()
    assert (first.closed_reason, first.closed_at) == ("replaced", renewed.sent_at)
    with on("2026-02-10", 11):
        page = read(browser.get(status_url(delayed.order)))
        before = snapshot(delayed.order)
        response = click(browser, form_labelled(old_page, "Cancel and refund"))

    assert "We now expect to ship on 10 Mar 2026." in page.text
    assert {form.fields["notice"] for form in page.forms} == {str(renewed.pk)}
    assert response.status_code == 409
    assert (
        "We have sent you a newer notice since; please answer that one on this page."
        in read(response).text
    )
    assert snapshot(delayed.order) == before


def test_a_preorders_delay_speaks_of_its_release_date(browser):
    with on("2026-01-05"):
        game = ProductFactory(
            name="Star Pilot",
            on_hand=0,
            is_preorder=True,
            release_date=dt.date(2026, 3, 2),
            lead_time_days=None,
        )
        order = place_order((game, 1))
        rule_run()
        page = read(browser.get(status_url(order)))

    notice = DelayNotice.objects.get(order=order)
    assert notice.delay_reason == (
        "Star Pilot: a preorder, not released yet; its release date is 2 Mar 2026."
    )
    assert "supplier" not in page.text
    assert "Star Pilot: a preorder, not released yet; its release date is 2 Mar 2026." in (
        page.text
    )


def test_if_stock_is_taken_back_the_unanswered_notice_stands_again(browser):
    with on("2026-01-05"):
        lamp = ProductFactory(name="Desk Lamp", on_hand=0, lead_time_days=None)
        order = place_order((lamp, 1))
        rule_run()
    notice = DelayNotice.objects.get(order=order)
    with on("2026-01-10"):
        receive(lamp, 1)
        rule_run()
    notice.refresh_from_db()
    assert notice.closed_reason == "in_stock"
    with on("2026-01-11"):
        stock_adjust(product=lamp, quantity=-1, reason="Dropped by the forklift")
        rule_run()
        page = read(browser.get(status_url(order)))

    notice.refresh_from_db()
    assert (notice.closed_at, notice.closed_reason) == (None, "")
    assert order.events.filter(
        message="Delay notice stands again: the items wait for stock again."
    ).exists()
    # Its cut-off never moved: the customer can answer it again.
    assert "Your order is delayed: please choose We cannot give you a new date yet." in page.text
    assert (
        "Unless you agree to wait by 6 Mar 2026, or we ship by then, we will cancel the "
        "delayed items and refund you in full."
    ) in page.text
    assert {form.fields["notice"] for form in page.forms} == {str(notice.pk)}


# The token's order; the page's order with its lines, events, shipments and refunds; the
# rule's state, the latest notice, the covered lines, the waiting lines and their substitutes;
# the count of the customer's opens (one UPDATE).
QUERIES_WITH_CHOICES = 12


@pytest.mark.parametrize("lines", [2, 6])
def test_the_page_with_choices_costs_the_same_queries_for_2_or_6_lines(
    browser, django_assert_num_queries, lines: int
):
    with on("2026-01-05"):
        items = []
        for number in range(lines):
            substitute = ProductFactory(name=f"Lamp Mk{number}", on_hand=3)
            items.append(
                (ProductFactory(on_hand=0, lead_time_days=None, substitutes=[substitute]), 1)
            )
        order = place_order(*items)
        rule_run()
    url = status_url(order)
    with on("2026-01-06"), django_assert_num_queries(QUERIES_WITH_CHOICES):
        page = read(browser.get(url))

    assert len([form for form in page.forms if form.fields["choice"] == "substitute"]) == lines

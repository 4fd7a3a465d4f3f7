"""Dashboard purchasing: the PO list, creating POs, the PO page, and moving an expected date
with a preview of what it does to customers' ETAs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.formats import format_date
from dashboard.purchasing import selectors as selectors_purchasing
from dashboard.purchasing.selectors import reschedule_preview
from inventory.models import Product, PurchaseOrder, PurchaseOrderLine
from inventory.services import PurchaseLineRequest, supplier_create
from notifications.models import Notification
from orders.models import OrderEvent, OrderLine
from orders.selectors import store_today
from orders.services import purchase_order_create
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order
from tests.shown import shown

pytestmark = pytest.mark.django_db

HANDLING = 1  # ETA_HANDLING_DAYS default


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def manager():
    user = UserFactory(username="morgan")
    user.groups.add(Group.objects.get(name="Managers"))
    return user


@pytest.fixture
def managed(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def acme():
    return supplier_create(name="Acme Lighting", lead_time_days=10)


def send_po(product: Product, *rows: tuple[int, int], supplier=None) -> PurchaseOrder:
    supplier = supplier or supplier_create(
        name=f"Supplier {PurchaseOrder.objects.count()}", lead_time_days=14
    )
    return purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(product, quantity, day(offset)) for quantity, offset in rows],
        send=True,
    )


@pytest.fixture
def lamp():
    """Two POs on the way (3 units in 5 days, 4 in 10) and four customers waiting for 9."""
    product = ProductFactory(sku="LAMP", name="Desk lamp", on_hand=0, lead_time_days=14)
    first = send_po(product, (3, 5))
    second = send_po(product, (4, 10))
    for email, quantity in [("a@x.com", 2), ("b@x.com", 2), ("c@x.com", 3), ("d@x.com", 2)]:
        place_order((product, quantity), customer=CustomerFactory(email=email))
    return product, first, second


def etas(product: Product) -> list[dt.date | None]:
    return list(
        OrderLine.objects.filter(product=product, quantity_backordered__gt=0)
        .order_by("id")
        .values_list("eta", flat=True)
    )


# --- access ------------------------------------------------------------------------------


def test_operations_staff_cannot_open_purchasing(client, lamp):
    _, first, _ = lamp
    user = UserFactory()
    user.groups.add(Group.objects.get(name="Operations"))
    client.force_login(user)
    line = first.lines.get()
    for url in [
        reverse("dashboard:purchase_orders"),
        reverse("dashboard:purchase_order_new"),
        reverse("dashboard:purchase_order", args=[first.pk]),
        reverse("dashboard:po_line_reschedule", args=[line.pk]),
    ]:
        assert client.get(url).status_code == 403
    response = client.post(
        reverse("dashboard:po_line_reschedule", args=[line.pk]),
        {"expected_date": day(20), "reason": "x", "confirm": "1"},
    )
    assert response.status_code == 403
    assert PurchaseOrderLine.objects.get(pk=line.pk).expected_date == day(5)


# --- list --------------------------------------------------------------------------------


def test_the_list_shows_each_po_with_its_outstanding_units_and_next_date(managed, acme):
    lamp = ProductFactory(sku="LAMP")
    shade = ProductFactory(sku="SHADE")
    sent = purchase_order_create(
        supplier=acme,
        lines=[PurchaseLineRequest(lamp, 5, day(7)), PurchaseLineRequest(shade, 3, day(4))],
        send=True,
    )
    draft = purchase_order_create(
        supplier=supplier_create(name="Bolt & Co"), lines=[PurchaseLineRequest(lamp, 2, day(9))]
    )

    page = text(managed.get(reverse("dashboard:purchase_orders")))

    assert page.index(draft.number) < page.index(sent.number)  # newest first
    row = page[page.index(sent.number) : page.index("</tr>", page.index(sent.number))]
    assert "Acme Lighting" in row
    assert "Sent" in row
    assert '<td class="num">2</td>' in row  # lines
    assert '<td class="num">8</td>' in row  # units outstanding
    assert shown(day(4)) in row  # the earliest outstanding line
    draft_row = page[page.index(draft.number) : page.index("</tr>", page.index(draft.number))]
    assert "not sent" in draft_row
    assert "Bolt &amp; Co" in draft_row


def test_the_list_filters_by_status_and_supplier(managed, acme):
    lamp = ProductFactory()
    bolt = supplier_create(name="Bolt & Co")
    sent = send_po(lamp, (1, 3), supplier=acme)
    draft = purchase_order_create(supplier=bolt, lines=[PurchaseLineRequest(lamp, 2, day(9))])
    url = reverse("dashboard:purchase_orders")

    by_status = text(managed.get(url, {"status": "draft"}))
    by_supplier = text(managed.get(url, {"supplier": acme.pk}))

    assert draft.number in by_status
    assert sent.number not in by_status
    assert sent.number in by_supplier
    assert draft.number not in by_supplier
    assert "No purchase orders match these filters" in text(
        managed.get(url, {"status": "cancelled"})
    )


def test_the_list_runs_the_same_queries_for_3_or_60_purchase_orders(managed, acme, manager):
    products = [ProductFactory() for _ in range(3)]

    def make(count: int) -> None:
        for i in range(count):
            purchase_order_create(
                supplier=acme,
                lines=[PurchaseLineRequest(p, 2 + i, day(3 + i)) for p in products],
                send=i % 2 == 0,
            )

    url = reverse("dashboard:purchase_orders")
    make(3)
    managed.get(url)  # warm the session and permission caches the same way both times
    with CaptureQueriesContext(connection) as few:
        assert managed.get(url).status_code == 200
    make(57)
    second = url + managed.get(url).context["page"].next_href
    with CaptureQueriesContext(connection) as many:
        response = managed.get(second)
    assert response.status_code == 200
    assert len(many) == len(few)
    # session, user, permissions (2), suppliers for the filter, the page, the bounded count,
    # saved views
    assert len(few) == 8
    assert "60 purchase orders" in text(response)
    assert len(response.context["rows"]) == 25


# --- create ------------------------------------------------------------------------------


def test_a_manager_creates_and_sends_a_po_by_hand(managed, acme, manager):
    lamp = ProductFactory(sku="LAMP", on_hand=0, lead_time_days=30)
    ProductFactory(sku="SHADE")
    order = place_order((lamp, 2), customer=CustomerFactory(email="a@x.com"))
    data = {
        "po-supplier": acme.pk,
        "po-note": "Spring restock",
        "po-send": "on",
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "lines-0-sku": "lamp",  # SKUs match whatever their case
        "lines-0-quantity": "10",
        "lines-0-expected_date": day(6).isoformat(),
        "lines-1-sku": "SHADE",
        "lines-1-quantity": "4",
        "lines-1-expected_date": day(8).isoformat(),
        "create": "1",
    }

    response = managed.post(reverse("dashboard:purchase_order_new"), data)

    po = PurchaseOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:purchase_order", args=[po.pk])
    assert (po.supplier, po.status, po.note, po.created_by) == (
        acme,
        "sent",
        "Spring restock",
        manager,
    )
    assert sorted(po.lines.values_list("product__sku", "quantity_ordered", "expected_date")) == [
        ("LAMP", 10, day(6)),
        ("SHADE", 4, day(8)),
    ]
    assert order.lines.get().eta == day(6 + HANDLING)  # the sent PO moved the ETA
    page = text(managed.get(response["Location"]))
    assert f"{po.number} sent." in page


def test_an_unknown_sku_or_no_lines_creates_nothing(managed, acme):
    url = reverse("dashboard:purchase_order_new")
    base = {
        "po-supplier": acme.pk,
        "lines-TOTAL_FORMS": "5",
        "lines-INITIAL_FORMS": "0",
        "create": "1",
    }

    unknown = managed.post(
        url,
        base | {"lines-0-sku": "NOPE", "lines-0-quantity": "1", "lines-0-expected_date": day(3)},
    )
    empty = managed.post(url, base)

    assert unknown.status_code == 400
    assert "No product with SKU NOPE." in text(unknown)
    assert empty.status_code == 400
    assert "Add at least one line." in text(empty)
    assert not PurchaseOrder.objects.exists()


def test_reorder_suggestions_become_one_po_per_supplier(managed, acme):
    bolt = supplier_create(name="Bolt & Co", lead_time_days=5)
    lamp = ProductFactory(
        sku="LAMP",
        preferred_supplier=acme,
        lead_time_days=None,
        reorder_point=10,
        reorder_quantity=20,
    )
    bulb = ProductFactory(sku="BULB", preferred_supplier=acme, reorder_point=5)
    bolt_item = ProductFactory(
        sku="BOLT",
        preferred_supplier=bolt,
        lead_time_days=None,
        reorder_point=3,
        reorder_quantity=0,
    )
    ProductFactory(sku="FULL", preferred_supplier=acme, reorder_point=2, on_hand=50)
    url = reverse("dashboard:purchase_order_new")

    page = text(managed.get(url))

    assert "FULL" not in page
    for sku in ("LAMP", "BULB", "BOLT"):
        assert f">{sku}</label>" in page
    assert page.index(">LAMP<") > page.index("Acme Lighting") < page.index(">BULB<")

    response = managed.post(
        url, {"s-products": [lamp.pk, bolt_item.pk], "s-send": "on", "from_suggestions": "1"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:purchase_orders")
    pos = {po.supplier.name: po for po in PurchaseOrder.objects.select_related("supplier")}
    assert set(pos) == {"Acme Lighting", "Bolt & Co"}
    assert list(
        pos["Acme Lighting"].lines.values_list("product__sku", "quantity_ordered", "expected_date")
    ) == [("LAMP", 20, day(10))]
    assert list(
        pos["Bolt & Co"].lines.values_list("product__sku", "quantity_ordered", "expected_date")
    ) == [("BOLT", 3, day(5))]
    assert all(po.status == "sent" for po in pos.values())
    assert bulb.purchase_lines.count() == 0


def test_ticking_nothing_says_so(managed):
    response = managed.post(reverse("dashboard:purchase_order_new"), {"from_suggestions": "1"})
    assert response.status_code == 400
    assert "Tick at least one product to reorder." in text(response)


# --- the PO page -------------------------------------------------------------------------


def test_the_po_page_shows_lines_history_and_sends_a_draft(managed, acme, manager):
    lamp = ProductFactory(sku="LAMP", on_hand=0)
    place_order((lamp, 2), customer=CustomerFactory(email="a@x.com"))
    po = purchase_order_create(
        supplier=acme, lines=[PurchaseLineRequest(lamp, 6, day(4))], note="Rush"
    )
    url = reverse("dashboard:purchase_order", args=[po.pk])

    with CaptureQueriesContext(connection) as queries:
        page = text(managed.get(url))

    assert "Send to supplier" in page
    assert "send first" in page
    assert "Created with 1 line" in page
    assert "Note: Rush" in page
    assert len(queries) <= 8

    response = managed.post(reverse("dashboard:purchase_order_send", args=[po.pk]))

    assert response.status_code == 302
    po.refresh_from_db()
    assert po.status == "sent"
    page = text(managed.get(url))
    assert "Sent to Acme Lighting" in page
    assert "— morgan" in page
    assert "Send to supplier" not in page
    assert OrderLine.objects.get(product=lamp).eta == day(4 + HANDLING)


def test_receiving_a_line_allocates_to_the_queue_at_once(managed, lamp):
    product, first, _ = lamp
    line = first.lines.get()

    response = managed.post(
        reverse("dashboard:po_line_receive", args=[line.pk]), {"quantity": "3"}, follow=True
    )

    assert response.status_code == 200
    assert "Received 3 × LAMP on " + first.number in text(response)
    # a@x.com's 2 units in full, 1 of b@x.com's 2
    assert "2 waiting orders got stock (1 now allocated in full)." in text(response)
    allocated = dict(
        OrderLine.objects.filter(product=product).values_list(
            "order__customer__email", "quantity_allocated"
        )
    )
    assert allocated == {"a@x.com": 2, "b@x.com": 1, "c@x.com": 0, "d@x.com": 0}
    first.refresh_from_db()
    assert first.status == "received"


def test_receiving_more_than_outstanding_is_refused(managed, lamp):
    _, first, _ = lamp
    response = managed.post(
        reverse("dashboard:po_line_receive", args=[first.lines.get().pk]), {"quantity": "4"}
    )
    assert response.status_code == 400
    assert "less than or equal to 3" in text(response)
    assert first.lines.get().quantity_received == 0


def test_cancelling_needs_a_reason_and_moves_etas_back(managed, lamp):
    product, _, second = lamp
    url = reverse("dashboard:purchase_order_cancel", args=[second.pk])

    refused = managed.post(url, {"reason": ""})
    response = managed.post(url, {"reason": "Supplier went bust"})

    assert refused.status_code == 400
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == "cancelled"
    assert etas(product) == [day(6), day(15), day(15), day(15)]


# --- moving an expected date -------------------------------------------------------------


def test_the_preview_counts_who_moves_and_by_how_much(lamp):
    product, first, _ = lamp
    line = first.lines.get()

    with CaptureQueriesContext(connection) as queries:
        preview = reschedule_preview(line=line, expected_date=day(12))

    # Supply becomes 4 units on day 10, then 3 on day 12: a 6 → 11, c 11 → 13, b stays on 11.
    assert preview.counts_as_supply
    assert (preview.lines_waiting, preview.lines_later, preview.lines_earlier) == (4, 2, 0)
    assert (preview.orders_later, preview.orders_earlier, preview.orders_changed) == (2, 0, 2)
    assert (preview.max_days_later, preview.max_days_earlier) == (5, 0)
    assert preview.orders_emailed == 2
    assert [(o.customer.split("<")[-1], o.old, o.new, o.shift_days) for o in preview.sample] == [
        ("a@x.com>", day(6), day(11), 5),
        ("c@x.com>", day(11), day(13), 2),
    ]
    # product, supply for the context, the PO lines, one batch of the queue, the moved orders'
    # ship-by dates, the sample
    assert len(queries) == 6


def test_an_earlier_date_counts_lines_moving_earlier(lamp):
    _, _, second = lamp

    preview = reschedule_preview(line=second.lines.get(), expected_date=day(3))

    # 4 units on day 3, then 3 on day 5: a 6 → 4, b 11 → 4, c 11 → 6; d stays on lead time.
    assert (preview.lines_later, preview.lines_earlier, preview.orders_earlier) == (0, 3, 3)
    assert preview.max_days_earlier == 7
    assert preview.orders_emailed == 3  # each moved at least ETA_EMAIL_EARLIER_DAYS


def test_the_preview_writes_nothing(lamp):
    product, first, _ = lamp
    before = (etas(product), OrderEvent.objects.count(), Notification.objects.count())

    reschedule_preview(line=first.lines.get(), expected_date=day(30))

    assert (etas(product), OrderEvent.objects.count(), Notification.objects.count()) == before
    assert first.lines.get().expected_date == day(5)


@pytest.mark.parametrize("offset", [1, 4, 9, 12, 30])
def test_the_preview_matches_what_saving_does(lamp, offset, monkeypatch):
    """Walked in batches of 2 lines, the preview predicts exactly the ETAs the service writes."""
    from orders.services import purchase_order_line_reschedule

    product, first, _ = lamp
    for email in ("e@x.com", "f@x.com", "g@x.com"):
        place_order((product, 1), customer=CustomerFactory(email=email))
    monkeypatch.setattr(selectors_purchasing, "QUEUE_BATCH_SIZE", 2)
    line = first.lines.get()
    before = dict(OrderLine.objects.filter(product=product).values_list("order_id", "eta"))

    preview = reschedule_preview(line=line, expected_date=day(offset))
    purchase_order_line_reschedule(line=line, expected_date=day(offset), reason="Moved")

    after = dict(OrderLine.objects.filter(product=product).values_list("order_id", "eta"))
    later = {pk for pk in after if after[pk] > before[pk]}
    earlier = {pk for pk in after if after[pk] < before[pk]}
    assert (preview.orders_later, preview.orders_earlier) == (len(later), len(earlier))
    assert {o.order_id for o in preview.sample} == later | earlier
    assert preview.lines_waiting == 7


def test_the_reschedule_screen_previews_then_saves(managed, lamp):
    product, first, _ = lamp
    line = first.lines.get()
    url = reverse("dashboard:po_line_reschedule", args=[line.pk])
    Notification.objects.filter(kind=Notification.Kind.ETA_CHANGED).delete()

    form = text(managed.get(url))
    preview = managed.post(url, {"expected_date": day(12), "reason": "", "preview": "1"})

    assert "Save new date" not in form
    assert preview.status_code == 200
    page = text(preview)
    assert 'data-testid="orders-changed">2<' in page
    assert "+5 days" in page
    assert "Save new date" in page
    assert etas(product) == [day(6), day(11), day(11), day(15)]  # nothing saved yet

    no_reason = managed.post(url, {"expected_date": day(12), "reason": " ", "confirm": "1"})
    assert no_reason.status_code == 400
    assert "Say why the date changed before saving it." in text(no_reason)

    saved = managed.post(
        url, {"expected_date": day(12), "reason": "Port strike", "confirm": "1"}, follow=True
    )

    assert saved.redirect_chain == [(reverse("dashboard:purchase_order", args=[first.pk]), 302)]
    assert (
        f"{first.number}: LAMP now expected {format_date(day(12))}. "
        "2 customers&#x27; ETAs moved; their emails are queued."
    ) in text(saved)
    assert etas(product) == [day(11), day(11), day(13), day(15)]
    queued = Notification.objects.filter(
        kind=Notification.Kind.ETA_CHANGED, state=Notification.State.PENDING
    )
    assert sorted(queued.values_list("recipient", flat=True)) == ["a@x.com", "c@x.com"]
    assert all(n.facts["reasons"] == ["Port strike"] for n in queued)
    assert (
        f"LAMP now expected {format_date(day(12))} (was {format_date(day(5))}): Port strike"
        in text(saved)
    )  # the PO's history


def test_the_same_or_a_past_date_is_refused(managed, lamp):
    _, first, _ = lamp
    line = first.lines.get()
    url = reverse("dashboard:po_line_reschedule", args=[line.pk])

    same = managed.post(url, {"expected_date": day(5), "preview": "1"})
    past = managed.post(url, {"expected_date": day(-1), "preview": "1"})

    assert same.status_code == past.status_code == 400
    assert f"already expected on {day(5).isoformat()}" in text(same)
    assert "cannot be in the past" in text(past)

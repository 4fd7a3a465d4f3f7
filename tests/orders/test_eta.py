"""ETAs: every waiting unit covered from the earliest supply, in queue order."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Product, PurchaseOrder
from inventory.services import PurchaseLineRequest, supplier_create
from orders.models import Order, OrderEvent, OrderLine
from orders.selectors import QuoteStatus, product_quote, store_today
from orders.services import (
    line_cancel,
    line_prioritise,
    order_place,
    product_allocate,
    product_discontinue,
    product_eta_refresh,
    purchase_order_cancel,
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
)
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db

HANDLING = 1  # ETA_HANDLING_DAYS default


def day(offset: int) -> dt.date:
    return store_today() + dt.timedelta(days=offset)


def etas(product: Product) -> list[tuple[str, dt.date | None, str, str]]:
    """(customer email, ETA, source, reference) for each waiting line, in placement order."""
    return [
        (line.order.customer.email, line.eta, line.eta_source, line.eta_reference)
        for line in OrderLine.objects.filter(product=product, quantity_backordered__gt=0)
        .select_related("order__customer")
        .order_by("id")
    ]


def send_po(product: Product, *rows: tuple[int, int]) -> PurchaseOrder:
    """A sent PO with (quantity, days from today) rows for one product."""
    supplier = supplier_create(name=f"Supplier {PurchaseOrder.objects.count()}", lead_time_days=14)
    return purchase_order_create(
        supplier=supplier,
        lines=[PurchaseLineRequest(product, quantity, day(offset)) for quantity, offset in rows],
        send=True,
    )


@pytest.fixture
def lamp():
    """Lamp: two POs on the way (3 units in 5 days, 4 in 10) and four customers waiting 9."""
    product = ProductFactory(sku="LAMP", on_hand=0, lead_time_days=14)
    first = send_po(product, (3, 5))
    second = send_po(product, (4, 10))
    for email, quantity in [("a@x.com", 2), ("b@x.com", 2), ("c@x.com", 3), ("d@x.com", 2)]:
        place_order((product, quantity), customer=CustomerFactory(email=email))
    return product, first, second


def test_each_line_gets_the_date_its_last_unit_is_covered(lamp):
    product, first, second = lamp
    assert etas(product) == [
        ("a@x.com", day(5 + HANDLING), "po", first.number),
        ("b@x.com", day(10 + HANDLING), "po", second.number),  # one unit from each PO
        ("c@x.com", day(10 + HANDLING), "po", second.number),
        ("d@x.com", day(14 + HANDLING), "lead_time", ""),  # beyond all incoming supply
    ]


def test_priority_moves_a_line_onto_the_earliest_supply(lamp):
    product, first, second = lamp
    d_line = OrderLine.objects.get(product=product, order__customer__email="d@x.com")

    line_prioritise(line=d_line, reason="Replacement for a broken lamp")

    assert etas(product) == [
        ("a@x.com", day(10 + HANDLING), "po", second.number),
        ("b@x.com", day(10 + HANDLING), "po", second.number),
        ("c@x.com", day(14 + HANDLING), "lead_time", ""),
        ("d@x.com", day(5 + HANDLING), "po", first.number),
    ]


def test_a_slipping_po_moves_exactly_the_lines_behind_it_and_records_each_change(lamp):
    product, first, second = lamp
    OrderEvent.objects.filter(kind=OrderEvent.Kind.ETA_CHANGED).delete()

    purchase_order_line_reschedule(
        line=second.lines.get(), expected_date=day(20), reason="Factory closed for a holiday"
    )

    assert etas(product) == [
        ("a@x.com", day(5 + HANDLING), "po", first.number),
        ("b@x.com", day(20 + HANDLING), "po", second.number),
        ("c@x.com", day(20 + HANDLING), "po", second.number),
        ("d@x.com", day(14 + HANDLING), "lead_time", ""),
    ]
    events = OrderEvent.objects.filter(kind=OrderEvent.Kind.ETA_CHANGED).order_by("order_id")
    assert [e.order.customer.email for e in events] == ["b@x.com", "c@x.com"]
    change = events[0].data
    assert change["reason"] == "Factory closed for a holiday"
    assert change["lines"][0]["old"] == day(10 + HANDLING).isoformat()
    assert change["lines"][0]["new"] == day(20 + HANDLING).isoformat()


def test_a_cancellation_moves_the_lines_behind_it_earlier(lamp):
    product, first, second = lamp
    a_line = OrderLine.objects.get(product=product, order__customer__email="a@x.com")

    line_cancel(line=a_line, reason="Bought elsewhere")

    assert etas(product) == [
        ("b@x.com", day(5 + HANDLING), "po", first.number),
        ("c@x.com", day(10 + HANDLING), "po", second.number),
        ("d@x.com", day(10 + HANDLING), "po", second.number),
    ]


def test_a_cancelled_po_sends_its_lines_back_to_lead_time(lamp):
    product, first, second = lamp
    purchase_order_cancel(purchase_order=second, reason="Supplier went bust")
    assert etas(product) == [
        ("a@x.com", day(5 + HANDLING), "po", first.number),
        ("b@x.com", day(14 + HANDLING), "lead_time", ""),
        ("c@x.com", day(14 + HANDLING), "lead_time", ""),
        ("d@x.com", day(14 + HANDLING), "lead_time", ""),
    ]


def test_a_partial_receipt_allocates_the_head_and_keeps_the_rest_on_the_po(
    lamp, django_capture_on_commit_callbacks
):
    product, first, second = lamp
    with django_capture_on_commit_callbacks(execute=True):
        purchase_order_line_receive(line=first.lines.get(), quantity=2)

    first.refresh_from_db()
    assert first.status == PurchaseOrder.Status.PARTIALLY_RECEIVED
    assert etas(product) == [
        ("b@x.com", day(10 + HANDLING), "po", second.number),
        ("c@x.com", day(10 + HANDLING), "po", second.number),
        ("d@x.com", day(14 + HANDLING), "lead_time", ""),
    ]
    assert OrderLine.objects.get(order__customer__email="a@x.com").quantity_allocated == 2


def test_a_late_po_is_never_promised_in_the_past(lamp):
    product, first, _ = lamp
    purchase_order_line_reschedule(
        line=first.lines.get(), expected_date=day(-3), reason="Was due last week, still not here"
    )
    assert etas(product)[0] == ("a@x.com", day(0 + HANDLING), "po", first.number)


def test_discontinued_or_no_lead_time_means_unknown():
    no_supply = ProductFactory(on_hand=0, lead_time_days=None)
    place_order((no_supply, 1), customer=CustomerFactory(email="e@x.com"))
    assert etas(no_supply) == [("e@x.com", None, "unknown", "")]

    lamp = ProductFactory(on_hand=0, lead_time_days=14)
    send_po(lamp, (5, 3))
    place_order((lamp, 1), customer=CustomerFactory(email="f@x.com"))
    product_discontinue(product=lamp)
    assert etas(lamp) == [("f@x.com", None, "unknown", "")]


def test_lead_time_comes_from_the_preferred_supplier_when_the_product_has_none():
    supplier = supplier_create(name="Nordic Lights", lead_time_days=21)
    product = ProductFactory(on_hand=0, lead_time_days=None, preferred_supplier=supplier)
    place_order((product, 1), customer=CustomerFactory(email="g@x.com"))
    assert etas(product) == [("g@x.com", day(21 + HANDLING), "lead_time", "")]


def test_a_preorder_ships_no_earlier_than_its_release_date():
    product = ProductFactory(on_hand=0, lead_time_days=7, is_preorder=True, release_date=day(30))
    quote = product_quote(product=product, quantity=1)
    assert quote.status == QuoteStatus.PREORDER
    assert quote.release_date == day(30)
    place_order((product, 1), customer=CustomerFactory(email="h@x.com"))
    assert etas(product) == [("h@x.com", day(30), "release", "")]


def test_an_unchanged_recompute_writes_nothing(lamp):
    product, *_ = lamp
    events = OrderEvent.objects.count()
    assert product_eta_refresh(product_id=product.pk) == 0
    assert product_allocate(product_id=product.pk).units == 0
    assert OrderEvent.objects.count() == events


# --- quotes ------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [1, 2, 4, 6])
def test_the_quote_is_the_eta_the_line_then_gets(lamp, quantity):
    product, *_ = lamp
    quote = product_quote(product=product, quantity=quantity)

    order = place_order((product, quantity), customer=CustomerFactory(email="q@x.com"))

    line = order.lines.get()
    assert quote.status == QuoteStatus.BACKORDER
    assert quote.eta is not None
    assert (line.eta, line.eta_source, line.eta_reference) == (
        quote.eta.date,
        quote.eta.source,
        quote.eta.reference,
    )
    # ...and a recompute of the whole queue agrees with it.
    product_eta_refresh(product_id=product.pk)
    line.refresh_from_db()
    assert (line.eta, line.eta_source) == (quote.eta.date, quote.eta.source)


def test_quote_in_stock_partly_and_not_orderable():
    product = ProductFactory(on_hand=3, lead_time_days=10)
    deny = ProductFactory(on_hand=1, backorder_policy=Product.BackorderPolicy.DENY)

    in_stock = product_quote(product=product, quantity=3)
    assert (in_stock.status, in_stock.in_stock, in_stock.backordered) == ("in_stock", 3, 0)

    partly = product_quote(product=product, quantity=5)
    assert (partly.status, partly.in_stock, partly.backordered) == ("backorder", 3, 2)
    assert partly.eta is not None
    assert (partly.eta.date, partly.eta.source) == (day(10 + HANDLING), "lead_time")

    refused = product_quote(product=deny, quantity=2)
    assert refused.status == QuoteStatus.NOT_ORDERABLE
    assert refused.reason == "Only 1 available and this product is not sold on backorder."

    assert product_quote(product=product, quantity=0).reason == "Quantity must be at least 1."


def test_backorders_limited_to_incoming_supply_plus_margin():
    product = ProductFactory(
        sku="DESK", on_hand=0, backorder_limit_from_incoming=True, backorder_margin=1
    )
    quote = product_quote(product=product, quantity=2)
    assert quote.reason == (
        "Only 1 can be ordered now (backorders are limited to the 1 unit on the way)."
    )
    send_po(product, (3, 7))
    assert product_quote(product=product, quantity=4).status == QuoteStatus.BACKORDER
    place_order((product, 4))
    with pytest.raises(ValidationError, match="none can be ordered now"):
        order_place(customer_email="z@x.com", lines=[{"sku": "DESK", "quantity": 1}])


# --- query counts ------------------------------------------------------------------------


def waiting_product(lines: int) -> Product:
    product = ProductFactory(on_hand=0, lead_time_days=14)
    for offset in range(20):
        send_po(product, (50, 3 + offset))
    customer = CustomerFactory()
    start = timezone.now() - dt.timedelta(days=5)
    orders = Order.objects.bulk_create(
        Order(number=f"Q{lines}-{i}", customer=customer, placed_at=start + dt.timedelta(seconds=i))
        for i in range(lines)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            quantity=1 + i % 3,
            unit_price=product.unit_price,
            queued_at=order.placed_at,
        )
        for i, order in enumerate(orders)
    )  # written behind the services' back: no ETAs yet
    return product


@pytest.mark.parametrize(("lines", "limit"), [(10, 13), (10_000, 46)])
def test_eta_recompute_is_a_bounded_number_of_queries(lines, limit):
    """Lock and savepoint, the availability feed's stamp, 2 queries to read the product and
    its supply, then per batch of
    2,000 lines: read, one UPDATE, the events, the outbox (open batches, orders, insert) and
    the webhook subscriptions of the orders' channels."""
    product = waiting_product(lines)
    with CaptureQueriesContext(connection) as ctx:
        changed = product_eta_refresh(product_id=product.pk)
    assert changed == lines
    # SQLite splits the bulk insert of 10,000 events into statements of 999 parameters.
    if connection.vendor == "postgresql" or lines == 10:
        assert len(ctx.captured_queries) <= limit
    first_waiting = OrderLine.objects.filter(product=product).order_by("id").first()
    assert first_waiting is not None
    assert (first_waiting.eta, first_waiting.eta_source) == (day(3 + HANDLING), "po")

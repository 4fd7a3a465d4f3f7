import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from inventory.models import Product, Stock, StockMovement
from orders.models import Customer, Order, OrderEvent, OrderLine, Refund, Shipment
from orders.selectors import invariant_violations, order_detail, product_queue, store_today
from orders.services import (
    LineRequest,
    add_working_days,
    line_cancel,
    line_prioritise,
    order_cancel,
    order_place,
    order_prioritise,
    product_allocate,
    refund_due_date,
    refund_mark_issued,
    shipment_create,
    stock_adjust,
    stock_receive,
)
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order, receive

pytestmark = pytest.mark.django_db


def lines_of(product: Product) -> list[tuple[str, int, int]]:
    """(customer email, allocated, backordered) per line of a product, in order of placement."""
    return [
        (line.order.customer.email, line.quantity_allocated, line.quantity_backordered)
        for line in OrderLine.objects.filter(product=product)
        .select_related("order__customer")
        .order_by("id")
    ]


def stock_of(product: Product) -> tuple[int, int]:
    stock = Stock.objects.get(product=product)
    return stock.on_hand, stock.allocated


def status_of(order: Order) -> str:
    return Order.objects.with_status().get(pk=order.pk).status


# --- placing orders ----------------------------------------------------------------------


def test_seed_example_first_customer_gets_two_second_gets_one_and_waits():
    phone = ProductFactory(sku="PHONE", on_hand=3)
    a = CustomerFactory(email="a@example.com")
    b = CustomerFactory(email="b@example.com")

    order_a = place_order((phone, 2), customer=a)
    order_b = place_order((phone, 2), customer=b)

    assert lines_of(phone) == [("a@example.com", 2, 0), ("b@example.com", 1, 1)]
    assert stock_of(phone) == (3, 3)
    assert status_of(order_a) == Order.Status.OPEN
    assert status_of(order_b) == Order.Status.BACKORDERED
    assert invariant_violations() == []


def test_order_number_event_and_payment_are_recorded():
    phone = ProductFactory(on_hand=1, unit_price=Decimal("199.99"))
    order = place_order((phone, 3))

    assert order.number == f"BD-{order.pk:06d}"
    assert order.amount_paid == Decimal("599.97")
    assert order.amount_captured == Decimal("599.97")
    event = order.events.get()
    assert event.kind == OrderEvent.Kind.PLACED
    assert event.message == "Order placed: 3 units, 2 backordered"
    eta = store_today() + dt.timedelta(days=14 + 1)  # lead time + handling
    assert event.data["lines"] == [
        {
            "sku": phone.sku,
            "quantity": 3,
            "allocated": 1,
            "backordered": 2,
            "eta": eta.isoformat(),
            "eta_source": "lead_time",
        }
    ]


def test_capture_at_shipment_captures_only_what_ships(settings):
    settings.PAYMENT_CAPTURE = "shipment"
    phone = ProductFactory(on_hand=1, unit_price=Decimal("10.00"))
    order = place_order((phone, 3))
    assert order.amount_captured == Decimal("0.00")

    shipment_create(order=order, carrier="UPS")

    order.refresh_from_db()
    assert order.amount_captured == Decimal("10.00")


def test_sku_lookup_ignores_case_and_customer_is_reused():
    ProductFactory(sku="Lamp-01", on_hand=5)
    order_place(
        customer_email="Pat@Example.com",
        customer_name="Pat",
        lines=[{"sku": "LAMP-01", "quantity": 1}],
    )
    order_place(customer_email="pat@example.com", lines=[{"sku": "lamp-01", "quantity": 1}])

    assert Customer.objects.count() == 1
    assert Order.objects.filter(customer__name="Pat").count() == 2


def test_deny_policy_rejects_a_shortfall_and_writes_nothing():
    ProductFactory(sku="KETTLE", on_hand=2, backorder_policy=Product.BackorderPolicy.DENY)
    with pytest.raises(ValidationError) as excinfo:
        order_place(customer_email="c@example.com", lines=[LineRequest("KETTLE", 3)])

    assert excinfo.value.messages == [
        "Line 1 (KETTLE): only 2 available and this product is not sold on backorder."
    ]
    assert Order.objects.count() == 0
    assert Customer.objects.count() == 0


def test_backorder_cap_limits_the_units_waiting():
    ProductFactory(sku="TV", on_hand=1, backorder_cap=3)
    place_order((Product.objects.get(sku="TV"), 3))  # 1 allocated, 2 waiting

    with pytest.raises(ValidationError) as excinfo:
        order_place(customer_email="d@example.com", lines=[LineRequest("TV", 2)])
    assert excinfo.value.messages == [
        "Line 1 (TV): only 1 can be ordered now (backorders are capped at 3 units)."
    ]

    order_place(customer_email="d@example.com", lines=[LineRequest("TV", 1)])
    assert OrderLine.objects.filter(product__sku="TV").count() == 2


def test_discontinued_product_sells_what_is_left_and_no_more():
    ProductFactory(sku="OLD", on_hand=1, is_discontinued=True)
    with pytest.raises(ValidationError, match="discontinued; only 1 left to sell"):
        order_place(customer_email="e@example.com", lines=[LineRequest("OLD", 2)])

    order = order_place(customer_email="e@example.com", lines=[LineRequest("OLD", 1)])
    assert status_of(order) == Order.Status.OPEN


def test_preorder_accepts_orders_even_with_deny_policy():
    ProductFactory(
        sku="NEW",
        is_preorder=True,
        release_date=dt.date(2027, 3, 1),
        backorder_policy=Product.BackorderPolicy.DENY,
    )
    order = order_place(customer_email="f@example.com", lines=[LineRequest("NEW", 2)])
    assert status_of(order) == Order.Status.BACKORDERED


def test_bad_input_names_every_bad_line_and_writes_nothing():
    ProductFactory(sku="A", on_hand=5)
    place_order((Product.objects.get(sku="A"), 1), external_id="SHOP-1")
    before = (
        Order.objects.count(),
        OrderLine.objects.count(),
        stock_of(Product.objects.get(sku="A")),
    )

    with pytest.raises(ValidationError) as excinfo:
        order_place(
            customer_email="",
            external_id="SHOP-1",
            lines=[
                LineRequest("A", 0),
                LineRequest("NOPE", 1),
                LineRequest("A", 1),
                LineRequest("a", 2),
            ],
        )

    assert excinfo.value.messages == [
        "The customer's email address is required.",
        "Line 1 (A): quantity must be at least 1.",
        "Line 4 (a): already ordered on line 3.",
        "An order with external id 'SHOP-1' already exists.",
        "Line 1: unknown SKU 'NOPE'.",
    ]
    after = (
        Order.objects.count(),
        OrderLine.objects.count(),
        stock_of(Product.objects.get(sku="A")),
    )
    assert after == before


def test_an_order_needs_lines_and_a_valid_email():
    with pytest.raises(ValidationError) as excinfo:
        order_place(customer_email="not-an-email", lines=[])
    assert excinfo.value.messages == [
        "'not-an-email' is not a valid email address.",
        "An order needs at least one line.",
    ]


def test_new_order_never_jumps_the_queue_while_allocation_is_pending():
    """Stock that arrived but is not yet handed out still belongs to the waiting lines."""
    cable = ProductFactory(on_hand=0)
    first = place_order((cable, 2), customer=CustomerFactory(email="first@example.com"))
    # A receipt recorded without allocating (as when the allocation task has not run yet).
    Stock.objects.filter(pk=cable.pk).update(on_hand=3)
    StockMovement.objects.create(product=cable, kind="receipt", quantity=3, reason="Received")

    place_order((cable, 2), customer=CustomerFactory(email="late@example.com"))

    assert lines_of(cable) == [("first@example.com", 2, 0), ("late@example.com", 1, 1)]
    assert status_of(first) == Order.Status.OPEN
    assert invariant_violations() == []


# --- allocation --------------------------------------------------------------------------


def test_receipt_allocates_in_queue_order_with_partial_head(
    django_capture_on_commit_callbacks,
):
    mug = ProductFactory(on_hand=0)
    for email in ["1@example.com", "2@example.com", "3@example.com"]:
        place_order((mug, 2), customer=CustomerFactory(email=email))

    with django_capture_on_commit_callbacks() as callbacks:
        stock_receive(product=mug, quantity=3, reference="PO-1")
    # Nothing is handed out inside the receipt's transaction...
    assert stock_of(mug) == (3, 0)
    assert len(callbacks) == 1
    callbacks[0]()  # ...the allocation task does it once the receipt has committed.

    assert lines_of(mug) == [
        ("1@example.com", 2, 0),
        ("2@example.com", 1, 1),
        ("3@example.com", 0, 2),
    ]
    assert stock_of(mug) == (3, 3)
    movement = StockMovement.objects.filter(product=mug, kind="receipt").get()
    assert (movement.quantity, movement.reference) == (3, "PO-1")
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.ALLOCATED).count() == 2


def test_priority_goes_first_then_age():
    lamp = ProductFactory(on_hand=0)
    place_order((lamp, 1), customer=CustomerFactory(email="old@example.com"))
    vip = place_order((lamp, 1), customer=CustomerFactory(email="vip@example.com"))
    place_order((lamp, 1), customer=CustomerFactory(email="new@example.com"))

    line_prioritise(line=vip.lines.get(), reason="Replacement for a damaged delivery")
    receive(product=lamp, quantity=2)

    assert [line.order.customer.email for line in product_queue(product_id=lamp.pk)] == [
        "new@example.com"
    ]
    assert lines_of(lamp) == [
        ("old@example.com", 1, 0),
        ("vip@example.com", 1, 0),
        ("new@example.com", 0, 1),
    ]
    assert vip.events.filter(kind=OrderEvent.Kind.PRIORITISED).get().data["reason"] == (
        "Replacement for a damaged delivery"
    )


def test_prioritising_an_order_reruns_allocation_and_needs_a_reason():
    lamp = ProductFactory(on_hand=0)
    place_order((lamp, 1))
    vip = place_order((lamp, 1))
    with pytest.raises(ValidationError, match="Prioritising needs a reason"):
        order_prioritise(order=vip, reason="  ")

    Stock.objects.filter(pk=lamp.pk).update(on_hand=1)
    StockMovement.objects.create(product=lamp, kind="receipt", quantity=1, reason="Received")
    order_prioritise(order=vip, reason="Press review unit")

    vip.refresh_from_db()
    assert vip.is_priority is True
    assert vip.lines.get().quantity_allocated == 1


def test_allocate_is_idempotent():
    cable = ProductFactory(on_hand=0)
    place_order((cable, 2))
    receive(product=cable, quantity=1)

    again = product_allocate(product_id=cable.pk)

    assert again.units == 0
    assert stock_of(cable) == (1, 1)


# --- cancellation and refunds ------------------------------------------------------------


def test_cancelling_allocated_units_hands_them_to_the_next_line_and_owes_a_refund():
    phone = ProductFactory(on_hand=2, unit_price=Decimal("100.00"))
    a = place_order((phone, 2), customer=CustomerFactory(email="a@example.com"))
    place_order((phone, 1), customer=CustomerFactory(email="b@example.com"))

    line = line_cancel(line=a.lines.get(), quantity=1, reason="Customer asked")

    assert line.quantity_cancelled == 1
    assert lines_of(phone) == [("a@example.com", 1, 0), ("b@example.com", 1, 0)]
    refund = Refund.objects.get(order=a)
    assert refund.amount == Decimal("100.00")
    assert refund.due_date == refund_due_date(vested_at=refund.vested_at, payment_method="card")
    assert invariant_violations() == []


def test_cancelling_cancels_backordered_units_first():
    phone = ProductFactory(on_hand=1)
    order = place_order((phone, 3))
    line = line_cancel(line=order.lines.get(), quantity=2, reason="Only needs one")
    assert (line.quantity_allocated, line.quantity_cancelled, line.backordered) == (1, 2, 0)
    assert stock_of(phone) == (1, 1)


def test_cancelling_a_whole_order_refunds_what_was_paid_and_status_is_cancelled():
    a = ProductFactory(on_hand=1, unit_price=Decimal("10.00"))
    b = ProductFactory(on_hand=0, unit_price=Decimal("5.50"))
    order = place_order((a, 1), (b, 2))

    order_cancel(order=order, reason="Customer changed their mind")

    assert status_of(order) == Order.Status.CANCELLED
    assert Refund.objects.get(order=order).amount == Decimal("21.00")
    assert stock_of(a) == (1, 0)
    with pytest.raises(ValidationError, match="nothing left to cancel"):
        order_cancel(order=order, reason="again")


def test_unpaid_cancellation_owes_nothing():
    a = ProductFactory(on_hand=0)
    order = place_order((a, 1), paid=False)
    order_cancel(order=order, reason="Never paid")
    assert Refund.objects.count() == 0


def test_cannot_cancel_more_than_is_open():
    a = ProductFactory(on_hand=2)
    order = place_order((a, 2))
    shipment_create(order=order)
    with pytest.raises(ValidationError, match="only 0 of 2 can still be cancelled"):
        line_cancel(line=order.lines.get(), quantity=1, reason="Too late")


def test_refund_due_date_counts_working_days_and_us_federal_holidays():
    # FTC example: cancelled at the end of Fri 2026-03-06 -> refund due Tue 2026-03-17.
    assert add_working_days(dt.date(2026, 3, 6), 7) == dt.date(2026, 3, 17)
    # Thanksgiving (Thu 2026-11-26) is skipped.
    assert add_working_days(dt.date(2026, 11, 25), 7) == dt.date(2026, 12, 7)
    late_evening_new_york = dt.datetime(2026, 3, 7, 3, 30, tzinfo=dt.UTC)  # Fri 22:30 in NY
    assert refund_due_date(vested_at=late_evening_new_york, payment_method="card") == dt.date(
        2026, 3, 17
    )
    assert refund_due_date(vested_at=late_evening_new_york, payment_method="store_credit") == (
        dt.date(2026, 4, 5)
    )


def test_refund_marked_issued_once():
    a = ProductFactory(on_hand=0, unit_price=Decimal("8.00"))
    order = place_order((a, 1))
    order_cancel(order=order, reason="Out of patience")
    refund = Refund.objects.get()
    staff = UserFactory()

    refund_mark_issued(refund=refund, reference="Card refund re_123", actor=staff)

    order.refresh_from_db()
    assert order.amount_refunded == Decimal("8.00")
    assert order.events.filter(kind=OrderEvent.Kind.REFUND_ISSUED, actor=staff).count() == 1
    with pytest.raises(ValidationError, match="already issued"):
        refund_mark_issued(refund=refund, reference="again")


# --- shipping ----------------------------------------------------------------------------


def test_partial_shipment_lowers_on_hand_and_allocated_and_writes_movements():
    a = ProductFactory(on_hand=3)
    b = ProductFactory(on_hand=0)
    order = place_order((a, 3), (b, 1))
    line_a = order.lines.get(product=a)

    shipment = shipment_create(
        order=order, quantities={line_a.pk: 2}, carrier="UPS", tracking_number="1Z999"
    )

    assert stock_of(a) == (1, 1)
    line_a.refresh_from_db()
    assert (line_a.quantity_allocated, line_a.quantity_shipped) == (1, 2)
    assert status_of(order) == Order.Status.PARTIALLY_SHIPPED
    movement = StockMovement.objects.get(product=a, kind="shipment")
    assert (movement.quantity, movement.reference) == (-2, order.number)
    assert shipment.lines.get().quantity == 2
    assert "tracking 1Z999" in order.events.get(kind=OrderEvent.Kind.SHIPPED).message


def test_ship_complete_waits_for_everything_unless_overridden():
    a = ProductFactory(on_hand=1)
    b = ProductFactory(on_hand=0)
    order = place_order((a, 1), (b, 1), ship_preference=Order.ShipPreference.SHIP_COMPLETE)

    with pytest.raises(ValidationError, match="ships complete and 1 unit would stay behind"):
        shipment_create(order=order)
    assert Shipment.objects.count() == 0

    shipment_create(order=order, override_reason="Customer asked for the part now")
    assert status_of(order) == Order.Status.PARTIALLY_SHIPPED

    receive(product=b, quantity=1)
    shipment_create(order=order)
    assert status_of(order) == Order.Status.SHIPPED
    assert invariant_violations() == []


def test_cannot_ship_more_than_allocated_or_a_foreign_line():
    a = ProductFactory(on_hand=1)
    order = place_order((a, 2))
    other = place_order((ProductFactory(on_hand=1), 1))
    line = order.lines.get()
    with pytest.raises(ValidationError) as excinfo:
        shipment_create(order=order, quantities={line.pk: 2, other.lines.get().pk: 1})
    assert excinfo.value.messages == [
        f"{a.sku}: only 1 allocated, cannot ship 2.",
        f"Line {other.lines.get().pk} is not on order {order.number}.",
    ]
    assert stock_of(a) == (1, 1)


# --- adjustments -------------------------------------------------------------------------


def test_downward_adjustment_takes_back_from_most_recently_allocated_lines():
    tent = ProductFactory(on_hand=0)
    first = place_order((tent, 2), customer=CustomerFactory(email="first@example.com"))
    second = place_order((tent, 2), customer=CustomerFactory(email="second@example.com"))
    receive(product=tent, quantity=2)  # all to first
    receive(product=tent, quantity=2)  # all to second, allocated later

    result = stock_adjust(product=tent, quantity=-3, reason="Water damage")

    assert result.taken_back == [
        (second.number, second.lines.get().pk, 2),
        (first.number, first.lines.get().pk, 1),
    ]
    assert lines_of(tent) == [("first@example.com", 1, 1), ("second@example.com", 0, 2)]
    assert stock_of(tent) == (1, 1)
    assert result.movement.quantity == -3
    assert first.events.filter(kind=OrderEvent.Kind.DEALLOCATED).count() == 1
    assert invariant_violations() == []


def test_upward_adjustment_allocates_to_the_queue():
    tent = ProductFactory(on_hand=0)
    place_order((tent, 1))
    result = stock_adjust(product=tent, quantity=1, reason="Found in returns cage")
    assert result.allocation is not None
    assert result.allocation.units == 1


@pytest.mark.parametrize(
    ("quantity", "reason", "message"),
    [
        (-5, "Count", "has only 2 on hand; it cannot go down by 5."),
        (0, "Count", "must be a whole number other than zero."),
        (1, " ", "A stock adjustment needs a reason."),
    ],
)
def test_bad_adjustments_are_refused_and_change_nothing(quantity, reason, message):
    tent = ProductFactory(on_hand=2)
    with pytest.raises(ValidationError, match=message):
        stock_adjust(product=tent, quantity=quantity, reason=reason)
    assert stock_of(tent) == (2, 0)
    assert StockMovement.objects.filter(product=tent).count() == 1


def test_receiving_a_bad_quantity_is_refused():
    tent = ProductFactory(on_hand=0)
    with pytest.raises(ValidationError, match="whole number above zero"):
        stock_receive(product=tent, quantity=-1)


def test_order_detail_loads_everything_in_a_fixed_number_of_queries(django_assert_num_queries):
    a = ProductFactory(on_hand=5)
    order = place_order(*[(ProductFactory(on_hand=1), 2) for _ in range(5)], (a, 1))
    shipment_create(order=order, quantities={order.lines.get(product=a).pk: 1})
    with django_assert_num_queries(8):
        detail = order_detail(order_id=order.pk)
        assert len(detail.lines.all()) == 6
        assert detail.status == Order.Status.PARTIALLY_SHIPPED
        assert [e.kind for e in detail.events.all()] == ["placed", "shipped"]
        assert [s.lines.all()[0].order_line.product.sku for s in detail.shipments.all()] == [a.sku]
        assert list(detail.refunds.all()) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"sku": "A", "qty": 1}, "Line 1: give a sku, a quantity and optionally a unit_price."),
        ("A", "Line 1: give a sku, a quantity and optionally a unit_price."),
        ({"sku": "A", "quantity": 1, "unit_price": "abc"}, "unit price must be an amount"),
        ({"sku": "A", "quantity": 1, "unit_price": "-1"}, "unit price cannot be negative"),
        ({"sku": "A", "quantity": "2"}, "quantity must be a whole number"),
        ({"sku": None, "quantity": 1}, "Line 1: a SKU is required."),
    ],
)
def test_malformed_lines_are_named_not_a_traceback(line, message):
    ProductFactory(sku="A", on_hand=5)
    with pytest.raises(ValidationError, match=message):
        order_place(customer_email="x@example.com", lines=[line])
    assert Order.objects.count() == 0


def test_a_unit_price_given_as_text_is_kept_to_the_cent():
    ProductFactory(sku="A", on_hand=5)
    order = order_place(
        customer_email="x@example.com", lines=[{"sku": "A", "quantity": 2, "unit_price": "9.5"}]
    )
    assert order.lines.get().unit_price == Decimal("9.50")
    assert order.amount_paid == Decimal("19.00")


@pytest.mark.parametrize(
    ("quantity", "unit_price", "shipping", "why"),
    [
        (3_000_000, None, "0", "at most 1,000,000 units on one line"),
        (1, "2000000", "0", "unit price can be at most 1,000,000"),
        (1, None, "2000000", "The shipping charge must be from 0 to 1,000,000"),
    ],
)
def test_an_order_beyond_any_plausible_size_is_refused_with_a_message(
    quantity, unit_price, shipping, why
):
    lamp = ProductFactory(sku="LAMP-1", on_hand=5)
    with pytest.raises(ValidationError) as refused:
        order_place(
            customer_email="ada@example.com",
            customer_name="Ada",
            lines=[LineRequest(sku="LAMP-1", quantity=quantity, unit_price=unit_price)],
            shipping_charge=Decimal(shipping),
        )
    assert why in " ".join(refused.value.messages)
    assert Order.objects.count() == 0
    assert Stock.objects.get(pk=lamp.pk).allocated == 0

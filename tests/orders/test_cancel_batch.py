"""Cancelling lines of many orders at once: one event, one refund and one email per order,
each product's queue refreshed once, the same result as cancelling the orders one by one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from inventory.models import Stock
from notifications.models import Notification
from orders.models import Order, OrderEvent, OrderLine, Refund
from orders.selectors import invariant_violations
from orders.services import Cancellation, cancellations_settle, lines_cancel_batch, order_cancel
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = pytest.mark.django_db


def order_of(*items: tuple[object, int]) -> Order:
    return place_order(*items, customer=CustomerFactory(), shipping_charge=Decimal("5.00"))


def whole(order: Order) -> Cancellation:
    return Cancellation(
        order_id=order.pk,
        quantities={line.pk: line.quantity_open for line in order.lines.all()},
        reason="The supplier stopped delivering",
        cause="shop",
    )


def shop() -> tuple[list[Order], Order]:
    """A phone (1 on hand) and a case (none): three orders to cancel, one that keeps waiting."""
    phone = ProductFactory(sku="PHONE", name="Phone", unit_price=Decimal("100.00"), on_hand=1)
    case = ProductFactory(sku="CASE", name="Case", unit_price=Decimal("10.00"), on_hand=0)
    doomed = [order_of((phone, 2), (case, 1)), order_of((case, 3)), order_of((phone, 1))]
    keeps = order_of((phone, 1), (case, 2))
    return doomed, keeps


def test_a_batch_writes_one_event_one_refund_and_one_email_per_order():
    doomed, keeps = shop()

    result = lines_cancel_batch(cancellations=[whole(order) for order in doomed])

    assert sorted(result.events) == sorted(o.pk for o in doomed)
    for order in doomed:
        [event] = OrderEvent.objects.filter(order=order, kind=OrderEvent.Kind.CANCELLED)
        assert event.data["cause"] == "shop"
        [refund] = Refund.objects.filter(order=order)
        assert refund.amount == order.amount_paid  # the order closed: everything paid back
        assert (
            Notification.objects.filter(order=order, kind=Notification.Kind.CANCELLATION).count()
            == 1
        )
    # The phone set aside for the first order goes to the order that keeps waiting.
    assert keeps.lines.get(product__sku="PHONE").quantity_allocated == 1
    assert Stock.objects.get(product__sku="PHONE").allocated == 1
    assert OrderEvent.objects.filter(order=keeps, kind=OrderEvent.Kind.ALLOCATED).count() == 1
    assert invariant_violations() == []


def test_a_batch_ends_as_cancelling_the_orders_one_by_one():
    def state() -> list[tuple[object, ...]]:
        return sorted(
            OrderLine.objects.values_list(
                "order__number", "product__sku", "quantity_allocated", "quantity_cancelled", "eta"
            )
        ) + sorted(Refund.objects.values_list("order__number", "amount", "due_date"))

    doomed, _ = shop()
    with transaction.atomic():
        for order in doomed:
            order_cancel(order=order, reason="The supplier stopped delivering", cause="shop")
        one_by_one = state()
        transaction.set_rollback(True)
    lines_cancel_batch(cancellations=[whole(order) for order in doomed])

    assert state() == one_by_one


def test_without_refresh_the_queue_moves_once_it_is_settled():
    doomed, _ = shop()

    next_in_line = doomed[2].lines.get()
    result = lines_cancel_batch(cancellations=[whole(doomed[0])], refresh=False)
    next_in_line.refresh_from_db()
    assert next_in_line.quantity_allocated == 0
    cancellations_settle(product_ids=result.product_ids)

    next_in_line.refresh_from_db()
    assert next_in_line.quantity_allocated == 1
    assert invariant_violations() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": " "}, "needs a reason"),
        ({"cause": "weather"}, "Unknown cancellation cause"),
        ({"quantities": {}}, "at least one line"),
        ({"quantities": "zero"}, "above zero"),
        ({"quantities": "too many"}, "can still be cancelled"),
        ({"quantities": "foreign"}, "no such line"),
    ],
)
def test_bad_cancellations_are_refused_and_change_nothing(change, message):
    doomed, keeps = shop()
    good = whole(doomed[1])
    line = doomed[0].lines.first()
    assert line is not None
    quantities = {
        "zero": {line.pk: 0},
        "too many": {line.pk: 3},
        "foreign": {keeps.lines.first().pk: 1},  # type: ignore[union-attr]
    }
    fields = {**good.__dict__, "order_id": doomed[0].pk, **change}
    if isinstance(fields["quantities"], str):
        fields["quantities"] = quantities[fields["quantities"]]

    with pytest.raises(ValidationError, match=message):
        lines_cancel_batch(cancellations=[good, Cancellation(**fields)])

    assert not Refund.objects.exists()
    assert not OrderEvent.objects.filter(kind=OrderEvent.Kind.CANCELLED).exists()
    assert sum(OrderLine.objects.values_list("quantity_cancelled", flat=True)) == 0


def test_an_order_appears_once_in_a_batch():
    doomed, _ = shop()
    with pytest.raises(ValidationError, match="only once"):
        lines_cancel_batch(cancellations=[whole(doomed[0]), whole(doomed[0])])

"""Stateful property test: the order and stock services against a plain-Python FIFO model.

Hypothesis places, receives, adjusts, prioritises, cancels and ships at random over three
products (one sold on backorder, one never sold below zero, one with a backorder cap). After
every step the database must satisfy PRODUCT.md's invariants and agree, line by line, with
`fifo_model.FifoModel`. Runs on SQLite and on PostgreSQL.

Each service call runs as if it committed: its on-commit callbacks (the allocation task a
receipt enqueues) run right after it, as they would in production.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import TestCase
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inventory.models import Product, Stock
from orders.models import Order, OrderLine
from orders.selectors import invariant_violations, product_queue
from orders.services import (
    LineRequest,
    line_cancel,
    line_prioritise,
    order_cancel,
    order_place,
    order_prioritise,
    shipment_create,
    stock_adjust,
    stock_receive,
)
from tests.factories import ProductFactory
from tests.orders.fifo_model import FifoModel, ModelProduct, Rejected

# (sku, backorder policy, backorder cap)
PRODUCTS = (("FIFO-ALLOW", "allow", None), ("FIFO-DENY", "deny", None), ("FIFO-CAP", "allow", 4))
CUSTOMERS = ("ada@example.com", "bo@example.com", "cy@example.com")

# Most orders are for the product sold on backorder: that is where queues grow.
product_index = st.sampled_from([0, 0, 1, 2])
order_items = st.lists(
    st.tuples(product_index, st.integers(1, 4)), min_size=1, max_size=3, unique_by=lambda t: t[0]
)


class BackorderDesk(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.model = FifoModel()
        self.products: list[Product] = []
        self.order_ids: list[int] = []
        self.line_ids: list[int] = []  # the database id of each model line, by model index
        # Orders are placed a millisecond apart from here, so the queue order is known in
        # advance (and recent enough not to count as back-dated).
        self.epoch = timezone.now() - dt.timedelta(minutes=1)
        # Each example runs in a savepoint that teardown rolls back: a clean slate, quickly.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _commit(self, service_call: Any) -> Any:
        """Call a service, then run what it scheduled for after commit."""
        with TestCase.captureOnCommitCallbacks(execute=True):
            return service_call()

    def _expect(self, model_step: Any, service_call: Any) -> Any:
        """Run the model step; the service must refuse exactly when the model does."""
        try:
            model_step()
        except Rejected:
            with pytest.raises(ValidationError):
                self._commit(service_call)
            return None
        return self._commit(service_call)

    # --- rules -----------------------------------------------------------------------

    @initialize(on_hand=st.tuples(*(st.integers(0, 6) for _ in PRODUCTS)))
    def create_products(self, on_hand: tuple[int, ...]) -> None:
        for (sku, policy, cap), units in zip(PRODUCTS, on_hand, strict=True):
            self.products.append(
                ProductFactory(sku=sku, backorder_policy=policy, backorder_cap=cap, on_hand=units)
            )
            self.model.products.append(ModelProduct(sku=sku, policy=policy, cap=cap, on_hand=units))

    def _place(
        self, items: list[tuple[int, int]], customer: str, priority: bool, ship_complete: bool
    ) -> None:
        queued_at = len(self.order_ids) + 1

        def call() -> Order:
            return order_place(
                customer_email=customer,
                lines=[LineRequest(sku=PRODUCTS[i][0], quantity=q) for i, q in items],
                placed_at=self.epoch + dt.timedelta(milliseconds=queued_at),
                is_priority=priority,
                ship_preference=(
                    Order.ShipPreference.SHIP_COMPLETE
                    if ship_complete
                    else Order.ShipPreference.SHIP_AVAILABLE
                ),
            )

        try:
            self.model.place_takes(items, priority=int(priority))
        except Rejected:
            orders_before = Order.objects.count()
            with pytest.raises(ValidationError):
                self._commit(call)
            assert Order.objects.count() == orders_before
            return
        order = self._commit(call)
        line_by_product = dict(order.lines.values_list("product_id", "id"))
        line_ids = [line_by_product[self.products[i].pk] for i, _ in items]
        self.model.place(
            items,
            line_ids=line_ids,
            queued_at=queued_at,
            priority=int(priority),
            ship_complete=ship_complete,
        )
        self.order_ids.append(order.pk)
        self.line_ids.extend(line_ids)

    # Two rules place orders, so that orders come as often as everything done to them.
    @rule(
        item=st.tuples(product_index, st.integers(1, 4)),
        customer=st.sampled_from(CUSTOMERS),
        priority=st.integers(0, 2).map(lambda n: n == 0),
    )
    def place_one_line(self, item: tuple[int, int], customer: str, priority: bool) -> None:
        self._place([item], customer, priority, ship_complete=False)

    @rule(
        items=order_items,
        customer=st.sampled_from(CUSTOMERS),
        priority=st.integers(0, 2).map(lambda n: n == 0),
        ship_complete=st.booleans(),
    )
    def place_several_lines(
        self, items: list[tuple[int, int]], customer: str, priority: bool, ship_complete: bool
    ) -> None:
        self._place(items, customer, priority, ship_complete)

    @rule(data=st.data(), product=product_index, receipt=st.booleans())
    def change_stock(self, data: st.DataObject, product: int, receipt: bool) -> None:
        if receipt:
            # Small receipts, so that a queue is often served only in part.
            quantity = data.draw(st.integers(1, 3), label="received")
            self._expect(
                lambda: self.model.receive(product, quantity),
                lambda: stock_receive(product=self.products[product], quantity=quantity),
            )
            return
        # Zero, and one more down than is on hand, are refused and must change nothing.
        on_hand = self.model.products[product].on_hand
        quantity = data.draw(st.integers(-on_hand - 1, 3), label="adjusted by")
        self._expect(
            lambda: self.model.adjust(product, quantity),
            lambda: stock_adjust(
                product=self.products[product], quantity=quantity, reason="Cycle count"
            ),
        )

    @precondition(lambda self: self.line_ids)
    @rule(data=st.data(), whole_order=st.integers(0, 3).map(lambda n: n == 0))
    def prioritise(self, data: st.DataObject, whole_order: bool) -> None:
        waiting = [i for i, line in enumerate(self.model.lines) if line.backordered]
        index = data.draw(st.sampled_from(waiting or range(len(self.line_ids))), label="line")
        if whole_order:
            order = self.model.lines[index].order
            self._expect(
                lambda: self.model.prioritise(self.model.orders[order].lines),
                lambda: order_prioritise(
                    order=Order.objects.get(pk=self.order_ids[order]), reason="VIP customer"
                ),
            )
            return
        self._expect(
            lambda: self.model.prioritise([index]),
            lambda: line_prioritise(
                line=OrderLine.objects.get(pk=self.line_ids[index]), reason="VIP customer"
            ),
        )

    @precondition(lambda self: self.line_ids)
    @rule(data=st.data(), how=st.sampled_from(["part", "line", "order"]))
    def cancel(self, data: st.DataObject, how: str) -> None:
        still_open = [i for i, line in enumerate(self.model.lines) if line.open]
        index = data.draw(st.sampled_from(still_open or range(len(self.line_ids))), label="line")
        if how == "order":
            order = self.model.lines[index].order
            self._expect(
                lambda: self.model.cancel_order(order),
                lambda: order_cancel(
                    order=Order.objects.get(pk=self.order_ids[order]), reason="Customer cancelled"
                ),
            )
            return
        quantity = None
        if how == "part":
            # Now and then one more than is open: that must be refused.
            quantity = data.draw(st.integers(1, self.model.lines[index].open + 1), label="units")
        self._expect(
            lambda: self.model.cancel({index: quantity}),
            lambda: line_cancel(
                line=OrderLine.objects.get(pk=self.line_ids[index]),
                quantity=quantity,
                reason="Customer changed their mind",
            ),
        )

    @precondition(lambda self: self.order_ids)
    @rule(data=st.data(), everything=st.booleans(), override=st.booleans())
    def ship(self, data: st.DataObject, everything: bool, override: bool) -> None:
        holding_orders = [
            i
            for i, order in enumerate(self.model.orders)
            if any(self.model.lines[line].allocated for line in order.lines)
        ]
        index = data.draw(
            st.sampled_from(holding_orders or range(len(self.order_ids))), label="order"
        )
        quantities: dict[int, int] | None = None
        if not everything:
            holding = [i for i in self.model.orders[index].lines if self.model.lines[i].allocated]
            if holding:
                chosen = data.draw(
                    st.lists(st.sampled_from(holding), min_size=1, unique=True), label="lines"
                )
                # One more than allocated now and then: that must be refused.
                quantities = {
                    i: data.draw(st.integers(1, self.model.lines[i].allocated + 1), label="units")
                    for i in chosen
                }
        self._expect(
            lambda: self.model.ship(index, quantities, override=override),
            lambda: shipment_create(
                order=Order.objects.get(pk=self.order_ids[index]),
                quantities=(
                    None
                    if quantities is None
                    else {self.line_ids[i]: units for i, units in quantities.items()}
                ),
                override_reason="Customer asked for what is here" if override else "",
            ),
        )

    # --- after every step ------------------------------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        assert invariant_violations() == []
        stocks = {s.pk: (s.on_hand, s.allocated) for s in Stock.objects.all()}
        for index, product in enumerate(self.products):
            expected = (self.model.products[index].on_hand, self.model.allocated(index))
            assert stocks[product.pk] == expected, product.sku
            if self.model.available(index) > 0:
                # No line waits while stock of its product is free.
                assert not product_queue(product_id=product.pk).exists(), product.sku
        in_db = {
            line_id: (allocated, shipped, cancelled, priority)
            for line_id, allocated, shipped, cancelled, priority in OrderLine.objects.values_list(
                "id", "quantity_allocated", "quantity_shipped", "quantity_cancelled", "priority"
            )
        }
        in_model = {
            line.id: (line.allocated, line.shipped, line.cancelled, line.priority)
            for line in self.model.lines
        }
        assert in_db == in_model


@pytest.mark.django_db
def test_services_follow_the_fifo_model_step_by_step() -> None:
    run_state_machine_as_test(
        BackorderDesk,
        settings=settings(
            max_examples=60,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )

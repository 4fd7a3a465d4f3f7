"""A plain-Python first-come-first-served model of stock and order lines.

No Django here: it states what the services must do, independently of how they do it, so
the state machine in test_state_machine.py can compare the database with it after each step.

Every method checks everything first and raises `Rejected` before it changes anything, just
as a service raises ValidationError and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class Rejected(Exception):
    """The real service is expected to raise ValidationError and change nothing."""


@dataclass
class ModelProduct:
    sku: str
    policy: str  # "allow" or "deny"
    cap: int | None = None
    on_hand: int = 0


@dataclass
class ModelLine:
    id: int  # the database id: the queue's last tie-break
    order: int  # index into FifoModel.orders
    product: int  # index into FifoModel.products
    ordered: int
    queued_at: int  # placement time, strictly increasing across orders
    priority: int = 0
    allocated: int = 0
    shipped: int = 0
    cancelled: int = 0
    # The service call (a logical clock) that last gave this line units; None if never.
    last_allocated: int | None = None

    @property
    def open(self) -> int:
        return self.ordered - self.shipped - self.cancelled

    @property
    def backordered(self) -> int:
        return self.ordered - self.allocated - self.shipped - self.cancelled


@dataclass
class ModelOrder:
    ship_complete: bool
    lines: list[int] = field(default_factory=list)  # indexes into FifoModel.lines


@dataclass
class FifoModel:
    products: list[ModelProduct] = field(default_factory=list)
    lines: list[ModelLine] = field(default_factory=list)
    orders: list[ModelOrder] = field(default_factory=list)
    clock: int = 0  # one tick per service call, like the services' single timezone.now()

    # --- reading ---------------------------------------------------------------------

    def allocated(self, product: int) -> int:
        return sum(line.allocated for line in self.lines if line.product == product)

    def available(self, product: int) -> int:
        return self.products[product].on_hand - self.allocated(product)

    def queue(self, product: int) -> list[ModelLine]:
        """Waiting lines of a product in allocation order: priority, then age, then id."""
        waiting = [ln for ln in self.lines if ln.product == product and ln.backordered > 0]
        return sorted(waiting, key=lambda ln: (-ln.priority, ln.queued_at, ln.id))

    def waiting_units(self, product: int, *, min_priority: int = 0) -> int:
        return sum(ln.backordered for ln in self.queue(product) if ln.priority >= min_priority)

    # --- the rules -------------------------------------------------------------------

    def _tick(self) -> int:
        self.clock += 1
        return self.clock

    def _allocate(self, product: int, now: int) -> None:
        """Hand every available unit to the queue, head first."""
        available = self.available(product)
        for line in self.queue(product):
            if available <= 0:
                break
            units = min(available, line.backordered)
            line.allocated += units
            line.last_allocated = now
            available -= units

    def place_takes(self, items: Sequence[tuple[int, int]], *, priority: int) -> list[int]:
        """What each new line would take now; Rejected if the order must be refused."""
        takes = []
        for product_index, quantity in items:
            product = self.products[product_index]
            available = self.available(product_index)
            ahead = self.waiting_units(product_index, min_priority=priority)
            take = max(0, min(quantity, available - ahead))
            shortfall = quantity - take
            if shortfall:
                if product.policy == "deny":
                    raise Rejected(f"{product.sku}: only {take} available, no backorders")
                if product.cap is not None:
                    backordered_after = self.waiting_units(product_index) + shortfall
                    if backordered_after > product.cap:
                        raise Rejected(f"{product.sku}: backorder cap {product.cap} exceeded")
            takes.append(take)
        return takes

    def place(
        self,
        items: Sequence[tuple[int, int]],
        *,
        line_ids: Sequence[int],
        queued_at: int,
        priority: int,
        ship_complete: bool,
    ) -> None:
        """Record an order the service accepted (call place_takes first)."""
        takes = self.place_takes(items, priority=priority)
        now = self._tick()
        order = ModelOrder(ship_complete=ship_complete)
        self.orders.append(order)
        for (product_index, quantity), take, line_id in zip(items, takes, line_ids, strict=True):
            order.lines.append(len(self.lines))
            self.lines.append(
                ModelLine(
                    id=line_id,
                    order=len(self.orders) - 1,
                    product=product_index,
                    ordered=quantity,
                    queued_at=queued_at,
                    priority=priority,
                    allocated=take,
                    last_allocated=now if take else None,
                )
            )
        for product_index, _ in items:
            self._allocate(product_index, now)

    def receive(self, product: int, quantity: int) -> None:
        if quantity <= 0:
            raise Rejected("a receipt needs a positive quantity")
        now = self._tick()
        self.products[product].on_hand += quantity
        self._allocate(product, now)

    def takeback_order(self, product: int) -> list[ModelLine]:
        """Allocated lines, most recently allocated first; ties: reverse queue order."""
        holding = [ln for ln in self.lines if ln.product == product and ln.allocated > 0]
        return sorted(
            holding,
            key=lambda ln: (-(ln.last_allocated or 0), ln.priority, -ln.queued_at, -ln.id),
        )

    def adjust(self, product: int, delta: int) -> None:
        stock = self.products[product]
        if delta == 0:
            raise Rejected("an adjustment needs a quantity other than zero")
        if stock.on_hand + delta < 0:
            raise Rejected("on hand cannot go below zero")
        now = self._tick()
        shortfall = self.allocated(product) - (stock.on_hand + delta)
        for line in self.takeback_order(product):
            if shortfall <= 0:
                break
            take = min(line.allocated, shortfall)
            line.allocated -= take
            shortfall -= take
        stock.on_hand += delta
        self._allocate(product, now)

    def prioritise(self, lines: Sequence[int]) -> None:
        targets = [self.lines[i] for i in lines if self.lines[i].open > 0]
        if not targets:
            raise Rejected("nothing left to prioritise")
        now = self._tick()
        for line in targets:
            line.priority = 1
        for product in sorted({line.product for line in targets}):
            self._allocate(product, now)

    def cancel(self, quantities: Mapping[int, int | None]) -> None:
        """Cancel units of lines (None: everything open): backordered units first."""
        resolved: dict[int, int] = {}
        for index, units in quantities.items():
            line = self.lines[index]
            units = line.open if units is None else units
            if units <= 0:
                raise Rejected("nothing to cancel")
            if units > line.open:
                raise Rejected("more than is open")
            resolved[index] = units
        now = self._tick()
        for index, units in resolved.items():
            line = self.lines[index]
            from_allocated = max(0, units - line.backordered)
            line.cancelled += units
            line.allocated -= from_allocated
        for product in sorted({self.lines[i].product for i in resolved}):
            self._allocate(product, now)

    def cancel_order(self, order: int) -> None:
        open_lines = {i: None for i in self.orders[order].lines if self.lines[i].open > 0}
        if not open_lines:
            raise Rejected("nothing left to cancel on the order")
        self.cancel(open_lines)

    def ship(self, order: int, quantities: Mapping[int, int] | None, *, override: bool) -> None:
        """Ship allocated units: all of them (None) or units by line index."""
        lines = [self.lines[i] for i in self.orders[order].lines]
        if quantities is None:
            quantities = {i: self.lines[i].allocated for i in self.orders[order].lines}
            quantities = {i: u for i, u in quantities.items() if u}
            if not quantities:
                raise Rejected("no allocated units to ship")
        for index, units in quantities.items():
            if index not in self.orders[order].lines:
                raise Rejected("line is not on the order")
            if units <= 0 or units > self.lines[index].allocated:
                raise Rejected("cannot ship more than is allocated")
        waiting = sum(line.backordered for line in lines)
        left_behind = sum(line.allocated for line in lines) - sum(quantities.values())
        if self.orders[order].ship_complete and not override and (waiting or left_behind):
            raise Rejected("ships complete")
        self._tick()
        for index, units in quantities.items():
            line = self.lines[index]
            line.allocated -= units
            line.shipped += units
            self.products[line.product].on_hand -= units

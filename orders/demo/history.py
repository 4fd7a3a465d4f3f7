"""The suppliers' record before the story: four months of purchase orders delivered the way each
supplier delivers, so its scorecard and its customers' ETA ranges have something to go on. The
units they brought are part of the stock the story opens with."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict

from inventory.services import PurchaseLineRequest

from ..services import (
    purchase_order_create,
    purchase_order_line_receive,
    purchase_order_line_reschedule,
)
from .base import DemoBase, next_weekday, simulated_clock
from .catalog import CATALOG, DELAY_REASONS, SEED, SUPPLIERS, DemoProduct

CYCLES = 4  # purchase orders per supplier before the story starts
FIRST_CYCLE = 118  # days before the story: inside the scorecard's 180-day window
CYCLE_DAYS = 24
PRODUCTS_PER_SUPPLIER = 3


def history_products() -> dict[str, list[DemoProduct]]:
    """Per supplier, the products bought in the months before: its best stocked ones."""
    chosen: dict[str, list[DemoProduct]] = defaultdict(list)
    for spec in sorted(CATALOG, key=lambda spec: (-spec.on_hand, spec.sku)):
        if (
            spec.supplier
            and not spec.preorder
            and spec.on_hand >= CYCLES
            and len(chosen[spec.supplier]) < PRODUCTS_PER_SUPPLIER
        ):
            chosen[spec.supplier].append(spec)
    return chosen


def history_units() -> Counter[str]:
    """Units of each product the earlier purchase orders brought (taken off opening stock)."""
    return Counter(
        {
            spec.sku: CYCLES * max(1, spec.on_hand // 10)
            for specs in history_products().values()
            for spec in specs
        }
    )


class DemoHistory(DemoBase):
    def supplier_history(self) -> None:
        rng = random.Random(SEED + 1)  # noqa: S311 - its own stream: the story's stays as it was
        products = history_products()
        for index, supplier_spec in enumerate(SUPPLIERS):
            supplier = self.suppliers[supplier_spec.key]
            specs = products.get(supplier_spec.key, [])
            if not specs:
                continue
            for cycle in range(CYCLES):
                sent = next_weekday(
                    self.start - dt.timedelta(days=FIRST_CYCLE - cycle * CYCLE_DAYS - index)
                )
                expected = next_weekday(sent + dt.timedelta(days=supplier_spec.lead))
                with simulated_clock(self.at(sent, 10)):
                    po = purchase_order_create(
                        supplier=supplier,
                        lines=[
                            PurchaseLineRequest(
                                self.products[spec.sku], max(1, spec.on_hand // 10), expected
                            )
                            for spec in specs
                        ],
                        send=True,
                    )
                self.summary.purchase_orders += 1
                self.summary.multi_line_purchase_orders += len(specs) > 1
                late, early = supplier_spec.late, supplier_spec.late + supplier_spec.early
                unannounced = early + supplier_spec.unannounced
                for line in po.lines.order_by("id"):
                    roll = rng.random()
                    arrives = expected
                    if roll < late:
                        arrives = next_weekday(expected + dt.timedelta(days=rng.randint(3, 10)))
                        with simulated_clock(self.at(expected - dt.timedelta(days=2), 9)):
                            purchase_order_line_reschedule(
                                line=line,
                                expected_date=arrives,
                                reason=DELAY_REASONS[rng.randrange(len(DELAY_REASONS))],
                            )
                    elif roll < early:
                        arrives = expected - dt.timedelta(days=rng.randint(1, 2))
                        while arrives.weekday() >= 5:
                            arrives -= dt.timedelta(days=1)
                    elif roll < unannounced:
                        arrives = next_weekday(expected + dt.timedelta(days=rng.randint(1, 4)))
                    with simulated_clock(self.at(arrives, 11)):
                        purchase_order_line_receive(line=line, quantity=line.quantity_ordered)
                    self.summary.receipts += 1

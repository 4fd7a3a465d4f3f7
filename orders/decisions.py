"""The one rule for accepting a new order line. Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass

from config.formats import count_noun
from inventory.models import Product


@dataclass(frozen=True)
class LineDecision:
    """How a new line of `quantity` would be served, or why it cannot be."""

    take: int
    backordered: int
    refusal: str = ""


def units_on_the_way(limit: int) -> str:
    if limit == 0:
        return "units on the way, and none are on order"
    return f"the {count_noun(limit, 'unit')} on the way"


def units_taken(*, quantity: int, available: int, waiting_ahead: int) -> int:
    """Units a new line takes from stock now: what is left once the lines ahead of it are served.

    A line that takes fewer than its quantity is short: only then does its decision need the
    product's incoming supply (for a cap and for the ETA).
    """
    return max(0, min(quantity, available - waiting_ahead))


def line_decision(
    *,
    product: Product,
    quantity: int,
    available: int,
    waiting_ahead: int,
    waiting_total: int,
    incoming: int,
) -> LineDecision:
    """The one rule for accepting a line: used by order_place and by the quote."""
    take = units_taken(quantity=quantity, available=available, waiting_ahead=waiting_ahead)
    short = quantity - take
    if not short:
        return LineDecision(take, 0)
    if product.is_discontinued:
        left = f"only {take} left to sell" if take else "none left to sell"
        return LineDecision(take, short, f"discontinued; {left}.")
    if not product.accepts_backorders:
        return LineDecision(
            take,
            short,
            f"{f'only {take}' if take else 'none'} available and this product is not sold on "
            "backorder.",
        )
    caps = []
    if product.backorder_cap is not None:
        caps.append(
            (
                product.backorder_cap,
                f"backorders are capped at {count_noun(product.backorder_cap, 'unit')}"
                if product.backorder_cap
                else "this product takes no backorders",
            )
        )
    if product.backorder_limit_from_incoming:
        limit = incoming + product.backorder_margin
        caps.append((limit, f"backorders are limited to {units_on_the_way(limit)}"))
    for cap, why in caps:
        backordered_before = max(0, waiting_total - available)
        if max(0, waiting_total + quantity - available) > cap:
            room = max(0, cap - backordered_before)
            can = take + room
            what = f"only {can}" if can else "none"
            return LineDecision(take, short, f"{what} can be ordered now ({why}).")
    return LineDecision(take, short)

"""How a date or an amount reads on every page and email: "12 Mar 2027", "$1,234.50"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal


def shown(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def shown_money(amount: Decimal | str) -> str:
    return f"${Decimal(amount):,.2f}"

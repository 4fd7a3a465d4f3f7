"""CSV cells that a spreadsheet cannot run: the one helper every CSV export writes through."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from config.calendar import store_zone

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets
# (tab and CR too: some strip them and read on). OWASP's "CSV injection" list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain number such as -3.00 or +12 is a value, not a formula: it is left as it is, so money
# and quantities stay numbers in the spreadsheet.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def csv_cell(value: Any) -> str:
    """The text of one cell: '' for None, ISO dates, moments in ISO with the store's offset
    (the zone every screen shows), and a leading ' before a would-be formula."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(store_zone()).isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_row(values: Iterable[Any]) -> list[str]:
    return [csv_cell(value) for value in values]

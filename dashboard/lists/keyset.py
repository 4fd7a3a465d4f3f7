"""A sorted list paged by keyset: whitelisted sort columns, a pk tiebreak, cursors in the query
string and a bounded count, so the deepest page costs what the first costs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict

from ..params import MAX_ID

# Counting stops here: past it a list says "10,000+" instead of scanning every row to count.
COUNT_LIMIT = 10_000
_CURSOR_SEPARATOR = "~"


@dataclass(frozen=True)
class Sort:
    """A column the list may be sorted by: `key` in the query string (?sort=key, ?sort=-key
    for descending), the ORM expression it orders on (never NULL) and how to read a cursor's
    value back."""

    key: str
    label: str
    field: str
    parse: Callable[[str], Any] = str
    descending_first: bool = False


@dataclass(frozen=True)
class SortLink:
    label: str
    key: str
    href: str
    direction: str  # "ascending", "descending" or "" (aria-sort)


@dataclass(frozen=True)
class KeysetPage:
    """One page of a sorted list, fetched by keyset: WHERE (sort column, pk) is past the
    previous page's last row, so page 1,500 costs what page 1 costs."""

    rows: list[Any]
    count: int
    count_is_bounded: bool
    first_href: str
    previous_href: str
    next_href: str
    last_href: str
    sort: Sort
    descending: bool
    sort_links: list[SortLink]
    query: str

    @property
    def count_label(self) -> str:
        return f"{self.count:,}+" if self.count_is_bounded else f"{self.count:,}"

    @property
    def has_other_pages(self) -> bool:
        return bool(self.previous_href or self.next_href)


def parse_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def parse_datetime(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("A cursor's time must carry its offset.")
    return parsed


def _cursor(value: Any, pk: int) -> str:
    text = value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(value)
    return f"{text}{_CURSOR_SEPARATOR}{pk}"


def _read_cursor(raw: str, sort: Sort) -> tuple[Any, int] | None:
    """(value, pk) from a cursor in the query string; None when it is not one of ours."""
    text, separator, pk_text = raw.rpartition(_CURSOR_SEPARATOR)
    if not separator or not pk_text.isascii() or not pk_text.isdigit():
        return None
    pk = int(pk_text)
    if not 0 < pk <= MAX_ID:
        return None
    try:
        return sort.parse(text), pk
    except (ValueError, TypeError, ArithmeticError):
        return None


def _past(sort: Sort, value: Any, pk: int, *, forward: bool) -> Q:
    """Rows after (value, pk) in the walking direction."""
    lookup = "gt" if forward else "lt"
    return Q(**{f"{sort.field}__{lookup}": value}) | Q(**{sort.field: value, f"pk__{lookup}": pk})


def _href(query: QueryDict, **changes: str) -> str:
    query = query.copy()
    for name in ("after", "before", "last", "page"):
        query.pop(name, None)
    for name, value in changes.items():
        query[name] = value
    return "?" + query.urlencode()


def _bounded_count(items: QuerySet[Any]) -> tuple[int, bool]:
    counted = items.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    return min(counted, COUNT_LIMIT), counted > COUNT_LIMIT


def keyset_page(
    request: HttpRequest,
    items: QuerySet[Any],
    *,
    sorts: Sequence[Sort],
    page_size: int,
) -> KeysetPage:
    """The page of `items` the query string asks for: ?sort=[-]key picks one of `sorts` (the
    first by default, an unknown key falls back to it), ?after=/?before= a cursor, ?last=1
    the last page. Ties are broken by pk in the same direction, so the order is stable."""
    by_key = {sort.key: sort for sort in sorts}
    wanted = request.GET.get("sort", "")
    sort = by_key.get(wanted.removeprefix("-"), sorts[0])
    known = wanted.removeprefix("-") in by_key
    descending = wanted.startswith("-") if known else sort.descending_first
    prefix = "-" if descending else ""
    forward_order = [f"{prefix}{sort.field}", f"{prefix}pk"]
    flipped = "" if descending else "-"
    backward_order = [f"{flipped}{sort.field}", f"{flipped}pk"]

    after = _read_cursor(request.GET.get("after", ""), sort)
    before = None if after else _read_cursor(request.GET.get("before", ""), sort)
    last = not after and not before and request.GET.get("last") == "1"
    # "Forward" means along the list's order: ascending values unless descending.
    if before or last:
        walk = items.order_by(*backward_order)
        if before:
            walk = walk.filter(_past(sort, *before, forward=descending))
        rows = list(walk[: page_size + 1])
        more_before = len(rows) > page_size
        rows = rows[:page_size][::-1]
        has_previous, has_next = more_before, bool(before)
    else:
        walk = items.order_by(*forward_order)
        if after:
            walk = walk.filter(_past(sort, *after, forward=not descending))
        rows = list(walk[: page_size + 1])
        has_next = len(rows) > page_size
        rows = rows[:page_size]
        has_previous = bool(after)

    query = request.GET.copy()
    count, bounded = _bounded_count(items)
    value_of = _value_getter(sort.field)
    current = ("-" if descending else "") + sort.key
    links = _sort_links(query, sorts, active=sort, descending=descending)
    base = query.copy()
    base["sort"] = current
    return KeysetPage(
        rows=rows,
        count=count,
        count_is_bounded=bounded,
        first_href=_href(base) if has_previous else "",
        previous_href=(
            _href(base, before=_cursor(value_of(rows[0]), rows[0].pk))
            if has_previous and rows
            else ""
        ),
        next_href=(
            _href(base, after=_cursor(value_of(rows[-1]), rows[-1].pk)) if has_next and rows else ""
        ),
        last_href=_href(base, last="1") if has_next else "",
        sort=sort,
        descending=descending,
        sort_links=links,
        query=_href(base)[1:],
    )


def _sort_links(
    query: QueryDict, sorts: Sequence[Sort], *, active: Sort, descending: bool
) -> list[SortLink]:
    """A header link per column: the active one flips its direction, the others start in
    theirs (numbers high first, where the Sort says so)."""
    links = []
    for option in sorts:
        if option is active:
            key = option.key if descending else "-" + option.key
            direction = "descending" if descending else "ascending"
        else:
            key = ("-" if option.descending_first else "") + option.key
            direction = ""
        links.append(SortLink(option.label, option.key, _href(query, sort=key), direction))
    return links


def _value_getter(field: str) -> Callable[[Any], Any]:
    """Read a sort field's value from a row, following relations ("customer__email")."""

    def value(row: Any) -> Any:
        for part in field.split("__"):
            row = getattr(row, part)
        return row

    return value

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
    value back. `expression`, when given, is annotated as `field` only while the list is
    sorted by it, so the other sorts never pay its joins. `then` adds columns ordered after it
    (before the pk tiebreak), as (field, parse); a field written "-field" runs against the
    list's direction (the queue: priority high first, then the oldest). Only `field`'s values
    may contain the cursor separator."""

    key: str
    label: str
    field: str
    parse: Callable[[str], Any] = str
    descending_first: bool = False
    then: tuple[tuple[str, Callable[[str], Any]], ...] = ()
    expression: Any = None

    @property
    def columns(self) -> list[tuple[str, Callable[[str], Any], bool]]:
        """(field, parse, runs against the list's direction) of each column, in order."""
        return [
            (name.removeprefix("-"), parse, name.startswith("-"))
            for name, parse in ((self.field, self.parse), *self.then)
        ]


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
    def links(self) -> dict[str, SortLink]:
        """The header links by sort key, for templates (page.links.number)."""
        return {link.key: link for link in self.sort_links}

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
    # In UTC, as the database compares it: a moment at the edge of the calendar whose offset
    # takes it past the edge (0001-01-01T00:00+14:00) overflows here, where it is refused.
    return parsed.astimezone(dt.UTC)


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(value)


def _cursor(values: Sequence[Any], pk: int) -> str:
    return _CURSOR_SEPARATOR.join([*(_text(value) for value in values), str(pk)])


def _read_cursor(raw: str, sort: Sort) -> tuple[list[Any], int] | None:
    """(values, pk) from a cursor in the query string; None when it is not one of ours."""
    columns = sort.columns
    parts = raw.rsplit(_CURSOR_SEPARATOR, len(columns))
    if len(parts) != len(columns) + 1:
        return None
    *texts, pk_text = parts
    if not pk_text.isascii() or not pk_text.isdigit():
        return None
    pk = int(pk_text)
    if not 0 < pk <= MAX_ID:
        return None
    try:
        return [parse(text) for (_, parse, _), text in zip(columns, texts, strict=True)], pk
    except (ValueError, TypeError, ArithmeticError):
        return None


def _past(sort: Sort, values: Sequence[Any], pk: int, *, forward: bool) -> Q:
    """Rows after (values, pk) in the walking direction: `forward` walks the first column up
    (unless it runs against the list), the pk up."""
    past = Q(**{f"pk__{'gt' if forward else 'lt'}": pk})
    for (name, _, against), value in reversed(list(zip(sort.columns, values, strict=True))):
        lookup = "gt" if forward != against else "lt"
        past = Q(**{f"{name}__{lookup}": value}) | (Q(**{name: value}) & past)
    return past


def _order(sort: Sort, *, descending: bool) -> list[str]:
    return [("-" if descending != against else "") + name for name, _, against in sort.columns] + [
        ("-" if descending else "") + "pk"
    ]


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
    detail: Callable[[list[Any]], list[Any]] | None = None,
) -> KeysetPage:
    """The page of `items` the query string asks for: ?sort=[-]key picks one of `sorts` (the
    first by default, an unknown key falls back to it), ?after=/?before= a cursor, ?last=1
    the last page. Ties are broken by pk in the same direction, so the order is stable.
    `detail` turns the page's rows (lean: what the cursors need) into the rows shown, in the
    same order: a list whose rows cost a join or a count each pays it for one page only."""
    by_key = {sort.key: sort for sort in sorts}
    wanted = request.GET.get("sort", "")
    sort = by_key.get(wanted.removeprefix("-"), sorts[0])
    known = wanted.removeprefix("-") in by_key
    descending = wanted.startswith("-") if known else sort.descending_first
    forward_order = _order(sort, descending=descending)
    backward_order = _order(sort, descending=not descending)
    sorted_items = items
    if sort.expression is not None:
        sorted_items = items.annotate(**{sort.columns[0][0]: sort.expression})

    after = _read_cursor(request.GET.get("after", ""), sort)
    before = None if after else _read_cursor(request.GET.get("before", ""), sort)
    last = not after and not before and request.GET.get("last") == "1"
    # "Forward" means along the list's order: ascending values unless descending.
    if before or last:
        walk = sorted_items.order_by(*backward_order)
        if before:
            walk = walk.filter(_past(sort, *before, forward=descending))
        rows = list(walk[: page_size + 1])
        more_before = len(rows) > page_size
        rows = rows[:page_size][::-1]
        has_previous, has_next = more_before, bool(before)
    else:
        walk = sorted_items.order_by(*forward_order)
        if after:
            walk = walk.filter(_past(sort, *after, forward=not descending))
        rows = list(walk[: page_size + 1])
        has_next = len(rows) > page_size
        rows = rows[:page_size]
        has_previous = bool(after)

    query = request.GET.copy()
    count, bounded = _bounded_count(items)
    getters = [_value_getter(name) for name, _, _ in sort.columns]

    def cursor(row: Any) -> str:
        return _cursor([value(row) for value in getters], row.pk)

    current = ("-" if descending else "") + sort.key
    links = _sort_links(query, sorts, active=sort, descending=descending)
    base = query.copy()
    base["sort"] = current
    return KeysetPage(
        rows=detail(rows) if detail is not None and rows else rows,
        count=count,
        count_is_bounded=bounded,
        first_href=_href(base) if has_previous else "",
        previous_href=(_href(base, before=cursor(rows[0])) if has_previous and rows else ""),
        next_href=(_href(base, after=cursor(rows[-1])) if has_next and rows else ""),
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

"""Page-number paging for long lists whose exact count would read every row: the count stops
at COUNT_LIMIT and the list says "10,000+"; the pages past it are not offered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet

from .lists.keyset import COUNT_LIMIT


class BoundedPaginator(Paginator):
    """A Paginator over a queryset whose count reads at most COUNT_LIMIT + 1 rows."""

    def __init__(self, object_list: QuerySet[Any], per_page: int) -> None:
        super().__init__(object_list, per_page)
        self.queryset = object_list

    @cached_property
    def count(self) -> int:
        return self.queryset.order_by().values("pk")[: COUNT_LIMIT + 1].count()

    @property
    def count_is_bounded(self) -> bool:
        return self.count > COUNT_LIMIT

    @property
    def count_label(self) -> str:
        return f"{COUNT_LIMIT:,}+" if self.count_is_bounded else f"{self.count:,}"


class _Chain:
    """Querysets read one after the other as one list: a slice of it is a lean queryset of
    the orders (rows) it covers, each part sliced in its own order (one query)."""

    def __init__(self, parts: Sequence[QuerySet[Any]], counts: Callable[[], list[int]]) -> None:
        self.parts = parts
        self.counts = counts

    def __getitem__(self, window: slice) -> QuerySet[Any]:
        start, stop = window.start or 0, window.stop
        covered = Q(pk__in=[])
        for part, count in zip(self.parts, self.counts(), strict=True):
            if start < count and stop > 0:
                covered |= Q(pk__in=part[max(start, 0) : min(stop, count)].values("pk"))
            start, stop = start - count, stop - count
        return self.parts[0].model.objects.filter(covered)


class ChainedPaginator(BoundedPaginator):
    """A BoundedPaginator over querysets listed one after the other (each ordered by an index
    of its own, so a page reads only the rows up to it, never sorts them all): a page's
    object_list is a lean, unordered queryset of its rows, to be ordered by the caller."""

    def __init__(self, parts: Sequence[QuerySet[Any]], per_page: int) -> None:
        super().__init__(parts[0], per_page)
        self.parts = parts
        # Only ever sliced (Paginator.page), never iterated whole.
        self.object_list = _Chain(parts, lambda: self.part_counts)  # type: ignore[assignment]

    @cached_property
    def part_counts(self) -> list[int]:
        """Each part's rows, counted only up to COUNT_LIMIT + 1 rows in all, each read in its
        own order (its index's: the count reads the index's first rows, not a bitmap of all)."""
        counts: list[int] = []
        left = COUNT_LIMIT + 1
        for part in self.parts:
            count = part.values("pk")[:left].count() if left > 0 else 0
            counts.append(count)
            left -= count
        return counts

    @cached_property
    def count(self) -> int:
        return sum(self.part_counts)

"""Page-number paging for long lists whose exact count would read every row: the count stops
at COUNT_LIMIT and the list says "10,000+"; the pages past it are not offered."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet

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

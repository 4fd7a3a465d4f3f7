"""How often a line's ETA moved, read from the order's timeline (its ETA_CHANGED events) in the
database, so a list of lines can rank on it without a query per line."""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models import F, Func, IntegerField

from .models import OrderEvent

# Each ETA_CHANGED event lists the lines it changed as {"line": id, "old": date, "new": date}.
# A move is an entry whose line had a date and now has another (or none); the first date a
# line gets ("old" empty) and a change of basis on the same date are not moves.
# Placeholders: the order's id column, the event kind (a parameter), the line's id column.
_POSTGRESQL = """(SELECT COUNT(*) FROM orders_orderevent eta_event
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(eta_event.data -> 'lines') = 'array'
        THEN eta_event.data -> 'lines' ELSE '[]'::jsonb END
    ) eta_line
    WHERE eta_event.order_id = {order} AND eta_event.kind = %s
    AND eta_line ->> 'line' = ({line})::text
    AND eta_line ->> 'old' IS NOT NULL
    AND eta_line ->> 'new' IS DISTINCT FROM eta_line ->> 'old')"""
_SQLITE = """(SELECT COUNT(*) FROM orders_orderevent eta_event,
    json_each(eta_event.data, '$.lines') eta_line
    WHERE eta_event.order_id = {order} AND eta_event.kind = %s
    AND json_extract(eta_line.value, '$.line') = {line}
    AND json_extract(eta_line.value, '$.old') IS NOT NULL
    AND json_extract(eta_line.value, '$.new') IS NOT json_extract(eta_line.value, '$.old'))"""


class EtaMoves(Func):
    """The number of times the ETA of the line (`line` and `order` name its id and its order's
    id) moved: a correlated count over its order's ETA_CHANGED events (their index by order)."""

    output_field = IntegerField()

    def __init__(self, line: str = "id", order: str = "order_id") -> None:
        super().__init__(F(line), F(order))

    def _sql(self, template: str, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        line, order = self.get_source_expressions()
        line_sql, line_params = compiler.compile(line)
        order_sql, order_params = compiler.compile(order)
        sql = template.replace("{order}", order_sql).replace("{line}", line_sql)
        return sql, [*order_params, OrderEvent.Kind.ETA_CHANGED.value, *line_params]

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        raise NotSupportedError(f"ETA moves are not counted on {connection.vendor}.")

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self._sql(_POSTGRESQL, compiler, connection)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self._sql(_SQLITE, compiler, connection)

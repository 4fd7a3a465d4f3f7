"""Small database helpers the ORM has no public call for."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, cast

from django.db import models, router, transaction


def insert_unless_exists(obj: models.Model) -> bool:
    """INSERT the unsaved `obj` unless a row with one of its unique values is already there.

    True (and `obj.pk` set) when it was inserted; False when the row exists (committed, or
    committed by the transaction this one waited for on PostgreSQL). One statement
    (`INSERT ... ON CONFLICT DO NOTHING RETURNING`, PostgreSQL and SQLite alike) where
    `create()` needs a savepoint around it to survive the IntegrityError, three round trips.
    """
    meta = obj._meta
    connection = transaction.get_connection(router.db_for_write(type(obj)))
    quote = connection.ops.quote_name
    fields = [
        field
        for field in meta.concrete_fields
        if not (field.primary_key and getattr(obj, field.attname) is None)
        and not getattr(field, "generated", False)
    ]
    values = [
        field.get_db_prep_save(field.pre_save(obj, add=True), connection=connection)
        for field in fields
    ]
    # Only quoted table and column names of the model go into the text; values are parameters.
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING RETURNING {pk}"  # noqa: S608, E501
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True


def update_rows(objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """UPDATE `fields` of the saved `objs` to the values they hold, in one statement per batch:
    `UPDATE … FROM (VALUES (pk, value, …), …)` joined on the pk (PostgreSQL and SQLite alike).
    Django's bulk_update builds a CASE arm per row and field instead, which takes longer to
    build than to run for thousands of rows. `auto_now` fields listed are set to now, as save()
    sets them. Returns the rows updated."""
    if not objs or not fields:
        return 0
    meta = objs[0]._meta
    connection = transaction.get_connection(router.db_for_write(type(objs[0])))
    targets = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 33):
        for obj in objs:  # (no UPDATE … FROM before SQLite 3.33)
            for field in targets:
                setattr(obj, field.attname, field.pre_save(obj, add=False))
        return type(objs[0])._default_manager.bulk_update(objs, list(fields))
    quote = connection.ops.quote_name
    # As many rows per statement as the database takes parameters for (all, on PostgreSQL).
    batch_size = connection.ops.bulk_batch_size(["pk", *targets], objs)
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    # VALUES columns are named column1, column2, … by both databases; column1 is the pk.
    # PostgreSQL types a VALUES column by its rows (one of NULLs alone would be text): cast it.
    cast_to = connection.vendor == "postgresql"
    assignments = ", ".join(
        f"{quote(field.column)} = "
        + (f"CAST(v.column{n} AS {field.cast_db_type(connection)})" if cast_to else f"v.column{n}")
        for n, field in enumerate(targets, start=2)
    )
    row = "(" + ", ".join(["%s"] * (len(targets) + 1)) + ")"
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            params: list[Any] = []
            for obj in batch:
                params.append(obj.pk)
                for field in targets:
                    value = field.pre_save(obj, add=False)
                    params.append(field.get_db_prep_save(value, connection=connection))
            values = ", ".join([row] * len(batch))
            # Only quoted table and column names go into the text; values are parameters.
            sql = f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v WHERE {table}.{pk} = v.column1"  # noqa: S608, E501
            cursor.execute(sql, params)
            updated += cursor.rowcount
    return updated

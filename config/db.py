"""Small database helpers the ORM has no public call for."""

from __future__ import annotations

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

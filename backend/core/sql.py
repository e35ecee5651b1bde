"""Hand-written SQL for the few statements on every request's path, built from the models' own
table and column names and kept per process.

The ORM builds and compiles a statement anew on each call: about a millisecond for a simple
lookup on this project's machine, several for one with subqueries, more than the database
takes to answer. Where a statement of fixed shape runs on every request (the API token, the
webhook's section and insert), its text is made once per database here and run with its
parameters; the rows become model instances the ordinary way (`Model.from_db`). Only quoted
names from the models go into the text; every value is a parameter.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.db.models import Model


def quote(name: str) -> str:
    return str(connection.ops.quote_name(name))


def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def column(model: type[Model], field: str) -> str:
    return quote(str(model._meta.get_field(field).column))  # type: ignore[union-attr]


class Reader:
    """Turns rows selected with `select_list` into model instances as the ORM would: each
    column through its field's database converters (JSON text to dicts, SQLite's datetime text
    to datetimes), then `Model.from_db`."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.converters = []
        for field in self.fields:
            col = field.get_col(alias)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            self.converters.append([(converter, col) for converter in found])

    def instance(self, values: Any) -> Any:
        converted = list(values)
        for i, converters in enumerate(self.converters):
            for converter, col in converters:
                converted[i] = converter(converted[i], col, connection)
        return self.model.from_db(connection.alias, self.attnames, converted)


def select_list(model: type[Model], alias: str) -> tuple[str, Reader]:
    """`alias.col, ...` for every concrete field of `model`, and the Reader for such rows."""
    reader = Reader(model, alias)
    return ", ".join(f"{alias}.{quote(str(f.column))}" for f in reader.fields), reader


def db_values(model: type[Model], values: dict[str, Any]) -> list[Any]:
    """Python values made ready for the database as the ORM would (datetimes for SQLite)."""
    return [
        model._meta.get_field(name).get_db_prep_save(value, connection)  # type: ignore[union-attr]
        for name, value in values.items()
    ]


def insert(obj: Model) -> None:
    """INSERT a new row for `obj` (every concrete field but the key) and give it its key, as
    `obj.save()` would for a plain model without signals, in one statement of fixed text."""
    model = type(obj)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_statement(connection.vendor, model), values)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias


@functools.cache
def _insert_statement(vendor: str, model: type[Model]) -> str:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(str(f.column)) for f in fields)
    return (
        f"INSERT INTO {table(model)} ({columns}) "  # noqa: S608 (names from the model)
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(str(model._meta.pk.column))}"
    )

"""Hand-written SQL for the few statements on every request's path, built from the models' own
table and column names and kept per process.

The ORM builds and compiles a statement anew on each call: about a millisecond for a simple
lookup on this project's machine, several for one with subqueries, more than the database
takes to answer. Where a statement of fixed shape runs on every request (the API token, the
webhook's section and insert), its text is made once per database here and run with its
parameters; the rows become model instances the ordinary way (`Model.from_db`). Only quoted
names from the models go into the text; every value is a parameter.

Reads too varied to write by hand (the queue, with its filters, subqueries and order) are
*prepared*: the ORM compiles the queryset once per shape, with stand-ins for the values, and
later reads bind their values to that text (`prepared`).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable

M = TypeVar("M", bound=Model)


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

    def instance(self, values: Any, on: BaseDatabaseWrapper | None = None) -> Any:
        """The instance of a row (read on `on`, by default Django's connection)."""
        on = connection if on is None else on
        converted = list(values)
        for i, converters in enumerate(self.converters):
            for converter, col in converters:
                converted[i] = converter(converted[i], col, on)
        return self.model.from_db(on.alias, self.attnames, converted)


def select_list(model: type[Model], alias: str) -> tuple[str, Reader]:
    """`alias.col, ...` for every concrete field of `model`, and the Reader for such rows."""
    reader = Reader(model, alias)
    return ", ".join(f"{alias}.{quote(str(f.column))}" for f in reader.fields), reader


def db_values(
    model: type[Model], values: dict[str, Any], on: BaseDatabaseWrapper | None = None
) -> list[Any]:
    """Python values made ready for the database as the ORM would (datetimes for SQLite), for
    `on` (by default Django's connection)."""
    on = connection if on is None else on
    return [
        model._meta.get_field(name).get_db_prep_save(value, on)  # type: ignore[union-attr]
        for name, value in values.items()
    ]


def insert(obj: Model, *, needs_key: bool = False) -> None:
    """INSERT a new row for `obj` (every concrete field but the key) and give it its key, as
    `obj.save()` would for a plain model without signals, in one statement of fixed text.
    Inside `riding_along` the row waits to be written with the next statement that takes it,
    and `obj` gets no key; unless `needs_key` (the block goes on to use it): then it is written
    now, as outside the block."""
    model = type(obj)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    riders = _riders.get()
    if riders is not None and not needs_key:
        riders.append((model, values))
        return
    with connection.cursor() as cursor:
        cursor.execute(_insert_statement(connection.vendor, model), values)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias


def insert_all(objs: Sequence[Model]) -> None:
    """INSERT new rows of one model, as `insert` does each: inside `riding_along` they wait to
    ride along; elsewhere one written by `insert`, more in one statement (`bulk_create`), each
    given its key."""
    if _riders.get() is not None or len(objs) == 1:
        for obj in objs:
            insert(obj)
    elif objs:
        type(objs[0])._default_manager.bulk_create(objs)


@functools.cache
def _insert_statement(vendor: str, model: type[Model]) -> str:
    return f"{_values_insert(model, 1)} RETURNING {quote(str(model._meta.pk.column))}"


# Rows that ride along -----------------------------------------------------------------------

_riders: contextvars.ContextVar[list[tuple[type[Model], list[Any]]] | None] = (
    contextvars.ContextVar("sql_riders", default=None)
)


@contextlib.contextmanager
def riding_along() -> Iterator[None]:
    """PostgreSQL, inside the caller's transaction: the rows `insert` is given in the block are
    written as part of the next statement that takes them (`with_riders`: the section's event,
    core.realtime), each as a data-modifying CTE of it: a round trip fewer per row. What no
    statement took is written in one statement when the block ends; an error in the block
    writes none of it (the transaction rolls back anyway). For rows whose key nobody in the
    block needs, and that nobody in the block reads back. Elsewhere (SQLite) every row is
    written at once, as without it."""
    if connection.vendor != "postgresql":
        yield
        return
    riders: list[tuple[type[Model], list[Any]]] = []
    token = _riders.set(riders)
    try:
        yield
    finally:
        _riders.reset(token)
    if riders:
        statement, params = _riding(riders, "SELECT 1", [])
        with connection.cursor() as cursor:
            cursor.execute(statement, params)


def with_riders(statement: str, params: list[Any]) -> tuple[str, list[Any]]:
    """`statement` (a plain one, or one that begins with WITH) with the rows waiting in
    `riding_along` written by it, which then no longer wait; as it is outside that block."""
    riders = _riders.get()
    if not riders:
        return statement, params
    taken = list(riders)
    riders.clear()
    return _riding(taken, statement, params)


def _riding(
    riders: list[tuple[type[Model], list[Any]]], statement: str, params: list[Any]
) -> tuple[str, list[Any]]:
    # One INSERT per table, its rows in the order they were given (PostgreSQL runs a
    # statement's CTEs in no set order, so rows of one table in two CTEs could be numbered
    # out of order).
    tables: dict[type[Model], list[list[Any]]] = {}
    for model, row in riders:
        tables.setdefault(model, []).append(row)
    ctes = ", ".join(
        f"ridden_{n} AS ({_values_insert(model, len(rows))})"
        for n, (model, rows) in enumerate(tables.items())
    )
    own = statement[len("WITH ") :] if statement.startswith("WITH ") else statement
    joiner = ", " if statement.startswith("WITH ") else " "
    values = [value for rows in tables.values() for row in rows for value in row]
    return f"WITH {ctes}{joiner}{own}", [*values, *params]


@functools.cache
def _values_insert(model: type[Model], count: int) -> str:
    """INSERT of `count` rows of `model`, every concrete field but the key, as `insert` writes
    one."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(str(f.column)) for f in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    return (
        f"INSERT INTO {table(model)} ({columns}) "  # noqa: S608 (names from the model)
        f"VALUES {', '.join([row] * count)}"
    )


# Prepared reads ----------------------------------------------------------------------------

# A value of a prepared read is a number, a text, or a list of them; a list's length, and each
# value's type, are part of the read's shape.
Value = int | str
Values = Sequence[Value | Sequence[Value]]

_STAND_IN_NUMBER = -1_900_000_000  # no key or count is near it


def _stand_in(index: int, value: Value) -> Value:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(
            f"prepared values are numbers or texts, not {type(value).__name__}: a flag "
            "changes the statement, so it belongs in the key"
        )
    return _STAND_IN_NUMBER - index if isinstance(value, int) else f"\x1fkp-value-{index}\x1f"


def _flat(values: Values) -> tuple[list[Value], tuple[Any, ...]]:
    """The values one after another, and their structure (list lengths, types) for the key."""
    flat: list[Any] = []
    structure: list[Any] = []
    for value in values:
        if isinstance(value, list | tuple):
            flat.extend(value)
            structure.append(tuple(type(v).__name__ for v in value))
        else:
            flat.append(value)
            structure.append(type(value).__name__)
    return flat, tuple(structure)


def _unflat(values: Values, flat: list[Value]) -> list[Any]:
    out: list[Any] = []
    at = 0
    for value in values:
        if isinstance(value, list | tuple):
            out.append(flat[at : at + len(value)])
            at += len(value)
        else:
            out.append(flat[at])
            at += 1
    return out


@dataclass(frozen=True)
class _Statement:
    queryset: QuerySet[Any] | None  # the stand-ins' queryset (None: it can have no rows)
    compiler: Any  # the ORM's compiler of it, as it was after compiling
    sql: str
    slots: tuple[tuple[bool, Any], ...]  # per parameter: (True, value index) or (False, constant)


_statements: dict[Hashable, _Statement] = {}
# Shapes are few in use (the queue's filter combinations, a batch's count of numbers); the cap
# keeps a client that tries every combination from growing the process without end.
MAX_STATEMENTS = 1000


def _prepare(build: Callable[..., QuerySet[Any]], values: Values, using: str) -> _Statement | None:
    """The statement for the shape of `build(*values)`; None if these values can have no rows
    (as the ORM rules out without asking the database), with nothing kept for the shape."""
    flat, _ = _flat(values)
    stand_ins = [_stand_in(i, v) for i, v in enumerate(flat)]
    queryset = build(*_unflat(values, stand_ins)).using(using)
    lookups = getattr(queryset, "_prefetch_related_lookups", ())
    if queryset._iterable_class is not ModelIterable or lookups:
        raise ImproperlyConfigured("a prepared read returns model instances, without prefetch")
    compiler = queryset.query.get_compiler(using=using)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        # The ORM ruled the read out. With no values, that is the shape (an empty list). With
        # values, it may be the stand-ins (a number outside a small field's range): those
        # values are asked, and a shape only they rule out is refused, never kept as no rows.
        if not stand_ins:
            return _Statement(None, None, "", ())
        try:
            build(*values).using(using).query.get_compiler(using=using).as_sql()
        except EmptyResultSet:
            return None
        raise ImproperlyConfigured(
            "a value's stand-in is outside what its field holds; put the value in the key"
        ) from None
    index = {stand_in: i for i, stand_in in enumerate(stand_ins)}
    slots = tuple(
        (True, index[p]) if isinstance(p, int | str) and p in index else (False, p) for p in params
    )
    bound = {i for is_value, i in slots if is_value}
    hidden = [s for s in stand_ins if str(s) in sql]
    if len(bound) != len(stand_ins) or hidden:
        # A value the ORM changed (a pattern for `contains`) or wrote into the text: binding
        # later values to this text would be wrong, so the read is refused outright.
        raise ImproperlyConfigured(f"values not bound one to one as parameters in: {sql}")
    return _Statement(queryset, compiler, sql, slots)


def prepared(key: Hashable, build: Callable[..., QuerySet[M]], *values: Any) -> list[M]:
    """The rows of `build(*values)`, read with the SQL the ORM compiled for this `key` once per
    process and database. `build` must give querysets of the same shape (filters, joins,
    order, slice) for every call with the same `key`; the values (numbers, texts, lists of
    them; their types and list lengths are added to the key) may differ: they are bound as
    parameters, and a value the ORM would not pass through unchanged is refused when the
    statement is made. The rows are model instances as the ORM makes them (select_related,
    annotations)."""
    using = "default"
    flat, structure = _flat(values)
    full_key = (connections[using].vendor, key, structure)
    statement = _statements.get(full_key)
    if statement is None:
        statement = _prepare(build, values, using)
        if statement is None:
            return []
        if len(_statements) >= MAX_STATEMENTS:
            _statements.pop(next(iter(_statements), None), None)  # the oldest made
        _statements[full_key] = statement
    if statement.queryset is None:
        return []
    params = tuple(flat[v] if is_value else v for is_value, v in statement.slots)
    # The ORM reads the rows as it always does (select_related, annotations, converters), with
    # a copy of the compiler that made the statement, given this call's parameters and this
    # thread's connection (not the one of the thread that compiled).
    compiler = copy.copy(statement.compiler)
    compiler.connection = connections[using]
    compiler.as_sql = lambda *args, **kwargs: (statement.sql, params)
    queryset = statement.queryset.all()
    queryset.query.get_compiler = lambda *args, **kwargs: compiler  # type: ignore[method-assign]
    return list(queryset)


def get(model: type[M], pk: int) -> M:
    """`model.objects.get(pk=pk)`, as a prepared read."""
    rows = prepared(("get", model), functools.partial(_by_pk, model), pk)
    if not rows:
        raise model.DoesNotExist(f"{model.__name__} {pk}")  # type: ignore[attr-defined]
    return rows[0]


def _by_pk(model: type[M], pk: int) -> QuerySet[M]:
    return model._default_manager.filter(pk=pk)


class Prepared(Generic[M]):
    """A prepared read for a paginator: its first page is read prepared (the slice in the key);
    a later page, and a count, are asked of the ORM (they are rare, and their offsets would
    each be a shape of their own)."""

    def __init__(self, key: Hashable, build: Callable[..., QuerySet[M]], *values: Any) -> None:
        self.key = key
        self.build = build
        self.values = values

    def __getitem__(self, part: slice) -> list[M]:
        if not isinstance(part, slice) or part.step is not None:
            raise TypeError("a prepared read is read in slices")

        if part.start:
            return list(self.build(*self.values)[part])

        def sliced(*values: Any) -> QuerySet[M]:
            return self.build(*values)[part]

        return prepared((self.key, part.stop), sliced, *self.values)

    def count(self) -> int:
        return self.build(*self.values).count()

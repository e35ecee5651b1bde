"""The audit log: who read or changed which patient's data, when, and from where.

Services call `record(...)` inside their transaction, so an audit row exists exactly when the
change does. Reads are recorded by the views and consumers that hand patient data out.
The request's origin (address, channel) is carried in a context variable set by middleware, so
services need not take a request argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from . import sql
from .models import AuditEvent


@dataclass(frozen=True)
class Origin:
    channel: str
    ip: str | None = None


# Origin is a frozen dataclass, so sharing the default instance is safe.
_origin: contextvars.ContextVar[Origin] = contextvars.ContextVar(
    "audit_origin",
    default=Origin(channel="system"),  # noqa: B039
)


def client_ip(request: HttpRequest) -> str | None:
    """The peer's address. Behind TRUSTED_PROXY_COUNT proxies, the address the nearest of them
    saw (X-Forwarded-For counted from the right, as DRF's NUM_PROXIES does); a client's own
    X-Forwarded-For is never believed without a proxy in front."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [part.strip() for part in forwarded.split(",") if part.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path.startswith("/api/"):
            channel = "api"
        elif path.startswith("/webhooks/"):
            channel = "webhook"
        elif path.startswith("/admin/"):
            channel = "admin"
        else:
            channel = "page"
        token = _origin.set(Origin(channel=channel, ip=client_ip(request)))
        try:
            return self.get_response(request)
        finally:
            _origin.reset(token)


class origin_as:
    """Set the audit origin for code outside a request (websocket consumers, tasks)."""

    def __init__(self, channel: str, ip: str | None = None) -> None:
        self.origin = Origin(channel=channel, ip=ip)
        self.token: contextvars.Token[Origin] | None = None

    def __enter__(self) -> Origin:
        self.token = _origin.set(self.origin)
        return self.origin

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            _origin.reset(self.token)


def current_origin() -> Origin:
    return _origin.get()


def _event(
    *,
    user: Any,
    action: str,
    obj: Any = None,
    patient_id: int | None = None,
    section_id: int | None = None,
    detail: dict[str, Any] | None = None,
    origin: Origin,
    at: Any,
) -> AuditEvent:
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEvent(
        at=at,
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        patient_id=patient_id,
        section_id=section_id,
        channel=origin.channel,
        ip=origin.ip,
        detail=detail or {},
    )


def record(
    *,
    user: Any,
    action: str,
    obj: Any = None,
    patient_id: int | None = None,
    section_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit record. `detail` must hold ids and codes only, never personal data."""
    event = _event(
        user=user,
        action=action,
        obj=obj,
        patient_id=patient_id,
        section_id=section_id,
        detail=detail,
        origin=current_origin(),
        at=timezone.now(),
    )
    together = _together.get()
    if together is not None:
        together.append(event)
    else:
        sql.insert(event)  # as event.save(), a statement compiled once (core.sql)
    return event


def logs_of(section_ids: list[int]) -> list[int | None]:
    """The sections' logs a record about more than one section goes in, one record each; with
    no section, one record outside every section's log (still kept)."""
    return [*section_ids] or [None]


_together: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar(
    "audit_together", default=None
)


@contextlib.contextmanager
def recorded_together() -> Iterator[None]:
    """Inside the caller's transaction: the records made in the block are written in one
    INSERT when it ends, each as it was made (its time included), or ride along with the
    next statement that takes them inside `core.sql.riding_along`. Used where one transaction
    records many (the inbox drain). An error in the block writes none of them (the
    transaction rolls back anyway)."""
    events: list[AuditEvent] = []
    token = _together.set(events)
    try:
        yield
    finally:
        _together.reset(token)
    sql.insert_all(events)


def patient_list(patient_ids: Iterable[int | None]) -> str:
    """The `patients` column: ",12,40,77," (sorted, distinct), or "" when no patient is named."""
    ids = sorted({int(p) for p in patient_ids if p is not None})
    return f",{','.join(map(str, ids))}," if ids else ""


def read_event(
    *,
    user: Any,
    action: str,
    object_type: str,
    object_ids: list[Any],
    patient_ids: list[int | None],
    section_id: int | None,
    origin: Origin,
    at: Any,
) -> AuditEvent:
    """One record for one read of `object_ids` in one section: a single object is named as
    before; a list is named in `detail.objects`, with every patient shown in `patients` (and in
    `patient_id` too when all rows are the same patient's)."""
    patients = {p for p in patient_ids if p is not None}
    single = len(object_ids) == 1
    event = _event(
        user=user,
        action=action,
        patient_id=next(iter(patients)) if len(patients) == 1 else None,
        section_id=section_id,
        detail=None if single else {"objects": [str(o) for o in object_ids]},
        origin=origin,
        at=at,
    )
    event.object_type = object_type
    event.object_id = str(object_ids[0]) if single else ""
    event.patients = patient_list(patients)
    return event


def record_reads(
    *,
    user: Any,
    action: str,
    objects: Iterable[Any],
    patient_of: Callable[[Any], int | None],
    section_of: Callable[[Any], int | None],
) -> int:
    """Record that `objects` (one, or the rows of a list) were shown to `user`: one audit record
    per section shown, naming every object and every patient, however many rows there were.
    Returns the number of objects named; nothing is written for an empty list."""
    by_section: dict[int | None, list[Any]] = {}
    for obj in objects:
        by_section.setdefault(section_of(obj), []).append(obj)
    origin, now = current_origin(), timezone.now()
    events = [
        read_event(
            user=user,
            action=action,
            object_type=type(rows[0]).__name__.lower(),
            object_ids=[obj.pk for obj in rows],
            patient_ids=[patient_of(obj) for obj in rows],
            section_id=section_id,
            origin=origin,
            at=now,
        )
        for section_id, rows in by_section.items()
    ]
    if len(events) == 1:
        sql.insert(events[0])  # the usual case (one section shown): one INSERT, no transaction
    else:
        AuditEvent.objects.bulk_create(events)
    return sum(len(rows) for rows in by_section.values())


def naming_patient(patient_id: int) -> Q:
    """Audit records about `patient_id`: a read or write of theirs, or a list that showed them."""
    return Q(patient_id=patient_id) | Q(patients__contains=f",{patient_id},")


NEWEST_FIRST = ("-at", "-id")


class PatientRecords:
    """The records of `records` about one patient (`naming_patient`), newest first, read a page
    at a time (a paginator's object list: slices and `count()`).

    Asked as one query (`naming_patient`, newest first, a page), PostgreSQL either collects
    every record naming the patient and sorts them, or walks the whole log backwards by time
    until it has a page; it picks by its estimate of how many name the patient, and a wrong
    estimate makes a rarely seen patient's page read most of the log (81-87 ms at 1,000,000
    records, against 12-15 ms with the other plan; docs/benchmarks.md). Here a page is read from
    two lists each cut at the page's end: the patient's own records by the index on
    (patient_id, at, id), and the lists that showed the patient by the trigram index, newest
    first; their union, newest first, is cut to the page. Neither grows with the log. SQLite
    (the demo) cannot order and cut the parts of a union, and is asked the one query."""

    def __init__(self, records: QuerySet[AuditEvent], patient_id: int) -> None:
        self.records = records
        self.patient_id = patient_id

    def count(self) -> int:
        return self.records.filter(naming_patient(self.patient_id)).count()

    def __getitem__(self, part: slice) -> list[AuditEvent]:
        if not isinstance(part, slice) or part.step is not None or part.stop is None:
            raise TypeError("the records are read a page at a time")
        if not connection.features.supports_slicing_ordering_in_compound:
            named = self.records.filter(naming_patient(self.patient_id))
            return list(named.order_by(*NEWEST_FIRST)[part])
        own = self.records.filter(patient_id=self.patient_id)
        listed = self.records.filter(patients__contains=f",{self.patient_id},")
        # A record in both parts (its own patient and a list) is one row of the union.
        newest = [
            source.order_by(*NEWEST_FIRST).values_list("id", "at")[: part.stop]
            for source in (own, listed)
        ]
        page = newest[0].union(newest[1]).order_by(*NEWEST_FIRST)[part]
        ids = [pk for pk, _at in page]
        return list(AuditEvent.objects.filter(pk__in=ids).order_by(*NEWEST_FIRST))


# --- Reads pushed to open sockets -------------------------------------------------------------

PUSH_FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class _PushKey:
    user_id: int
    action: str
    object_type: str
    section_id: int | None
    ip: str | None


class PushedReads:
    """What the open sockets of this process were shown, written as one INSERT a second.

    A live event reaches every screen on the section; writing an audit row per frame per socket
    put a database write in front of every frame (50 screens and 20 texts a second are 1,000
    writes a second) and left screens minutes behind. Instead each socket's frames are noted
    here and, within PUSH_FLUSH_SECONDS, written as one record per user, section and action
    listing every object and patient shown, stamped with the time the first was sent. A socket
    that closes flushes at once; a process killed outright can lose its last second of notes.
    """

    def __init__(self) -> None:
        self._pending: dict[_PushKey, tuple[Any, Any, list[tuple[Any, int | None]]]] = {}
        self._flusher: asyncio.Task[None] | None = None

    def note(
        self,
        *,
        user: Any,
        action: str,
        object_type: str,
        ip: str | None,
        rows: Iterable[tuple[Any, int | None, int | None]],
    ) -> None:
        """Note that `rows` (object id, patient id, section id) were pushed to `user`. Called on
        the event loop; never touches the database."""
        now = timezone.now()
        for object_id, patient_id, section_id in rows:
            if object_id is None:
                continue  # an event without a row (nothing about a patient was shown)
            key = _PushKey(user.pk, action, object_type, section_id, ip)
            entry = self._pending.setdefault(key, (user, now, []))
            entry[2].append((object_id, patient_id))
        loop = asyncio.get_running_loop()
        flusher = self._flusher
        if self._pending and (flusher is None or flusher.done() or flusher.get_loop() is not loop):
            self._flusher = loop.create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(PUSH_FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> int:
        """Write what is pending (one record per user, section and action). Returns how many
        records were written."""
        from channels.db import database_sync_to_async

        pending, self._pending = self._pending, {}
        if not pending:
            return 0
        events = [
            read_event(
                user=user,
                action=key.action,
                object_type=key.object_type,
                object_ids=list(dict.fromkeys(object_id for object_id, _ in shown)),
                patient_ids=[patient_id for _, patient_id in shown],
                section_id=key.section_id,
                origin=Origin(channel="ws", ip=key.ip),
                at=first_at,
            )
            for key, (user, first_at, shown) in pending.items()
        ]
        await database_sync_to_async(AuditEvent.objects.bulk_create)(events)
        return len(events)


pushed_reads = PushedReads()

"""Realtime events: stored with a per-section `seq`, broadcast after the transaction commits.

The database is the source of truth. `publish` writes the event row in the caller's transaction
and registers the broadcast with `transaction.on_commit`, so nobody sees what was rolled back. If
the channel layer is down the broadcast is lost, and clients repair that by asking for
`resync` since the last `seq` they saw; the events are still here.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import datetime as dt
import functools
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import sql
from .models import Event, Section

logger = logging.getLogger(__name__)

# How many missed events a client may ask for before it is sent a fresh snapshot instead.
RESYNC_LIMIT = 500


def queue_group(section_id: int) -> str:
    return f"queue.section.{section_id}"


def lock_section(section_id: int) -> None:
    """Take the section's row lock. Every writing service takes it first, so locks are always
    taken in the same order (section, then inquiry) and two services can never deadlock. One
    statement of fixed text (core.sql): the ORM built this query anew on every write.

    FOR NO KEY UPDATE, not FOR UPDATE: the holders still wait for each other (and for the
    UPDATE of the event number), but a row that only refers to the section goes on being
    written meanwhile. Every row with a foreign key to the section has it checked against this
    row (FOR KEY SHARE, at commit), which FOR UPDATE blocks: the SMS webhook's one insert
    waited for whatever drain of its section was running, Twilio's answer with it."""
    with connection.cursor() as cursor:
        cursor.execute(_lock_statement(connection.vendor), [section_id])
        cursor.fetchone()


def locked_section(section_id: int) -> Section:
    """The section read with its row lock taken (as `lock_section`), in one statement: for a
    writer that needs the section's settings as well as its lock (the inbox drain). A
    prepared read (core.sql)."""
    rows = sql.prepared("realtime.locked_section", _locked_section_query, section_id)
    if not rows:
        raise Section.DoesNotExist(section_id)
    return rows[0]


def _locked_section_query(section_id: int) -> Any:
    # SQLite has no row locks: there the ORM leaves the clause out, as in _lock_statement.
    return Section.objects.select_for_update(no_key=True).filter(pk=section_id)


@functools.cache
def _lock_statement(vendor: str) -> str:
    # As `select_for_update(no_key=True)` on the ORM: SQLite has no row locks (its writes are
    # serialised by the database's own lock), so there it is the plain SELECT the ORM sends.
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""
    return (
        f"SELECT {sql.column(Section, 'id')} FROM {sql.table(Section)} "  # noqa: S608
        f"WHERE {sql.column(Section, 'id')} = %s{lock}"
    )


def next_seq(section_id: int, count: int = 1) -> int:
    """The section's next event number (the last of the next `count`), in one round trip
    (UPDATE ... RETURNING, which both PostgreSQL and SQLite 3.35+ speak). The row stays locked
    until the caller commits."""
    with connection.cursor() as cursor:
        cursor.execute(_next_seq_statement(connection.vendor), [count, section_id])
        row = cursor.fetchone()
    if row is None:
        raise Section.DoesNotExist(section_id)
    return int(row[0])


@functools.cache
def _next_seq_statement(vendor: str) -> str:
    seq = sql.column(Section, "last_seq")
    return (
        f"UPDATE {sql.table(Section)} SET {seq} = {seq} + %s "  # noqa: S608
        f"WHERE {sql.column(Section, 'id')} = %s RETURNING {seq}"
    )


def current_seq(section_id: int) -> int:
    return Section.objects.values_list("last_seq", flat=True).get(pk=section_id)


def doctor_group(user_id: int) -> str:
    return f"doctor.user.{user_id}"


def publish(
    *, section_id: int, type: str, body: dict[str, Any], groups: list[str] | None = None
) -> dict[str, Any]:
    """Store an event for the section and broadcast it after commit (to the section's queue,
    or to `groups`). Returns the event (inside `published_together`, numbered when that ends)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("publish() must run inside the service's transaction")
    together = _together.get()
    if together is not None and together.section_id == section_id:
        if groups is None:
            return together.add(type, body)
        together.store()  # what was published before this one is numbered before it
    return _numbered_and_stored(section_id, [(type, body)], groups)[0]


def _numbered_and_stored(
    section_id: int,
    events: list[tuple[str, dict[str, Any]]],
    groups: list[str] | None,
    into: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """`events` numbered, stored and broadcast after commit, in order: on PostgreSQL in one
    statement, elsewhere an UPDATE for the numbers and an INSERT."""
    if connection.vendor == "postgresql":
        return _number_and_store(section_id, events, groups, into=into)
    last_seq = next_seq(section_id, len(events))
    return _store(section_id, events, groups, last_seq=last_seq, into=into)


def _number_and_store(
    section_id: int,
    events: list[tuple[str, dict[str, Any]]],
    groups: list[str] | None,
    into: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """PostgreSQL: `events` numbered and stored in one statement (the numbers' UPDATE as a CTE
    the INSERT takes them from, in the order given, and puts in each payload), then broadcast
    after commit in that order: a round trip fewer for every change (docs/architecture.md).
    Rows waiting to ride along (core.sql.riding_along: the change's timeline entry and audit
    record) are written by this same statement. `into`: as in `_store`."""
    # Encoded here, as in _store: a non-serialisable event fails in the transaction.
    drafts = [json.dumps({"type": t, "seq": 0, **body}, ensure_ascii=False) for t, body in events]
    at = sql.db_values(Event, {"at": timezone.now()})[0]
    count = len(events)
    statement, params = sql.with_riders(
        _number_and_store_statement(),
        [count, section_id, section_id, count, count, at, [t for t, _ in events], drafts],
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        raise Section.DoesNotExist(section_id)
    sent = _encoded(events, first=int(row[0]) - count + 1, into=into)
    _broadcast_after_commit(section_id, groups, sent)
    return [event for event, _ in sent]


@functools.cache
def _number_and_store_statement() -> str:
    seq = sql.column(Section, "last_seq")
    columns = ", ".join(
        sql.column(Event, name) for name in ("section", "seq", "type", "payload", "at")
    )
    number = f"n.{seq} - %s + e.ord"
    return (
        f"WITH n AS (UPDATE {sql.table(Section)} SET {seq} = {seq} + %s "  # noqa: S608
        f"WHERE {sql.column(Section, 'id')} = %s RETURNING {seq}), "
        f"stored AS (INSERT INTO {sql.table(Event)} ({columns}) "
        f"SELECT %s, {number}, e.type, "
        f"jsonb_set(e.payload::jsonb, '{{seq}}', to_jsonb({number})), %s "
        f"FROM n, unnest(%s::text[], %s::text[]) WITH ORDINALITY AS e(type, payload, ord)) "
        f"SELECT {seq} FROM n"
    )


def _encoded(
    events: list[tuple[str, dict[str, Any]]], *, first: int, into: list[dict[str, Any]] | None
) -> list[tuple[dict[str, Any], str]]:
    """Each event numbered from `first`, as JSON once (every socket sends these same bytes
    instead of encoding the event again) and as the dict read back from it; with `into`, the
    dicts given out before they were numbered are filled and used."""
    sent = []
    for offset, (type, body) in enumerate(events):
        text = json.dumps({"type": type, "seq": first + offset, **body}, ensure_ascii=False)
        event = json.loads(text)
        if into is not None:
            into[offset].update(event)
            event = into[offset]
        sent.append((event, text))
    return sent


def _store(
    section_id: int,
    events: list[tuple[str, dict[str, Any]]],
    groups: list[str] | None,
    *,
    last_seq: int,
    into: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Number `events` up to `last_seq`, store them, and broadcast each after commit, in order.
    `into`: dicts to fill with the events (given out before they were numbered)."""
    # Encoded here, so a non-serialisable event fails in the transaction that made it.
    sent = _encoded(events, first=last_seq - len(events) + 1, into=into)
    now = timezone.now()
    rows = [
        Event(section_id=section_id, seq=event["seq"], type=event["type"], payload=event, at=now)
        for event, _ in sent
    ]
    if len(rows) == 1:
        sql.insert(rows[0])  # as save(), a statement compiled once (core.sql)
    else:
        Event.objects.bulk_create(rows)
    _broadcast_after_commit(section_id, groups, sent)
    return [event for event, _ in sent]


def _broadcast_after_commit(
    section_id: int, groups: list[str] | None, sent: list[tuple[dict[str, Any], str]]
) -> None:
    for event, text in sent:
        for group in groups if groups is not None else [queue_group(section_id)]:
            transaction.on_commit(partial(broadcast, group, event, text), robust=True)


class _Together:
    def __init__(self, section_id: int) -> None:
        self.section_id = section_id
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.handed_out: list[dict[str, Any]] = []

    def add(self, type: str, body: dict[str, Any]) -> dict[str, Any]:
        self.events.append((type, body))
        self.handed_out.append({})
        return self.handed_out[-1]

    def store(self) -> None:
        if self.events:
            _numbered_and_stored(self.section_id, self.events, None, into=self.handed_out)
        self.events, self.handed_out = [], []


_together: contextvars.ContextVar[_Together | None] = contextvars.ContextVar(
    "events_together", default=None
)


@contextlib.contextmanager
def published_together(section_id: int) -> Iterator[None]:
    """Inside the caller's transaction: the section's events published in the block are
    numbered in one UPDATE and stored in one INSERT when it ends (each still its own event,
    in order, broadcast after commit). Used where one transaction publishes many (the inbox
    drain); the event bodies are built when published, as without it. An error in the block
    stores none of them (the transaction rolls back anyway)."""
    together = _Together(section_id)
    token = _together.set(together)
    try:
        yield
    finally:
        _together.reset(token)
    together.store()


def broadcast(group: str, event: dict[str, Any], text: str) -> None:
    """Send a committed event to a group. `text` is the event as JSON, sent to the sockets as it
    is (consumers read `event` for what they audit and check). A send that fails is logged and
    never fails the committed write: the clients resync (a gap in seq, or a `pong` naming a
    later seq)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "queue.event", "event": event, "text": text}
    _group_send(
        layer,
        group,
        message,
        failed=f"broadcast to {group} failed for seq {event.get('seq')}; clients will resync",
    )


def notify(section_id: int, type: str) -> None:
    """After commit, tell the section's open queues that something outside the event log
    changed (`{"type": type}`, no seq and no patient data): a page that shows it fetches it
    through the API, which checks access and audits. A page that missed a notice (its socket
    was down) fetches again with its next snapshot."""
    text = json.dumps({"type": type})
    group = queue_group(section_id)

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            message = {"type": "queue.notice", "text": text}
            _group_send(layer, group, message, failed=f"notice {type} to {group} failed")

    transaction.on_commit(send, robust=True)


# How long one send from outside an event loop may take before it is given up (and the clients
# resync), and how many such sends may wait for it: more are given up at once, so that a
# channel layer that hangs never holds up the writes (the database has them all).
SEND_TIMEOUT_SECONDS = 10.0
MAX_WAITING_SENDS = 1000


class _SendingLoop:
    """One event loop in a thread of its own, for every broadcast a process makes to a
    channel layer that is not in memory: from a Celery worker, a management command, or a
    request's thread under Daphne.

    `async_to_sync` from a thread with no loop to borrow makes a new event loop for every call,
    and the Redis channel layer a new connection pool per loop: 6.4 ms of CPU per event on
    this machine, against 0.8 ms on a loop that stays. Under Daphne it borrows the server's
    loop, and the request's thread waited there for the group send, among the loop's other
    work, before its response could go. An in-memory layer is tied to the loop that made it:
    it keeps `async_to_sync`. Made on first use in each process (a forked worker makes its
    own).

    The caller does not wait for a send (a group send is four Redis round trips: 2.6-3.7 ms of
    a worker's drain of one text): one task sends them in the order they were handed in, each
    after the one before it. What is still waiting when the process exits is sent first
    (`flush`, at exit and at a worker's shutdown); a process killed outright loses it, as it
    would lose a send it was waiting for, and the pages catch up (a gap in seq, or a pong)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        self.waiting = 0
        self.all_sent = threading.Condition()
        self.queue: asyncio.Queue[tuple[Callable[[], Awaitable[None]], str]] = asyncio.Queue()
        threading.Thread(target=self.loop.run_forever, name="broadcasts", daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._send_in_order(), self.loop)

    def send(self, send: Callable[[], Awaitable[None]], failed: str) -> None:
        with self.all_sent:
            if self.waiting >= MAX_WAITING_SENDS:
                logger.warning("%s (%s sends waiting)", failed, self.waiting)
                return
            self.waiting += 1
        # Callbacks handed to a loop run in the order handed in: so do the sends.
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (send, failed))

    async def _send_in_order(self) -> None:
        while True:
            send, failed = await self.queue.get()
            try:
                await asyncio.wait_for(send(), SEND_TIMEOUT_SECONDS)
            except Exception:
                logger.warning("%s", failed, exc_info=True)
            finally:
                with self.all_sent:
                    self.waiting -= 1
                    self.all_sent.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until every send handed in has been made or given up; False after `timeout`."""
        with self.all_sent:
            return self.all_sent.wait_for(lambda: self.waiting == 0, timeout)


_sending_loop: _SendingLoop | None = None
_sending_loop_lock = threading.Lock()


def _own_loop() -> _SendingLoop:
    global _sending_loop
    with _sending_loop_lock:
        if _sending_loop is None or _sending_loop.pid != os.getpid():
            _sending_loop = _SendingLoop()
        return _sending_loop


def flush_broadcasts(timeout: float = SEND_TIMEOUT_SECONDS) -> bool:
    """Send what this process's broadcasts still wait for (at exit, at a worker's shutdown);
    False if some were still waiting after `timeout` seconds."""
    sending = _sending_loop
    if sending is None or sending.pid != os.getpid():
        return True
    return sending.flush(timeout)


atexit.register(flush_broadcasts)


def _group_send(layer: Any, group: str, message: dict[str, Any], *, failed: str) -> None:
    """Send `message` to `group`; a send that fails is logged as `failed`. To an in-memory
    layer before returning; to any other through the process's own loop, without waiting
    (`_SendingLoop`)."""
    if isinstance(layer, InMemoryChannelLayer):
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            logger.warning("%s", failed, exc_info=True)
    else:
        _own_loop().send(partial(layer.group_send, group, message), failed)


def events_since(section_id: int, since: int) -> list[dict[str, Any]] | None:
    """Events after `since`, in order; None when too many were missed, or some of them are no
    longer stored (pruned): the client gets a snapshot instead."""
    rows = list(
        Event.objects.filter(section_id=section_id, seq__gt=since)
        .order_by("seq")
        .values_list("seq", "payload")[: RESYNC_LIMIT + 1]
    )
    if len(rows) > RESYNC_LIMIT:
        return None
    first_missed = rows[0][0] if rows else current_seq(section_id) + 1
    if first_missed != since + 1:
        return None
    return [payload for _seq, payload in rows]


def prune_events(now: dt.datetime | None = None) -> int:
    """Delete events older than EVENT_RETENTION_HOURS. They exist for clients catching up
    after a dropped connection; one that missed more gets a snapshot. Their payloads name
    patients, so they are not kept for longer than that."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.EVENT_RETENTION_HOURS)
    deleted, _ = Event.objects.filter(at__lt=cutoff).delete()
    return int(deleted)

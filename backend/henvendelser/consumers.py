"""`ws/queue/`: a section's live queue (DESIGN.md §8). Thin: authenticate, join the section's
group, send a snapshot, forward events, answer resync, relay presence."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from core import access, audit, realtime
from core.access import Action
from core.fanout import fanout
from core.ws import CLOSE_FORBIDDEN, CLOSE_GROUP_LOST, CLOSE_UNAUTHENTICATED, GuardedConsumer

from . import selectors
from .events import inquiry_rows
from .serializers import display_name

logger = logging.getLogger(__name__)

PRESENCE_STATES = {"viewing", "typing", "idle"}


@database_sync_to_async
def _allowed_section(user: Any, requested: str | None) -> int | None:
    return access.queue_section(user, requested)


@database_sync_to_async
def _snapshot(user: Any, section_id: int, ip: str | None) -> dict[str, Any]:
    # The seq is read before the rows: an event racing the snapshot then arrives with a higher
    # seq and is applied on top, never skipped.
    seq = realtime.current_seq(section_id)
    inquiries = selectors.open_queue(section_id=section_id)
    with audit.origin_as("ws", ip):
        audit.record_reads(
            user=user,
            action="queue.snapshot",
            objects=inquiries,
            patient_of=lambda i: i.patient_id,
            section_of=lambda i: i.section_id,
        )
    return {"type": "snapshot", "seq": seq, "inquiries": inquiry_rows(inquiries)}


@database_sync_to_async
def _current_seq(section_id: int) -> int:
    return realtime.current_seq(section_id)


@database_sync_to_async
def _events_since(user: Any, section_id: int, since: int, ip: str | None) -> list[Any] | None:
    events = realtime.events_since(section_id, since)
    if events:
        _audit_events(user, events, ip)
    return events


def _event_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["inquiry"] for e in events if isinstance(e.get("inquiry"), dict)]


def _audit_events(user: Any, events: list[dict[str, Any]], ip: str | None) -> None:
    rows = _event_rows(events)
    with audit.origin_as("ws", ip):
        audit.record_reads(
            user=user,
            action="queue.event",
            objects=[_Row(r) for r in rows],
            patient_of=lambda r: r.patient_id,
            section_of=lambda r: r.section_id,
        )


class _Row:
    """An event's inquiry row, dressed as an object for the audit log."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.pk = row.get("id")
        self.patient_id = row.get("patient")
        self.section_id = row.get("section")


class QueueConsumer(GuardedConsumer):
    """One screen on a section's queue. The section's group messages (events, notices,
    presence) reach it through the process's one relay for the group (core.fanout) into an
    outbox of its own, sent by a task of its own, one at a time and in order; the snapshot and
    a resync's events hold the same lock, so a live event never goes out between them."""

    action = Action.READ_QUEUE
    section_id: int
    group: str
    presence: dict[str, Any] | None = None
    _sender: asyncio.Task[None] | None = None
    _relayed = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # However the socket ends (a disconnect, a handler that raised, cancellation), it
        # leaves the relay: a socket left there would have its outbox filled for good.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._stop_relaying()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        section_id = await _allowed_section(user, (query.get("section") or [None])[0])
        if section_id is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.user = user
        self.ip = (self.scope.get("client") or [None])[0]
        self.section_id = section_id
        self.group = realtime.queue_group(section_id)
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sending = asyncio.Lock()
        async with self._sending:  # what arrives meanwhile waits for the snapshot
            # Join before the snapshot, so nothing committed in between is missed.
            await fanout.join(self.channel_layer, self.group, self)
            self._relayed = True
            self._sender = asyncio.get_running_loop().create_task(self._send_from_outbox())
            await self.accept()
            await self.start_guard()
            await self.send_json(await _snapshot(user, section_id, self.ip))
        await self.channel_layer.group_send(
            self.group, {"type": "presence.hello", "reply_to": self.channel_name}
        )

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "group"):
            return
        if self.presence is not None:
            self.presence = {**self.presence, "state": "gone"}
            await self._broadcast_presence()
        await self._stop_relaying()
        await self.stop_guard()
        await audit.pushed_reads.flush()

    async def _stop_relaying(self) -> None:
        if self._relayed:
            self._relayed = False
            await fanout.leave(self.channel_layer, self.group, self)
        if self._sender is not None:
            sender, self._sender = self._sender, None
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    # --- the group's messages, from the relay ---

    def deliver(self, message: dict[str, Any]) -> None:
        self._outbox.put_nowait(message)

    def relay_failed(self) -> None:
        # After what the relay handed on already: the page reconnects to a snapshot.
        self._outbox.put_nowait({"type": "relay.lost"})

    async def relay_lost(self, message: dict[str, Any]) -> None:
        await self.end(CLOSE_GROUP_LOST)

    async def _send_from_outbox(self) -> None:
        while True:
            message = await self._outbox.get()
            try:
                async with self._sending:
                    await self.dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A screen that silently stopped getting events would be the worst failure:
                # end it, and the page reconnects to a snapshot.
                logger.exception("sending %s to a queue socket failed", message.get("type"))
                with contextlib.suppress(Exception):  # the socket may be gone already
                    await self.end(CLOSE_GROUP_LOST)
                return

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "code": "malformed_frame"})
            return
        kind = content.get("type")
        if kind == "resync":
            await self._resync(content.get("since"))
        elif kind == "presence":
            await self._presence(content)
        elif kind == "ping":
            # Answered after what the outbox holds already: see queue_pong.
            self._outbox.put_nowait({"type": "queue.pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_type"})

    async def _resync(self, since: Any) -> None:
        if not isinstance(since, int) or since < 0:
            await self.send_json({"type": "error", "code": "invalid_since"})
            return
        async with self._sending:  # live events wait until the missed ones are sent
            events = await _events_since(self.user, self.section_id, since, self.ip)
            if events is None:
                await self.send_json(await _snapshot(self.user, self.section_id, self.ip))
                return
            for event in events:
                await self.send_json(event)

    async def _presence(self, content: dict[str, Any]) -> None:
        inquiry = content.get("inquiry")
        state = content.get("state")
        if state not in PRESENCE_STATES or not (inquiry is None or isinstance(inquiry, int)):
            await self.send_json({"type": "error", "code": "invalid_presence"})
            return
        self.presence = {
            "type": "presence",
            "user": {"id": self.user.pk, "name": display_name(self.user)},
            "inquiry": inquiry,
            "state": state,
            "connection": self.channel_name,
        }
        await self._broadcast_presence()

    async def _broadcast_presence(self) -> None:
        await self.channel_layer.group_send(
            self.group, {"type": "presence.update", "presence": self.presence}
        )

    # --- group messages ---

    async def queue_event(self, message: dict[str, Any]) -> None:
        rows = _event_rows([message["event"]])
        await self.push_event(
            message,
            action="queue.event",
            object_type="inquiry",
            rows=[(row.get("id"), row.get("patient"), row.get("section")) for row in rows],
        )

    async def queue_pong(self, message: dict[str, Any]) -> None:
        """The answer to a page's ping (every 25 s), naming the section's last seq: a page that
        has seen less missed a broadcast (one lost after its commit, say a worker killed before
        it sent it) and asks for a resync, rather than wait for the next event to show a gap.
        Without the database the pong names no seq: the socket stays, and so do its events."""
        try:
            seq = await _current_seq(self.section_id)
        except Exception:
            logger.warning("pong without seq: the section's seq could not be read", exc_info=True)
            await self.send_json({"type": "pong"})
            return
        await self.send_json({"type": "pong", "seq": seq})

    async def queue_notice(self, message: dict[str, Any]) -> None:
        """A notice without patient data (realtime.notify): the page fetches what it is about."""
        if await self.still_allowed():
            await self.send(text_data=message["text"])

    async def presence_update(self, message: dict[str, Any]) -> None:
        if not await self.still_allowed():
            return  # who is looking at what is for the section's staff only
        presence = message["presence"]
        if presence and presence.get("connection") != self.channel_name:
            await self.send_json(presence)

    async def presence_hello(self, message: dict[str, Any]) -> None:
        if self.presence is not None and message["reply_to"] != self.channel_name:
            await self.channel_layer.send(
                message["reply_to"], {"type": "presence.update", "presence": self.presence}
            )

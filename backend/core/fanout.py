"""One subscription per process to a busy group, handed on to the process's own sockets.

With the channel layer alone, every socket on a section's queue is a member of the section's
group: each event is copied into Redis once per open screen, and each Daphne process takes
every copy out again (a round trip and a decoding each) to give it to a socket it already
holds. Here the process joins the group once, through a relay channel of its own, and hands
each message to its sockets in memory: one copy per process per event, whatever the number of
screens. The messages are the channel layer's, in the order it delivers them, so each socket
still sees its group's messages in order; each socket keeps its own channel for what is sent
to it alone (presence replies, access changes).

When the layer fails under the relay (Redis away), the relay ends and closes its sockets: the
pages reconnect when the layer is back and start again from a snapshot, as when each socket
read the layer itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class Member(Protocol):
    def deliver(self, message: dict[str, Any]) -> None:
        """Take a group message (without waiting: the relay serves every member in turn)."""

    def relay_failed(self) -> None:
        """The relay could not read the group any more: end the socket."""


class _Relay:
    def __init__(self, layer: Any, group: str) -> None:
        self.layer = layer
        self.group = group
        self.members: set[Member] = set()
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.channel = ""
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            # The layer's default prefix, as the sockets' own channels have: channels_redis
            # reads all of a process's channels with that prefix in one loop, and a channel
            # with another would wait its turn (seconds) behind it.
            self.channel = await self.layer.new_channel()
            await self.layer.group_add(self.group, self.channel)
        except BaseException as error:
            self.joined.set_exception(error)
            self.joined.exception()  # retrieved: no warning when nobody else waits
            raise
        self.joined.set_result(None)
        self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                message = await self.layer.receive(self.channel)
                for member in list(self.members):
                    member.deliver(message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning(
                "reading %s failed; its sockets close and reconnect", self.group, exc_info=True
            )
            fanout.forget(self)
            for member in list(self.members):
                member.relay_failed()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        if self.channel:
            with contextlib.suppress(Exception):  # the layer may be away; the entry expires
                await self.layer.group_discard(self.group, self.channel)


class LocalFanout:
    """The relays of this process, per event loop (tests run each in a loop of its own)."""

    def __init__(self) -> None:
        self._relays: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[int, str], _Relay]
        ] = weakref.WeakKeyDictionary()

    def _here(self) -> dict[tuple[int, str], _Relay]:
        return self._relays.setdefault(asyncio.get_running_loop(), {})

    async def join(self, layer: Any, group: str, member: Member) -> None:
        """Make `member` a receiver of `group`'s messages. Returns once the process is in the
        group, so anything sent to the group after this is delivered."""
        relays = self._here()
        key = (id(layer), group)
        relay = relays.get(key)
        if relay is None or relay.layer is not layer:
            relay = relays[key] = _Relay(layer, group)
            relay.members.add(member)
            try:
                await relay.start()
            except BaseException:
                relay.members.discard(member)
                self.forget(relay)
                raise
            return
        relay.members.add(member)
        try:
            await asyncio.shield(relay.joined)
        except BaseException:
            relay.members.discard(member)
            raise

    async def leave(self, layer: Any, group: str, member: Member) -> None:
        relays = self._here()
        relay = relays.get((id(layer), group))
        if relay is None or member not in relay.members:
            return
        relay.members.discard(member)
        if not relay.members:
            self.forget(relay)
            await relay.stop()

    def forget(self, relay: _Relay) -> None:
        relays = self._here()
        key = (id(relay.layer), relay.group)
        if relays.get(key) is relay:
            del relays[key]

    def members(self, layer: Any, group: str) -> int:
        relay = self._here().get((id(layer), group))
        return len(relay.members) if relay is not None else 0


fanout = LocalFanout()

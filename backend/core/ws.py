"""Websocket authentication: the session cookie (browsers) or `Authorization: Token <key>`."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from . import audit, metrics
from .api import json_depth


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    from .auth import token_with_user

    token = token_with_user(key)
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1")
        if header.startswith("Token "):
            scope = dict(scope, user=await _user_for_token(header[6:].strip()), auth_by="token")
        elif "auth_by" not in scope:
            scope = dict(scope, auth_by="session")
        return await super().__call__(scope, receive, send)


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_key(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the default port filled in; None if it cannot be read."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return scheme, parts.hostname.lower(), port


def origin_allowed(origin: str, scope: dict[str, Any]) -> bool:
    """A browser's socket must come from our own pages: the Origin must be the socket's own
    origin (scheme, host and port, from the request) or one of the trusted origins
    (PUBLIC_BASE_URL and CSRF_TRUSTED_ORIGINS)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    given = _origin_key(parts.scheme, parts.netloc)
    if given is None:
        return False
    headers = dict(scope.get("headers") or [])
    own_scheme = "https" if scope.get("scheme") == "wss" else "http"
    allowed = {_origin_key(own_scheme, headers.get(b"host", b"").decode("latin-1"))}
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted_parts = urlsplit(trusted)
        allowed.add(_origin_key(trusted_parts.scheme, trusted_parts.netloc))
    return given in allowed


class SameOriginValidator:
    """Refuses a browser's websocket from any other origin (no cross-site socket hijacking),
    comparing scheme and port as well as host. Non-browser clients send no Origin and
    authenticate with a token header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope.get("type") == "websocket":
            origin = dict(scope.get("headers") or []).get(b"origin")
            if origin is not None and not origin_allowed(origin.decode("latin-1"), scope):
                return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)


def authenticated_websockets(inner: Any) -> Any:
    return SameOriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(inner)))


# A client frame is a small JSON object ({"type": "resync", "since": 41}); anything far larger
# or deeper is not one of ours.
MAX_FRAME_CHARS = 4096
MAX_FRAME_DEPTH = 8


class SafeJsonConsumer(AsyncJsonWebsocketConsumer):
    """A JSON consumer that answers a garbage, binary, oversized or deeply nested frame with
    an error frame ({"type": "error", "code": "malformed_frame"}) and stays open, instead of
    raising (a traceback and close code 1011)."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' own dispatch first hops to the one shared database thread to close stale
        connections, for every message to every socket: with 50 screens open, each event meant
        50 hops through that one thread, queued behind each other, and frames arrived seconds
        late. Our handlers reach the database only through `database_sync_to_async`, which
        closes stale connections itself, so the hop is skipped."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        content = _parse_frame(text_data)
        if content is None:
            await self.send_json({"type": "error", "code": "malformed_frame"})
            return
        await self.receive_json(content, **kwargs)


def _parse_frame(text: str | None) -> Any | None:
    if text is None or len(text) > MAX_FRAME_CHARS:
        return None
    try:
        content = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return content if json_depth(content, MAX_FRAME_DEPTH) <= MAX_FRAME_DEPTH else None


# --- Access that ends when it should ----------------------------------------------------------

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# The socket's group could no longer be read (core.fanout): the page reconnects to a snapshot.
CLOSE_GROUP_LOST = 1011

# How long an open socket trusts its last look at the user's access before looking again. A
# logout, a deactivation or a removed membership does not wait for it: they tell the user's
# sockets at once (access_changed), and the next event or client frame re-checks.
ACCESS_TTL_SECONDS = 5.0


def user_group(user_id: int) -> str:
    return f"access.user.{user_id}"


def _session_alive(key: str) -> bool:
    """The session is there and not past its expiry (sessions live in the database)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    return Session.objects.filter(session_key=key, expire_date__gt=timezone.now()).exists()


@database_sync_to_async
def _access_code(
    scope: dict[str, Any], user_id: int, action: Any, section_id: int | None
) -> int | None:
    """None while the socket's user may still do `action` (in `section_id`); else the close
    code: 4401 when the user or the session is gone, 4403 when the access is."""
    from django.contrib.auth import get_user_model

    from . import access

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return CLOSE_UNAUTHENTICATED
    if scope.get("auth_by") == "session":
        session = scope.get("session")
        key = getattr(session, "session_key", None)
        if session is None or not key or not _session_alive(key):
            return CLOSE_UNAUTHENTICATED  # logged out, or the session timed out
    return None if access.may(user, action, section_id) else CLOSE_FORBIDDEN


def event_text(message: dict[str, Any]) -> str:
    """A broadcast event as the publisher encoded it (core.realtime.broadcast); encoded here if
    it came from a process still running an older release, which sent the event alone."""
    return message.get("text") or json.dumps(message["event"])


class SharedAccessChecks:
    """The process's recent answers to "may this user still do this here?", shared by all the
    user's sockets. Each socket used to look at the database itself every ACCESS_TTL_SECONDS:
    fifty screens opened together all looked at once, through the one thread the database calls
    of sockets run in, and held their frames back meanwhile. Now one look per user, session,
    action and section serves every socket that asks within the TTL; sockets asking while it is
    under way wait for that same look. A forced check (access changed) always looks anew."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._answers: dict[tuple[Any, ...], tuple[float, int | None]] = {}
        self._pending: dict[tuple[Any, ...], asyncio.Future[int | None]] = {}

    @staticmethod
    def _key(scope: dict[str, Any], user_id: int, action: Any, section_id: int | None) -> tuple:
        session_key = getattr(scope.get("session"), "session_key", None)
        return (user_id, scope.get("auth_by"), session_key, str(action), section_id)

    async def code(
        self,
        scope: dict[str, Any],
        user_id: int,
        action: Any,
        section_id: int | None,
        force: bool = False,
    ) -> int | None:
        key = self._key(scope, user_id, action, section_id)
        if not force:
            answer = self._answers.get(key)
            if answer is not None and time.monotonic() - answer[0] < ACCESS_TTL_SECONDS:
                return answer[1]
            pending = self._pending.get(key)
            if pending is not None:
                return await asyncio.shield(pending)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            code = await _access_code(scope, user_id, action, section_id)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]
        if len(self._answers) >= self.MAX_ENTRIES:
            self._answers.clear()
        self._answers[key] = (time.monotonic(), code)
        future.set_result(code)
        return code


access_checks = SharedAccessChecks()


class GuardedConsumer(SafeJsonConsumer):
    """A socket whose access is checked again, cheaply, before every event it is sent and every
    frame it answers; when access has ended it closes with 4401 or 4403 and sends nothing more."""

    action: Any  # the core.access.Action the socket exists for
    section_id: int | None = None
    ip: str | None = None
    _checked_at = 0.0
    _ended = False

    async def start_guard(self) -> None:
        """After accept: join the user's group (to hear when access ends); count the socket."""
        self._checked_at = time.monotonic()
        metrics.socket_opened()
        await self.channel_layer.group_add(user_group(self.scope["user"].pk), self.channel_name)

    async def stop_guard(self) -> None:
        metrics.socket_closed()
        user = self.scope.get("user")
        if user is not None and getattr(user, "pk", None) is not None:
            await self.channel_layer.group_discard(user_group(user.pk), self.channel_name)

    async def still_allowed(self, force: bool = False) -> bool:
        if self._ended:
            return False
        now = time.monotonic()
        if not force and now - self._checked_at < ACCESS_TTL_SECONDS:
            return True
        code = await access_checks.code(
            self.scope, self.scope["user"].pk, self.action, self.section_id, force=force
        )
        if code is not None:
            await self.end(code)
            return False
        self._checked_at = now
        return True

    async def end(self, code: int) -> None:
        """Send nothing more, and close with `code`."""
        self._ended = True
        await self.close(code=code)

    async def push_event(
        self,
        message: dict[str, Any],
        *,
        action: str,
        object_type: str,
        rows: list[tuple[Any, int | None, int | None]],
    ) -> None:
        """Send a broadcast event on, if the user may still see it: noted for the audit log
        (written within a second, core.audit.PushedReads), then sent as the publisher encoded
        it, with no database write and no JSON encoding per frame per socket. `rows` are the
        (object id, patient id, section id) the event shows."""
        if not await self.still_allowed():
            return
        audit.pushed_reads.note(
            user=self.scope["user"], action=action, object_type=object_type, ip=self.ip, rows=rows
        )
        await self.send(text_data=event_text(message))

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if await self.still_allowed():
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)

    async def access_changed(self, message: dict[str, Any]) -> None:
        """Told by core.signals: a logout ends the socket; anything else is checked now."""
        if message.get("code") == CLOSE_UNAUTHENTICATED:
            await self.end(CLOSE_UNAUTHENTICATED)
            return
        await self.still_allowed(force=True)

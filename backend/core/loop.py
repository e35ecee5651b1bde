"""Connections for code that runs on Daphne's event loop itself rather than in a request's
thread: the SMS webhook (henvendelser/ingress.py).

A Django view runs in a thread, and every round trip it makes to PostgreSQL or Redis hands
the interpreter back and forth between that thread and the event loop, which under load is
busy with other requests (docs/benchmarks.md). Code on the loop awaits its round trips instead.

- PostgreSQL: psycopg's async pool, connected with the settings Django's backend uses (the same
  adapters, so a row read here converts as the ORM converts it). Autocommit: each statement
  commits on its own. No round trip to check a connection before it is handed out; a statement
  that finds its connection broken (the server restarted) is run once more, after the pool has
  looked at its idle connections. So only a statement that may safely run twice is run here
  (`fetch_one`).
- Redis: redis-py's asyncio client (None without REDIS_URL).

One set per event loop (Daphne has one; tests start a loop per call); `close()` ends the
current loop's. On PostgreSQL only: elsewhere nothing here is used.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import Any

import psycopg
import redis.asyncio as aredis
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg_pool import AsyncConnectionPool, PoolTimeout

# Connections each Daphne process keeps for the loop, beside Django's own (DB_POOL_MAX_SIZE):
# one statement of well under a millisecond each, so a few serve hundreds a second.
POOL_MAX_SIZE = 4
# How long a statement waits for a connection. A database that does not answer becomes a 5xx
# (Twilio retries) well inside the 15 s Twilio waits for an answer.
POOL_WAIT_SECONDS = 3.0
# How the loop's sessions are named in pg_stat_activity (unless the settings name them).
APPLICATION_NAME = "kontaktpunkt-loop"


@functools.cache
def backend() -> BaseDatabaseWrapper:
    """Django's backend for the database, never connected: how values are made ready for it
    and its rows converted (core.sql's `on`). Django's own connection is one per task on the
    loop, so every request would build one."""
    return connections.create_connection("default")


class _Connections:
    def __init__(self) -> None:
        params = backend().get_connection_params()
        params.pop("cursor_factory", None)  # Django's are synchronous cursors
        self.pool = AsyncConnectionPool(
            kwargs={"application_name": APPLICATION_NAME, **params, "autocommit": True},
            min_size=1,
            max_size=POOL_MAX_SIZE,
            timeout=POOL_WAIT_SECONDS,
            open=False,
            name="loop",
        )
        self.opened = False
        self.redis = (
            aredis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
            if settings.REDIS_URL
            else None
        )

    async def pool_open(self) -> AsyncConnectionPool:
        if not self.opened:
            self.opened = True
            await self.pool.open()
        return self.pool


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connections] = (
    weakref.WeakKeyDictionary()
)


def _connections() -> _Connections:
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        found = _by_loop[loop] = _Connections()
    return found


async def fetch_one(statement: str, params: list[Any]) -> tuple[Any, ...] | None:
    """Run one statement (one that may safely run twice) and return its first row."""
    pool = await _connections().pool_open()
    try:
        return await _fetch_one(pool, statement, params)
    except PoolTimeout:
        raise
    except psycopg.OperationalError:
        # The pool drops a connection that comes back broken. The others may be broken too
        # (the server restarted): looked at (a round trip each) before the one more try.
        await pool.check()
    return await _fetch_one(pool, statement, params)


async def _fetch_one(
    pool: AsyncConnectionPool, statement: str, params: list[Any]
) -> tuple[Any, ...] | None:
    async with pool.connection() as conn:
        cursor = await conn.execute(statement, params)
        return await cursor.fetchone()


def redis() -> aredis.Redis | None:
    return _connections().redis


async def close() -> None:
    """End this loop's connections (a test's loop, before it closes)."""
    found = _by_loop.pop(asyncio.get_running_loop(), None)
    if found is None:
        return
    if found.opened:
        await found.pool.close()
    if found.redis is not None:
        await found.redis.aclose()

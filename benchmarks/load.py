"""A small HTTP load generator on aiohttp: closed loop (N connections, each sending as soon as
its last answer came) and open loop (a fixed rate, latency counted from when each request was
due, so a slow server cannot hide its queue). It runs on the same two cores as the server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from benchmarks.harness import percentile

Request = tuple[str, str, bytes | None, dict[str, str]]  # method, url, body, headers


@dataclass
class Stats:
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return len(self.latencies_ms)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.done,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "seconds": round(self.seconds, 2),
            "per_second": round(self.done / self.seconds, 1) if self.seconds else 0,
            "p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "p99_ms": round(percentile(self.latencies_ms, 99), 1),
        }


async def _send(
    session: aiohttp.ClientSession,
    request: Request,
    stats: Stats,
    t0: float,
    expect: frozenset[int] | None = None,
) -> None:
    """One request; its latency counts when the answer is a success (or one of `expect`)."""
    method, url, body, headers = request
    try:
        async with session.request(method, url, data=body, headers=headers) as response:
            await response.read()
            stats.statuses[response.status] = stats.statuses.get(response.status, 0) + 1
            wanted = response.status in expect if expect else response.status < 400
            if not wanted:
                stats.errors += 1
                return
    except aiohttp.ClientError:
        stats.errors += 1
        return
    stats.latencies_ms.append((time.perf_counter() - t0) * 1000)


async def closed_loop(
    make: Callable[[int], Request],
    *,
    connections: int = 8,
    seconds: float = 10.0,
    start: int = 0,
    expect: frozenset[int] | None = None,
) -> Stats:
    """`connections` clients, each sending the next request as soon as the last was answered."""
    counter = iter(range(start, start + 10_000_000))
    connector = aiohttp.TCPConnector(limit=connections)
    stats = Stats(seconds=seconds)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < deadline:
                await _send(session, make(next(counter)), stats, time.perf_counter(), expect)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        stats.seconds = time.perf_counter() - began
    return stats


async def open_loop(
    make: Callable[[int], Request], *, rate: float, seconds: float, start: int = 0
) -> Stats:
    """Requests due at a fixed `rate`, whether or not earlier ones were answered."""
    total = int(rate * seconds)
    connector = aiohttp.TCPConnector(limit=256)
    stats = Stats(seconds=seconds)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        tasks = []
        for i in range(total):
            due = began + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(session, make(start + i), stats, due)))
        await asyncio.gather(*tasks)
        stats.seconds = time.perf_counter() - began
    return stats

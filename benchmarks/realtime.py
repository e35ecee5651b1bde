"""Realtime: 50 queue screens (websocket clients) on one section; signed SMS webhooks arrive at a
steady rate, each starting an inquiry; every screen must get every `inquiry.created` frame.
Latency per frame per screen, from the server's receipt of the webhook (the inquiry's
`created_at`, stamped as the request came in) and from the client sending it. The screens are
spread over the Daphne processes (BENCH_SERVERS), as a load balancer would spread them. The
webhook stores each text; a Celery worker puts it on its inquiry and publishes the frame, so
the latency from receipt includes the inbox.

The measured phase follows a warm-up of BENCH_RT_WARM seconds at the same rate, as the other
benchmarks warm up: the first texts after a worker starts meet its first database and broker
connections and first statements. The warm-up's frames are reported on their own
(`warm_up_from_receipt_ms`), not left out of sight."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import time
from typing import Any

import websockets

from benchmarks import harness, load

CLIENTS = int(os.environ.get("BENCH_RT_CLIENTS", "50"))
RATE = float(os.environ.get("BENCH_RT_RATE", "50"))
SECONDS = float(os.environ.get("BENCH_RT_SECONDS", "10"))
QUIET = float(os.environ.get("BENCH_RT_QUIET", "15"))
WARM = float(os.environ.get("BENCH_RT_WARM", "2"))
# Texts of the warm-up are numbered from here; the measured ones from 0.
WARM_START = 10_000_000


def world() -> tuple[str, str]:
    from rest_framework.authtoken.models import Token

    from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(role="coordinator", sections=[section])
    return str(section.phone_number), Token.objects.create(user=coordinator).key


async def screen(
    url: str, token: str, got: list[tuple[int, float, float]], doubled: list[int], ready: Any
) -> None:
    """One queue screen: notes each text's frame once (when it came), and counts any frame a
    screen is sent twice."""
    seen: set[int] = set()
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Token {token}"}, max_size=2**24
    ) as socket:
        snapshot = json.loads(await socket.recv())
        assert snapshot["type"] == "snapshot"
        ready()
        async for frame in socket:
            wall = time.time()
            event = json.loads(frame)
            if event.get("type") != "inquiry.created":
                continue
            row = event["inquiry"]
            n = int(row["summary"].split()[-1])
            if n in seen:
                doubled.append(n)
                continue
            seen.add(n)
            received = dt.datetime.fromisoformat(row["created_at"]).timestamp()
            got.append((n, wall, received))


async def measure(bases: list[str], to: str, token: str) -> dict[str, Any]:
    got: list[tuple[int, float, float]] = []
    doubled: list[int] = []
    connected = 0
    all_ready = asyncio.Event()

    def ready() -> None:
        nonlocal connected
        connected += 1
        if connected == CLIENTS:
            all_ready.set()

    ws_bases = itertools.cycle([b.replace("http", "ws") + "/ws/queue/" for b in bases])
    screens = [
        asyncio.create_task(screen(next(ws_bases), token, got, doubled, ready))
        for _ in range(CLIENTS)
    ]
    await asyncio.wait_for(all_ready.wait(), 60)

    sent_at: dict[int, float] = {}
    http_bases = itertools.cycle(bases)

    def webhook(n: int) -> load.Request:
        sent_at[n] = time.time()
        # Each text from a number of its own (a new inquiry, an `inquiry.created` frame); the
        # warm-up's numbers are not among the measured ones.
        sender = f"+4798{n - WARM_START:06d}" if n >= WARM_START else None
        url, body, headers = harness.signed_sms(
            next(http_bases), n, to, f"Feber 38,5 etter kur {n}", sender=sender
        )
        return ("POST", url, body, headers)

    def of_warm_up(frame: tuple[int, float, float]) -> bool:
        return frame[0] >= WARM_START

    async def frames_in(expected: int, warm_up: bool) -> None:
        deadline = time.monotonic() + QUIET
        while (
            sum(of_warm_up(frame) == warm_up for frame in got) < expected
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.1)

    warm = await load.open_loop(webhook, rate=RATE, seconds=WARM, start=WARM_START)
    await frames_in(warm.done * CLIENTS, warm_up=True)
    webhooks = await load.open_loop(webhook, rate=RATE, seconds=SECONDS)
    expected = webhooks.done * CLIENTS
    await frames_in(expected, warm_up=False)
    for task in screens:
        task.cancel()
    await asyncio.gather(*screens, return_exceptions=True)
    # A warm-up frame late enough to come during the measured phase stays with the warm-up.
    warm_frames = [frame for frame in got if of_warm_up(frame)]
    got[:] = [frame for frame in got if not of_warm_up(frame)]

    from_receipt = [(wall - received) * 1000 for _n, wall, received in got]
    from_send = [(wall - sent_at[n]) * 1000 for n, wall, _received in got if n in sent_at]
    # Where the time went: until the worker stored the event (the inbox and the drain, up to
    # just before its commit), and from there to the screen (commit, channel layer, Daphne,
    # the client). Event.at is stamped when the event is stored.
    stored = await _stored_at()
    until_stored = [(stored[n] - received) * 1000 for n, _w, received in got if n in stored]
    to_screen = [(wall - stored[n]) * 1000 for n, wall, _received in got if n in stored]
    return {
        "clients": CLIENTS,
        "rate_per_second": RATE,
        "seconds": SECONDS,
        "webhooks": webhooks.as_dict(),
        "frames_expected": expected,
        "frames_delivered": len(got),
        "duplicates": len(doubled),
        "from_receipt_ms": _spread(from_receipt),
        "from_send_ms": _spread(from_send),
        "receipt_to_stored_ms": _spread(until_stored),
        "stored_to_frame_ms": _spread(to_screen),
        "warm_up_seconds": WARM,
        "warm_up_frames": f"{len(warm_frames)}/{warm.done * CLIENTS}",
        "warm_up_from_receipt_ms": _spread([(w - r) * 1000 for _n, w, r in warm_frames]),
    }


async def _stored_at() -> dict[int, float]:
    from asgiref.sync import sync_to_async

    from core.models import Event

    def read() -> dict[int, float]:
        rows = Event.objects.filter(type="inquiry.created").values_list("payload", "at")
        return {int(p["inquiry"]["summary"].split()[-1]): at.timestamp() for p, at in rows}

    return await sync_to_async(read)()


def _spread(samples: list[float]) -> dict[str, float]:
    return {
        "p50": round(harness.percentile(samples, 50), 1),
        "p99": round(harness.percentile(samples, 99), 1),
        "max": round(max(samples), 1) if samples else float("nan"),
    }


def run(servers: int = 1) -> dict[str, Any]:
    harness.fresh_database()
    harness.setup_django()
    to, token = world()
    daphnes = [harness.Daphne().start() for _ in range(servers)]
    worker = harness.Worker().start()
    try:
        result = asyncio.run(measure([d.base_url for d in daphnes], to, token))
    finally:
        worker.stop()
        for daphne in daphnes:
            daphne.stop()
    receipt, send = result["from_receipt_ms"], result["from_send_ms"]
    summary = (
        f"{servers} Daphne, {CLIENTS} screens, {RATE:.0f} texts/s for {SECONDS:.0f} s: "
        f"{result['frames_delivered']}/{result['frames_expected']} frames, "
        f"{result['duplicates']} twice; webhook receipt -> "
        f"frame p50 {receipt['p50']:.0f} ms, p99 {receipt['p99']:.0f} ms (target < 50 ms); "
        f"from the client's send p99 {send['p99']:.0f} ms; receipt -> stored by the worker "
        f"p50 {result['receipt_to_stored_ms']['p50']:.0f} / p99 "
        f"{result['receipt_to_stored_ms']['p99']:.0f} ms, stored -> frame p50 "
        f"{result['stored_to_frame_ms']['p50']:.0f} / "
        f"p99 {result['stored_to_frame_ms']['p99']:.0f} ms; after a warm-up of {WARM:.0f} s "
        f"(its frames: p99 {result['warm_up_from_receipt_ms']['p99']:.0f} ms, max "
        f"{result['warm_up_from_receipt_ms']['max']:.0f} ms)"
    )
    return harness.report(
        f"realtime-{servers}", summary, {"servers": servers, **result, "machine": harness.machine()}
    )


if __name__ == "__main__":
    run(int(os.environ.get("BENCH_SERVERS", "1")))

"""Ingest: signed inbound-SMS webhooks against Daphne on PostgreSQL and Redis, each from a new
number (a new inquiry each: the heavier path), beside a no-op Django view on the same server
as the ceiling. Closed loop with 8 connections for throughput, then open loop at increasing
rates for latency. BENCH_SERVERS=2 runs two Daphne processes, the client alternating. A Celery
worker puts the stored texts on inquiries (the inbox); after each phase the benchmark waits
until it has, and reports the end-to-end rate beside the webhooks' own."""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import Any

from benchmarks import harness, load

RATES = [int(r) for r in os.environ.get("BENCH_INGEST_RATES", "50,100,200,300").split(",")]
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
STEP_SECONDS = float(os.environ.get("BENCH_STEP_SECONDS", "6"))


def section_phone() -> str:
    from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    UserFactory(role="coordinator", sections=[section])
    return str(section.phone_number)


def run(servers: int = 1) -> dict[str, Any]:
    harness.fresh_database()
    harness.setup_django()
    to = section_phone()
    daphnes = [harness.Daphne().start() for _ in range(servers)]
    worker = harness.Worker().start()
    bases = itertools.cycle([d.base_url for d in daphnes])
    try:

        def noop(n: int) -> load.Request:
            return ("GET", next(bases) + "/bench/noop", None, {})

        def webhook(n: int) -> load.Request:
            url, body, headers = harness.signed_sms(next(bases), n, to, "Feber 38,5 etter kur")
            return ("POST", url, body, headers)

        async def drained() -> float:
            return await asyncio.to_thread(harness.wait_for_inbox)

        async def measure() -> dict[str, Any]:
            await load.closed_loop(noop, seconds=2)  # warm up: imports, connections
            warm = await load.closed_loop(webhook, seconds=2, start=9_000_000)
            await drained()
            ceiling = await load.closed_loop(noop, seconds=SECONDS)
            ingest = await load.closed_loop(webhook, seconds=SECONDS, start=0)
            # The webhook answers once the text is stored; the worker puts it on its inquiry.
            # End to end counts until the last text of the phase is on an inquiry.
            lag = await drained()
            taken = ingest.as_dict()["statuses"].get("200", 0)
            end_to_end = taken / (ingest.seconds + lag)
            steps = []
            start = 1_000_000
            for rate in RATES:
                stats = await load.open_loop(webhook, rate=rate, seconds=STEP_SECONDS, start=start)
                start += 1_000_000
                step_lag = await drained()
                steps.append(
                    {
                        "offered_per_second": rate,
                        **stats.as_dict(),
                        "inbox_drained_after_s": round(step_lag, 2),
                    }
                )
            return {
                "end_to_end_per_second": round(end_to_end, 1),
                "inbox_drained_after_s": round(lag, 2),
                "warm_up": warm.as_dict(),
                "ceiling": ceiling.as_dict(),
                "ingest": ingest.as_dict(),
                "steps": steps,
            }

        result = asyncio.run(measure())
    finally:
        worker.stop()
        for daphne in daphnes:
            daphne.stop()
    from henvendelser.models import Inquiry

    stored = Inquiry.objects.count()
    phases = [result["warm_up"], result["ingest"], *result["steps"]]
    sent = sum(phase["statuses"].get("200", 0) for phase in phases)
    ratio = result["ingest"]["per_second"] / result["ceiling"]["per_second"]
    sustained = max(
        (
            s["offered_per_second"]
            for s in result["steps"]
            if s["errors"] == 0
            and s["per_second"] >= 0.95 * s["offered_per_second"]
            and s["p99_ms"] < 500
            and s["inbox_drained_after_s"] < 2
        ),
        default=0,
    )
    summary = (
        f"{servers} Daphne: webhooks {result['ingest']['per_second']:.0f}/s "
        f"(p50 {result['ingest']['p50_ms']:.0f} ms, p99 {result['ingest']['p99_ms']:.0f} ms) vs "
        f"no-op ceiling {result['ceiling']['per_second']:.0f}/s = {ratio:.2f}x (target 0.5x); "
        f"on inquiries end to end {result['end_to_end_per_second']:.0f}/s "
        f"(inbox empty {result['inbox_drained_after_s']:.1f} s after the last webhook); "
        f"highest open-loop step held (of {'/'.join(map(str, RATES))} a second) with p99 < "
        f"500 ms: {sustained}/s"
    )
    return harness.report(
        f"ingest-{servers}",
        summary,
        {
            "servers": servers,
            "ratio": round(ratio, 2),
            "sustained_per_second": sustained,
            "end_to_end_per_second": result["end_to_end_per_second"],
            # Every webhook answered 200 stored its own inquiry: the two must be equal.
            "inquiries_stored": stored,
            "webhooks_answered_200": sent,
            **result,
            "machine": harness.machine(),
        },
    )


if __name__ == "__main__":
    run(int(os.environ.get("BENCH_SERVERS", "1")))

"""Flood: what a burst of junk costs the server. Closed loop, 8 connections, against one Daphne:
the no-op view (the ceiling), Twilio's SMS webhook with a wrong signature (must be 403), and
with a 1 MB body (must be refused before it is parsed); then a signed text must still be taken
at once. Nothing may be stored by the junk."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from benchmarks import harness, load

SECONDS = float(os.environ.get("BENCH_FLOOD_SECONDS", "8"))
BIG = 1024 * 1024


def run() -> dict[str, Any]:
    harness.fresh_database()
    harness.setup_django()
    from tests.factories import ALWAYS_OPEN, SectionFactory

    to = str(SectionFactory(opening_hours=ALWAYS_OPEN).phone_number)
    daphne = harness.Daphne().start()
    base = daphne.base_url
    try:

        def noop(n: int) -> load.Request:
            return ("GET", base + "/bench/noop", None, {})

        def forged(n: int) -> load.Request:
            url, body, headers = harness.signed_sms(base, n, to, "Feber")
            return ("POST", url, body, {**headers, "X-Twilio-Signature": "Zm9yZ2Vk" * 3 + "AA=="})

        def oversized(n: int) -> load.Request:
            url, body, headers = harness.signed_sms(base, n, to, "x" * BIG)
            return ("POST", url, body, headers)

        async def measure() -> dict[str, Any]:
            await load.closed_loop(noop, seconds=2)
            ceiling = await load.closed_loop(noop, seconds=SECONDS)
            bad_signature = await load.closed_loop(forged, seconds=SECONDS, expect=frozenset({403}))
            too_big = await load.closed_loop(
                oversized, seconds=SECONDS, start=5_000_000, expect=frozenset({400, 413})
            )
            url, body, headers = harness.signed_sms(base, 9_999_999, to, "Etter flommen")
            after = await load.closed_loop(
                lambda n: ("POST", url, body, headers), connections=1, seconds=0.2
            )
            return {
                "ceiling": ceiling.as_dict(),
                "bad_signature": bad_signature.as_dict(),
                "oversized_1mb": too_big.as_dict(),
                "good_text_after": after.as_dict(),
            }

        result = asyncio.run(measure())
    finally:
        daphne.stop()
    from henvendelser.models import Inquiry

    result["inquiries_stored"] = Inquiry.objects.count()  # the one good text only
    ceiling = result["ceiling"]["per_second"]
    bad, big = result["bad_signature"], result["oversized_1mb"]
    summary = (
        f"forged signatures refused at {bad['per_second']:.0f}/s "
        f"({bad['per_second'] / ceiling:.2f}x the no-op's {ceiling:.0f}/s, "
        f"p99 {bad['p99_ms']:.0f} ms), "
        f"1 MB bodies refused at {big['per_second']:.0f}/s (p99 {big['p99_ms']:.0f} ms); "
        f"statuses {bad['statuses']} / {big['statuses']}; "
        f"inquiries stored: {result['inquiries_stored']} (only the good text after)"
    )
    return harness.report("flood", summary, {**result, "machine": harness.machine()})


if __name__ == "__main__":
    run()

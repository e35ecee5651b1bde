"""Queue read: `GET /api/inquiries/?open=true` as a coordinator, 50 open inquiries in a section
whose closed history grows from 10,000 to 1,000,000 (written with COPY). Latency through Daphne
(one client, one request at a time: the query's own cost), and the SQL statements per request
counted in-process. Neither may grow with the closed history."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from collections.abc import Iterator
from typing import Any

from benchmarks import harness, load

OPEN = 50
HISTORIES = [int(n) for n in os.environ.get("BENCH_HISTORY", "10000,1000000").split(",")]
SECONDS = float(os.environ.get("BENCH_QUEUE_SECONDS", "8"))


def world() -> tuple[Any, Any, str]:
    from rest_framework.authtoken.models import Token

    from henvendelser import services
    from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    coordinator = UserFactory(role="coordinator", sections=[section])
    for n in range(OPEN):
        services.receive_sms(
            message_sid=f"SM{n:032x}",
            from_phone=f"+4790{n:06d}",
            to_phone=section.phone_number,
            body=f"Spørsmål om time {n}",
        )
    return section, coordinator, Token.objects.create(user=coordinator).key


def add_history(section_id: int, have: int, want: int) -> float:
    """Closed inquiries, one a minute back in time, with COPY. Returns seconds."""
    started = time.perf_counter()
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

    def lines() -> Iterator[str]:
        for n in range(have, want):
            created = (start + dt.timedelta(minutes=n)).isoformat()
            yield (
                f"{section_id}\tclosed\tsms\t+4798{n % 1_000_000:06d}\t\tunknown\t"
                f"Gammel henvendelse {n}\tpractical\tgreen\tf\t[]\tf\t{created}\t{created}\t"
                f"{created}\tBesvart\n"
            )

    harness.copy_rows(
        "henvendelser_inquiry",
        "section_id, status, channel, caller_phone, caller_name, identification, summary, "
        "category, grade, alarm, alarm_terms, needs_callback, created_at, updated_at, "
        "closed_at, resolution",
        lines(),
    )
    return time.perf_counter() - started


def count_queries(token: str) -> tuple[int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/inquiries/?open=true")
    assert response.status_code == 200, response.content[:300]
    return len(queries.captured_queries), len(response.json()["results"])


def run() -> dict[str, Any]:
    harness.fresh_database()
    harness.setup_django()
    section, _coordinator, token = world()
    daphne = harness.Daphne().start()
    rows = []
    have = 0
    try:
        for history in HISTORIES:
            loaded = add_history(section.pk, have, history)
            have = history
            queries, shown = count_queries(token)

            def read(_n: int) -> load.Request:
                return (
                    "GET",
                    daphne.base_url + "/api/inquiries/?open=true",
                    None,
                    {"Authorization": f"Token {token}"},
                )

            asyncio.run(load.closed_loop(read, connections=1, seconds=1))  # warm up
            stats = asyncio.run(load.closed_loop(read, connections=1, seconds=SECONDS))
            rows.append(
                {
                    "closed_history": history,
                    "open": OPEN,
                    "rows_returned": shown,
                    "sql_queries_per_request": queries,
                    "load_seconds": round(loaded, 1),
                    **stats.as_dict(),
                }
            )
    finally:
        daphne.stop()
    last = rows[-1]
    summary = (
        "; ".join(
            f"{r['closed_history']:,} closed: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
            f"{r['sql_queries_per_request']} queries"
            for r in rows
        )
        + f" (target p99 < 25 ms at {last['closed_history']:,})"
    )
    return harness.report("queue-read", summary, {"steps": rows, "machine": harness.machine()})


if __name__ == "__main__":
    run()

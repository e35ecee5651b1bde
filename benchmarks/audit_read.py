"""Audit read: the lead's `GET /api/audit/?patient=` ("who has seen this child's record") in a
section whose audit log grows from 10,000 to 1,000,000 records (written with COPY): list reads
naming 20 patients each (a queue page, a snapshot) and single reads naming one. Two patients
asked for: one seen often (in about 1 % of the records) and one seen rarely (40 records spread
over the whole history). Latency through Daphne, one request at a time; it must not grow with
the log."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import time
from collections.abc import Iterator
from typing import Any

from benchmarks import harness, load

HISTORIES = [int(n) for n in os.environ.get("BENCH_AUDIT_HISTORY", "10000,1000000").split(",")]
SECONDS = float(os.environ.get("BENCH_AUDIT_SECONDS", "5"))
PATIENTS = 2000
OFTEN, RARELY = 7, PATIENTS + 1  # the two patients asked for
RARE_RECORDS = 40


def world() -> tuple[int, str]:
    from rest_framework.authtoken.models import Token

    from tests.factories import SectionFactory, UserFactory

    section = SectionFactory()
    lead = UserFactory(role="lead", sections=[section])
    return section.pk, Token.objects.create(user=lead).key


def add_history(section_id: int, have: int, want: int) -> float:
    """Audit records, one a second back from now, with COPY. Returns seconds."""
    started = time.perf_counter()
    rng = random.Random(have)
    newest = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    rare_every = max(1, want // RARE_RECORDS)

    def lines() -> Iterator[str]:
        for n in range(have, want):
            at = (newest - dt.timedelta(seconds=n)).isoformat()
            if n % 3:  # two in three: a list read naming 20 patients
                shown = set(rng.sample(range(1, PATIENTS + 1), 20))
                if n % rare_every == 0:
                    shown.add(RARELY)
                patients = "," + ",".join(map(str, sorted(shown))) + ","
                patient, kind, obj = r"\N", "queue.snapshot", ""
            else:
                patient_id = RARELY if n % rare_every == 0 else rng.randint(1, PATIENTS)
                patients, patient, kind, obj = "", str(patient_id), "inquiry.read", str(n)
            yield (
                f"{at}\tkoordinator\t{kind}\tinquiry\t{obj}\t{patient}\t{patients}\t"
                f"{section_id}\tws\t{{}}\n"
            )

    harness.copy_rows(
        "core_auditevent",
        "at, username, action, object_type, object_id, patient_id, patients, section_id, "
        "channel, detail",
        lines(),
        vacuum=True,  # as autovacuum leaves a live log
    )
    return time.perf_counter() - started


def count_queries(token: str, patient: int) -> tuple[int, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/audit/?patient={patient}")
    assert response.status_code == 200, response.content[:300]
    return len(queries.captured_queries), response.json()["count"]


def run() -> dict[str, Any]:
    harness.fresh_database()
    harness.setup_django()
    section_id, token = world()
    daphne = harness.Daphne().start()
    rows = []
    have = 0
    try:
        for history in HISTORIES:
            loaded = add_history(section_id, have, history)
            have = history
            for who, patient in (("often", OFTEN), ("rarely", RARELY)):
                queries, found = count_queries(token, patient)

                def read(_n: int, patient: int = patient) -> load.Request:
                    url = f"{daphne.base_url}/api/audit/?patient={patient}"
                    return ("GET", url, None, {"Authorization": f"Token {token}"})

                asyncio.run(load.closed_loop(read, connections=1, seconds=1))  # warm up
                stats = asyncio.run(load.closed_loop(read, connections=1, seconds=SECONDS))
                rows.append(
                    {
                        "audit_records": history,
                        "patient": who,
                        "records_naming_the_patient": found,
                        "sql_queries_per_request": queries,
                        "load_seconds": round(loaded, 1),
                        **stats.as_dict(),
                    }
                )
    finally:
        daphne.stop()
    summary = "; ".join(
        f"{r['audit_records']:,} records, patient seen {r['patient']} "
        f"({r['records_naming_the_patient']:,}): p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
        for r in rows
    )
    return harness.report("audit-read", summary, {"steps": rows, "machine": harness.machine()})


if __name__ == "__main__":
    run()

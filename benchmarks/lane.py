"""One section's lane: BENCH_LANE_THREADS threads (8) logging calls by hand in one section at
the same time, in-process on PostgreSQL, for BENCH_SECONDS (6) after a second of warm-up;
creates a second, in all. Every writer of a section waits for the one before it wherever the
section's row is locked, so this measures how long a create holds the lock as much as what it
costs: no server, no network, the threads sharing one process as a Daphne's requests do."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from benchmarks import harness

THREADS = int(os.environ.get("BENCH_LANE_THREADS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))


def creates_a_second(section_id: int, user: Any, seconds: float, first_number: int) -> float:
    from django.db import connections

    from henvendelser.services import log_inquiry

    made = [0] * THREADS
    barrier = threading.Barrier(THREADS + 1)
    stop = [0.0]

    def work(index: int) -> None:
        barrier.wait()
        number = first_number + index * 1_000_000
        try:
            while time.monotonic() < stop[0]:
                log_inquiry(
                    by=user, channel="phone", section_id=section_id, caller_phone=f"+47{number}"
                )
                number += 1
                made[index] += 1
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    stop[0] = time.monotonic() + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    return sum(made) / seconds


def run() -> dict[str, Any]:
    harness.fresh_database()
    harness.setup_django()
    from django.db import connection

    from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

    section = SectionFactory(opening_hours=ALWAYS_OPEN)
    user = UserFactory(role="coordinator", sections=[section])
    connection.close()
    creates_a_second(section.pk, user, 1.0, first_number=10_000_000)  # warm-up
    rate = creates_a_second(section.pk, user, SECONDS, first_number=20_000_000)
    summary = (
        f"{THREADS} threads logging calls in one section, in-process: {rate:.0f} creates a "
        f"second over {SECONDS:.0f} s"
    )
    data = {"threads": THREADS, "seconds": SECONDS, "per_second": round(rate, 1)}
    return harness.report("lane", summary, {**data, "machine": harness.machine()})


if __name__ == "__main__":
    run()

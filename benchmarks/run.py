"""`make bench`: every benchmark, one after another, each in a process of its own, on this
machine's PostgreSQL and Redis (benchmarks/harness.py). Each prints one summary line and writes
var/bench/<name>.json; this writes var/bench/summary.json. docs/benchmarks.md has the results.

BENCH_ONLY=ingest,realtime runs some of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "var" / "bench"

# (result name, module, extra environment)
PLAN = [
    ("ingest-1", "benchmarks.ingest", {"BENCH_SERVERS": "1"}),
    ("ingest-2", "benchmarks.ingest", {"BENCH_SERVERS": "2"}),
    ("realtime-1", "benchmarks.realtime", {"BENCH_SERVERS": "1", "BENCH_RT_RATE": "20"}),
    ("realtime-2", "benchmarks.realtime", {"BENCH_SERVERS": "2", "BENCH_RT_RATE": "50"}),
    ("queue-read", "benchmarks.queue_read", {}),
    ("audit-read", "benchmarks.audit_read", {}),
    ("flood", "benchmarks.flood", {}),
    ("peer", "benchmarks.versus_peer", {}),
    ("lane", "benchmarks.lane", {}),
    ("inprocess", "benchmarks.inprocess", {}),
]


def main() -> None:
    only = {name for name in os.environ.get("BENCH_ONLY", "").split(",") if name}
    began = time.perf_counter()
    summary = {}
    for name, module, extra in PLAN:
        if only and name not in only and module.rsplit(".", 1)[-1] not in only:
            continue
        env = {**os.environ, **extra, "PYTHONPATH": str(ROOT)}
        if module == "benchmarks.inprocess":
            from benchmarks.harness import DATABASE_URL, REDIS_URL

            env.update(DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL, CHANNEL_PREFIX="kp-bench")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=env, check=False)
        if done.returncode != 0:
            print(f"{name}: FAILED (exit {done.returncode})", flush=True)
            summary[name] = {"failed": done.returncode}
            continue
        result = json.loads((RESULTS / f"{name}.json").read_text())
        summary[name] = {
            "summary": result["summary"],
            "seconds": round(time.perf_counter() - started),
        }
    total = time.perf_counter() - began
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"\nmake bench: {len(summary)} benchmarks in {total / 60:.1f} min; var/bench/*.json")
    if any("failed" in entry for entry in summary.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()

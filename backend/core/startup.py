"""What a long-running process does once it has loaded: set the objects of startup aside from
the garbage collector.

A Daphne process or a worker holds well over 100,000 objects after startup (Django, DRF, the
models, the URL patterns) that live as long as it does. Python's collector walks all of them
in each full collection, which under load comes every few seconds: 70-95 ms on the project's
machine, a pause for every request and socket in the process (docs/benchmarks.md). Set aside
with `gc.freeze()`, they are no longer walked (the pauses measured 2.5-6 ms); what requests
make is collected as before.

Apps also do here what a process would otherwise do at its first request or task: the alarm
screen compiles its word patterns (about 60 ms), which the first text after every worker start
waited for.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

# Work an app has done once at startup rather than at a process's first request or task (which
# would wait for it), registered from the app's ready(); run by settle(), before the freeze.
_preparations: list[Callable[[], object]] = []


def prepare_before_serving(preparation: Callable[[], object]) -> None:
    """Have `preparation` run when a served process or a worker settles (not in manage.py
    commands or tests that never settle). It must not need the database or the network."""
    if preparation not in _preparations:
        _preparations.append(preparation)


def settle() -> None:
    """Load the URL patterns (and with them every view), run the apps' preparations, collect
    what startup left over, and set the rest aside from later collections."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the views)
    for preparation in _preparations:
        preparation()
    gc.collect()
    gc.freeze()

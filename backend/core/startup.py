"""What a long-running process does once it has loaded: set the objects of startup aside from
the garbage collector.

A Daphne process or a worker holds well over 100,000 objects after startup (Django, DRF, the
models, the URL patterns) that live as long as it does. Python's collector walks all of them
in each full collection, which under load comes every few seconds: 70-95 ms on the project's
machine, a pause for every request and socket in the process (docs/benchmarks.md). Set aside
with `gc.freeze()`, they are no longer walked (the pauses measured 2.5-6 ms); what requests
make is collected as before.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Load the URL patterns (and with them every view), collect what startup left over, and
    set the rest aside from later collections."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.collect()
    gc.freeze()

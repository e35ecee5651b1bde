"""Celery beat inside the web process, for `make run`.

The demo runs without a broker, a worker or a beat process, so nothing would sweep overdue
escalations or the outbox there. With IN_PROCESS_BEAT on, the server runs CELERY_BEAT_SCHEDULE
itself: one daemon thread runs each entry's task in this process at the entry's interval.
Production runs `celery beat` (deploy/) and leaves this off. The sweeps are safe to run twice,
so a demo that also runs a beat does no harm, only double work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass
class Entry:
    name: str
    task: str
    every: float
    next_at: float


class InProcessBeat:
    def __init__(
        self,
        schedule: dict[str, dict[str, Any]],
        run: Callable[[str], object],
        every: float | None = None,
    ) -> None:
        """`schedule` as CELERY_BEAT_SCHEDULE (intervals in seconds); `every` overrides all
        intervals; `run` runs a task by name."""
        start = time.monotonic()
        self.entries = [
            Entry(name, entry["task"], every or float(entry["schedule"]), start)
            for name, entry in schedule.items()
        ]
        self.run_task = run
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="in-process-beat", daemon=True)

    def start(self) -> InProcessBeat:
        self.thread.start()
        logger.info("in-process beat: %s", ", ".join(e.name for e in self.entries))
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def tick(self) -> float:
        """Run what is due; return the seconds until the next entry is due."""
        now = time.monotonic()
        for entry in self.entries:
            if entry.next_at <= now:
                entry.next_at = now + entry.every
                try:
                    self.run_task(entry.task)
                except Exception:
                    logger.exception("in-process beat: %s failed", entry.name)
                finally:
                    close_old_connections()
        return max(0.0, min(e.next_at for e in self.entries) - time.monotonic())

    def loop(self) -> None:
        while not self.stopped.is_set():
            self.stopped.wait(self.tick())


def run_here(task_name: str) -> object:
    from config.celery import app

    return app.tasks[task_name].apply().get()


def start_if_configured() -> InProcessBeat | None:
    if not settings.IN_PROCESS_BEAT:
        return None
    from config.celery import app

    app.loader.import_default_modules()  # the tasks of every app, as a worker would load them
    every = settings.IN_PROCESS_BEAT_SECONDS or None
    return InProcessBeat(settings.CELERY_BEAT_SCHEDULE, run_here, every).start()

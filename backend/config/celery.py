import os

from celery import Celery
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("kontaktpunkt")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
@worker_process_init.connect
def _settle(**_kwargs: object) -> None:
    from core.startup import settle

    settle()


@worker_shutdown.connect
@worker_process_shutdown.connect
def _send_what_waits(**_kwargs: object) -> None:
    # A forked pool process ends without running atexit: its broadcasts still waiting go now.
    from core.realtime import flush_broadcasts

    flush_broadcasts()

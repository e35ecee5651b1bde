"""Celery tasks: put waiting texts on their inquiries (services/inbox.py)."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def drain_inbox(section_id: int) -> int:
    """Every text the section has waiting, onto its inquiry. Queued by the webhook after its
    insert; several queued for one section are cheap (the first takes them all)."""
    from .services.inbox import drain, drain_starting

    drain_starting(section_id)
    return drain(section_id)


@shared_task
def sweep_inbox() -> int:
    """The safety net under `drain_inbox`: texts that waited longer than INBOX_SWEEP_AFTER
    seconds (the broker was down when they came, or a worker died with them) and the inbox
    rows kept past INBOX_KEEP_HOURS."""
    from .services.inbox import drain, prune, sections_waiting

    taken = 0
    for section_id in sections_waiting(dt.timedelta(seconds=settings.INBOX_SWEEP_AFTER)):
        taken += drain(section_id)
    if taken:
        logger.info("inbox sweep put %s waiting texts on inquiries", taken)
    prune()
    return taken

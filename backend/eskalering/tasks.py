"""The escalation sweep, run by beat every minute. (Doctors' SMS go through the outbox:
meldinger.tasks.deliver.)"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def sweep_escalations() -> dict[str, int]:
    from .services import sweep_overdue

    counts = sweep_overdue()
    if any(counts.values()):
        logger.info("escalation sweep: %s", counts)
    return counts

"""Celery tasks: deliver one message; sweep the outbox."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

logger = logging.getLogger(__name__)

MAX_RETRIES = 6


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def deliver(self: Any, message_id: int) -> str:
    from .sending import RetryLater, send_message

    try:
        return send_message(message_id)
    except RetryLater:
        if self.request.retries < self.max_retries:
            # 5 s, 10 s, 20 s ... up to 5 min; after that the outbox sweep keeps trying.
            raise self.retry(countdown=min(5 * 2**self.request.retries, 300)) from None
        logger.warning("message %s still not sent; left for the outbox sweep", message_id)
        return "sending"


@shared_task
def sweep_outbox() -> dict[str, int]:
    from .services import sweep_outbox as sweep

    counts = sweep()
    if any(counts.values()):
        logger.info("outbox sweep: %s", counts)
    return counts

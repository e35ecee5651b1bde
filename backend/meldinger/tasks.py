"""Celery tasks: deliver one message; sweep the outbox."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

# Retries by the task itself; after these the outbox sweep keeps trying every minute.
MAX_RETRIES = 6


def backoff_seconds(retry: int) -> int:
    """5 s, 10 s, 20 s ... at most 5 minutes."""
    return int(min(5 * 2**retry, 300))


@shared_task(acks_late=True)
def deliver(message_id: int, retry: int = 0) -> str:
    """Send one message. When Twilio cannot be reached or answers 5xx, a later run is queued
    with backoff (a new task, so it also works where tasks run eagerly); the message stays
    `sending` meanwhile, so that run reconciles with Twilio before it sends."""
    from .sending import RetryLater, send_message

    try:
        return send_message(message_id)
    except RetryLater:
        if retry >= MAX_RETRIES:
            logger.warning("message %s still not sent; left for the outbox sweep", message_id)
            return "sending"
        try:
            deliver.apply_async(args=(message_id, retry + 1), countdown=backoff_seconds(retry))
        except Exception:
            logger.warning("message %s: retry not queued; left for the outbox sweep", message_id)
        return "retrying"


@shared_task
def sweep_outbox() -> dict[str, int]:
    from .services import sweep_outbox as sweep

    counts = sweep()
    if any(counts.values()):
        logger.info("outbox sweep: %s", counts)
    return counts

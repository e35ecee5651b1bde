"""Housekeeping on beat."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task
def prune_events() -> int:
    from .realtime import prune_events as prune

    deleted = prune()
    if deleted:
        logger.info("pruned %s realtime events", deleted)
    return deleted

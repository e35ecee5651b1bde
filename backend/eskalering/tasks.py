"""Sending the doctors' SMS notices. Idempotent: a notice already sent is not sent again."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from core.sms import SmsError, send_sms

from .models import DoctorNotice

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, default_retry_delay=10, acks_late=True)
def send_doctor_notice(self: Any, notice_id: int) -> str:
    with transaction.atomic():
        notice = (
            DoctorNotice.objects.select_for_update(of=("self",))
            .select_related("doctor__profile")
            .get(pk=notice_id)
        )
        if notice.status != "queued":
            return notice.status
        phone = getattr(getattr(notice.doctor, "profile", None), "phone", "")
        if not phone:
            notice.status = "no_phone"
            notice.save(update_fields=["status"])
            return notice.status
        try:
            notice.sid = send_sms(
                to=phone, body=notice.body, idempotency_key=notice.idempotency_key
            )
        except SmsError as exc:
            if exc.retryable and self.request.retries < self.max_retries:
                raise self.retry(countdown=10 * 2**self.request.retries) from None
            notice.status, notice.error_code = "failed", exc.code
            notice.save(update_fields=["status", "error_code"])
            return notice.status
        notice.status, notice.sent_at = "sent", timezone.now()
        notice.save(update_fields=["status", "sid", "sent_at"])
    return notice.status


@shared_task
def sweep_escalations() -> dict[str, int]:
    from .services import sweep_overdue

    counts = sweep_overdue()
    if any(counts.values()):
        logger.info("escalation sweep: %s", counts)
    return counts

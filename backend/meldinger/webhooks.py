"""`POST /webhooks/twilio/status/`: Twilio's delivery callbacks for our messages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from henvendelser.validators import int_or_none
from henvendelser.webhooks import twilio_webhook

from . import services


@twilio_webhook
def status(request: HttpRequest) -> HttpResponse:
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    state = request.POST.get("MessageStatus") or request.POST.get("SmsStatus") or ""
    if not sid or not state:
        return HttpResponse(
            "MessageSid and MessageStatus required", status=400, content_type="text/plain"
        )
    services.apply_status(
        sid=sid,
        twilio_status=state,
        error_code=int_or_none(request.POST.get("ErrorCode")),
        now=timezone.now(),
    )
    # An unknown SID is answered 200 too: Twilio has nothing to retry, and the send task
    # reconciles the status when it learns the SID.
    return HttpResponse(status=204)

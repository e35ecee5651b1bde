"""Twilio webhooks: SMS in, calls in, call progress. Thin: check the signature, call a service,
answer TwiML. Every one is idempotent on Twilio's ids, so Twilio may retry freely. A text is
stored in the inbox and answered at once; a worker puts it on its inquiry (services/inbox.py)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from meldinger.rules import keyword_action
from meldinger.services import handle_keyword
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from . import services
from .services.inbox import accept_sms_to_number
from .services.intake import section_for_number
from .validators import int_or_none, try_normalise_phone

logger = logging.getLogger(__name__)

VOICE_LANGUAGE = "nb-NO"
DIAL_TIMEOUT_SECONDS = 25
VOICEMAIL_MAX_SECONDS = 120


def public_url(request: HttpRequest) -> str:
    """The URL Twilio signed: the public base URL plus the path and query it called."""
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def signature_is_valid(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    params = {key: request.POST.get(key) for key in request.POST}
    return bool(RequestValidator(token).validate(public_url(request), params, signature))


# Twilio's ids: two letters and 32 hex digits. Anything much longer or with other characters is
# not from Twilio (and would not fit the columns), so it is refused before it reaches a service.
SID_FIELDS = ("MessageSid", "SmsSid", "CallSid", "RecordingSid", "AccountSid")
SID = re.compile(r"[A-Za-z]{2}[A-Za-z0-9]{1,38}")


def _bad_sid(request: HttpRequest) -> str | None:
    for name in SID_FIELDS:
        value = request.POST.get(name)
        if value and not SID.fullmatch(value):
            return name
    return None


def _without_nul(request: HttpRequest) -> None:
    """A NUL character carries nothing a family meant, and PostgreSQL cannot store it: it is
    dropped, the rest of the text is kept."""
    if any("\x00" in v for values in request.POST.lists() for v in values[1]):
        cleaned = request.POST.copy()
        for key, values in request.POST.lists():
            cleaned.setlist(key, [v.replace("\x00", "") for v in values])
        setattr(request, "POST", cleaned)  # noqa: B010 (the type says immutable; a copy is)


def twilio_webhook(view: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    """POST only, no CSRF (Twilio signs instead), 403 and no change without a valid signature."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not signature_is_valid(request):
            logger.warning("twilio webhook %s refused: bad or missing signature", request.path)
            return HttpResponseForbidden("invalid signature", content_type="text/plain")
        bad = _bad_sid(request)
        if bad is not None:
            logger.warning("twilio webhook %s refused: malformed %s", request.path, bad)
            return HttpResponse(f"{bad} malformed", status=400, content_type="text/plain")
        _without_nul(request)
        return view(request, *args, **kwargs)

    return wrapped


def twiml(response: MessagingResponse | VoiceResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="application/xml")


def _out_of_hours_text(ward_phone: str) -> str:
    text = _(
        "Takk for meldingen. Kontaktpunktet er stengt nå, og vi leser den når vi åpner. "
        "Ved akutt sykdom eller feber under behandling: ring avdelingen"
    )
    if ward_phone:
        text += f" på {ward_phone}"
    return text + _(" eller 113.")


@twilio_webhook
def sms(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    message_sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    if not message_sid:
        return HttpResponse("MessageSid missing", status=400, content_type="text/plain")
    to_phone = try_normalise_phone(request.POST.get("To", ""))
    from_phone = try_normalise_phone(request.POST.get("From", ""))
    body = request.POST.get("Body", "")
    action = keyword_action(body)
    if action is not None and from_phone:
        # STOP/START: recorded and confirmed once by SMS from the outbox, not put in the queue.
        handle_keyword(
            message_sid=message_sid,
            from_phone=from_phone,
            section=section_for_number(to_phone),
            action=action,
            now=now,
        )
        return twiml(MessagingResponse())
    # One insert, then Twilio has its answer; a worker puts the text on the inquiry.
    section, accepted = accept_sms_to_number(
        message_sid=message_sid,
        to_phone=to_phone,
        from_phone=from_phone,
        body=body,
        num_media=int_or_none(request.POST.get("NumMedia")) or 0,
        now=now,
    )
    response = MessagingResponse()
    # A retried delivery gets no second acknowledgement: never text a family twice.
    if accepted and not section.is_open(now):
        response.message(_out_of_hours_text(section.ward_phone))
    return twiml(response)


def _voicemail(response: VoiceResponse, prompt: str) -> VoiceResponse:
    response.say(prompt, language=VOICE_LANGUAGE)
    response.record(
        action=settings.PUBLIC_BASE_URL + "/webhooks/twilio/voice/status/",
        method="POST",
        max_length=VOICEMAIL_MAX_SECONDS,
        play_beep=True,
    )
    response.say(_("Vi fikk ikke noen melding. Ha det."), language=VOICE_LANGUAGE)
    return response


@twilio_webhook
def voice(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    call_sid = request.POST.get("CallSid", "")
    if not call_sid:
        return HttpResponse("CallSid missing", status=400, content_type="text/plain")
    to_phone = try_normalise_phone(request.POST.get("To", ""))
    section = section_for_number(to_phone)
    answerable = bool(settings.COORDINATOR_PHONE) and section.is_open(now)
    services.receive_call(
        call_sid=call_sid,
        from_phone=try_normalise_phone(request.POST.get("From", "")),
        to_phone=to_phone,
        answerable=answerable,
        now=now,
    )
    response = VoiceResponse()
    if answerable:
        response.say(
            _(
                "Du har ringt kontaktpunktet. Ved livstruende sykdom, legg på og ring 113. "
                "Vent litt, så setter vi deg over."
            ),
            language=VOICE_LANGUAGE,
        )
        dial = response.dial(
            action=settings.PUBLIC_BASE_URL + "/webhooks/twilio/voice/status/",
            method="POST",
            timeout=DIAL_TIMEOUT_SECONDS,
        )
        dial.number(settings.COORDINATOR_PHONE)
        return twiml(response)
    prompt = _(
        "Du har ringt kontaktpunktet utenfor åpningstiden. Ved akutt sykdom eller feber under "
        "behandling: legg på og ring avdelingen eller 113. Ellers kan du legge igjen en beskjed "
        "etter tonen, så ringer vi deg tilbake."
    )
    return twiml(_voicemail(response, prompt))


@twilio_webhook
def voice_status(request: HttpRequest) -> HttpResponse:
    """One endpoint for the three callbacks of a call: the <Dial> outcome, the <Record>ed
    voicemail, and the call's own status callback."""
    now = timezone.now()
    call_sid = request.POST.get("CallSid", "")
    if not call_sid:
        return HttpResponse("CallSid missing", status=400, content_type="text/plain")
    response = VoiceResponse()
    recording_sid = request.POST.get("RecordingSid")
    dial_status = request.POST.get("DialCallStatus")
    if recording_sid:
        services.attach_voicemail(
            call_sid=call_sid,
            recording_sid=recording_sid,
            recording_url=request.POST.get("RecordingUrl", ""),
            duration_seconds=int_or_none(request.POST.get("RecordingDuration")),
            now=now,
        )
        response.say(_("Takk. Vi ringer deg tilbake så snart vi kan."), language=VOICE_LANGUAGE)
        response.hangup()
    elif dial_status:
        services.record_dial_outcome(call_sid=call_sid, dial_status=dial_status, now=now)
        if dial_status == "completed":
            response.hangup()
        else:
            _voicemail(
                response,
                _(
                    "Ingen kunne ta telefonen akkurat nå. Ved akutt sykdom, legg på og ring 113. "
                    "Legg igjen en beskjed etter tonen, så ringer vi deg tilbake."
                ),
            )
    else:
        services.update_call_status(
            call_sid=call_sid,
            status=request.POST.get("CallStatus", ""),
            duration_seconds=int_or_none(request.POST.get("CallDuration")),
            now=now,
        )
    return twiml(response)

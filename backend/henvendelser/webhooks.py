"""Twilio webhooks: SMS in, calls in, call progress. Thin: check the signature, call a service,
answer TwiML. Every one is idempotent on Twilio's ids, so Twilio may retry freely. A text is
stored in the inbox and answered at once; a worker puts it on its inquiry (services/inbox.py)."""

from __future__ import annotations

import datetime as dt
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
from meldinger.services import handle_keyword
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from core.models import Section

from . import services
from .services.inbox import InboundSms, accept_sms_to_number
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


def refusal(request: HttpRequest) -> HttpResponse | None:
    """Why Twilio's request is not served: 403 without a valid signature, 400 for a malformed
    Twilio id; None for one to serve (its NUL characters dropped). Every Twilio webhook asks it,
    the SMS webhook's two ways in alike (`twilio_webhook`, henvendelser/ingress.py)."""
    if not signature_is_valid(request):
        logger.warning("twilio webhook %s refused: bad or missing signature", request.path)
        return HttpResponseForbidden("invalid signature", content_type="text/plain")
    bad = _bad_sid(request)
    if bad is not None:
        logger.warning("twilio webhook %s refused: malformed %s", request.path, bad)
        return HttpResponse(f"{bad} malformed", status=400, content_type="text/plain")
    _without_nul(request)
    return None


def twilio_webhook(view: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    """POST only, no CSRF (Twilio signs instead), 403 and no change without a valid signature."""

    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return refusal(request) or view(request, *args, **kwargs)

    return wrapped


# What Twilio is answered for most texts: nothing to send back (built once).
EMPTY_MESSAGING_TWIML = str(MessagingResponse())


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


def read_sms(request: HttpRequest) -> InboundSms | HttpResponse:
    """The text in the SMS webhook's form, or 400 when it has no MessageSid."""
    message_sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    if not message_sid:
        return HttpResponse("MessageSid missing", status=400, content_type="text/plain")
    return InboundSms(
        message_sid=message_sid,
        to_phone=try_normalise_phone(request.POST.get("To", "")),
        from_phone=try_normalise_phone(request.POST.get("From", "")),
        body=request.POST.get("Body", ""),
        num_media=int_or_none(request.POST.get("NumMedia")) or 0,
    )


def sms_answer(section: Section, accepted: bool, now: dt.datetime) -> HttpResponse:
    """The TwiML Twilio gets for a text: empty, or out of hours the family's acknowledgement,
    for a text stored now (a retried delivery gets no second one: never text a family twice)."""
    if not accepted or section.is_open(now):
        return HttpResponse(EMPTY_MESSAGING_TWIML, content_type="application/xml")
    response = MessagingResponse()
    response.message(_out_of_hours_text(section.ward_phone))
    return twiml(response)


@twilio_webhook
def sms(request: HttpRequest) -> HttpResponse:
    """A text in: its section's lookup and one insert into the inbox, then Twilio's answer; a
    worker puts the text on its inquiry. On PostgreSQL under Daphne, the same is done on the
    event loop before a request gets here (henvendelser/ingress.py); this is the way for the
    rest (SQLite, Django's test client) and for opt-out keywords."""
    now = timezone.now()
    text = read_sms(request)
    if isinstance(text, HttpResponse):
        return text
    if text.keyword is not None:
        # STOP/START: recorded and confirmed once by SMS from the outbox, not put in the queue.
        handle_keyword(
            message_sid=text.message_sid,
            from_phone=text.from_phone,
            section=section_for_number(text.to_phone),
            action=text.keyword,
            now=now,
        )
        return twiml(MessagingResponse())
    section, accepted = accept_sms_to_number(text, now)
    return sms_answer(section, accepted, now)


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

"""The family's secure page, `/m/<token>/`: plain HTML forms, readable without JavaScript,
in the language the message was sent in."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import securelinks, services, texts
from .models import SecureLink

logger = logging.getLogger(__name__)

# Once the date of birth is right, the page stays open this long in that browser.
OPEN_MINUTES = 30
# A reply form's one-time key (made when the form is shown): the same key stores once.
REPLY_KEY = re.compile(r"[0-9a-f]{32}")


def _session_key(link: SecureLink) -> str:
    return f"securelink:{link.pk}"


def _replied_key(link: SecureLink) -> str:
    return f"securelink:{link.pk}:replied"


def _is_open(request: HttpRequest, link: SecureLink, now: dt.datetime) -> bool:
    until = request.session.get(_session_key(link))
    return isinstance(until, (int, float)) and until > now.timestamp()


def _page(
    request: HttpRequest, template: str, language: str, status: int = 200, **context: Any
) -> HttpResponse:
    strings = _strings(language)
    response = render(
        request,
        f"meldinger/{template}",
        {"t": strings, "language": language, **context},
        status=status,
    )
    # The token is in the URL: never send it to another site. (Same-origin keeps the
    # Origin header on our own form posts, which CSRF checking needs.)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _strings(language: str) -> dict[str, str]:
    return texts.PAGE.get(language) or texts.PAGE["nb"]


def _ask_again(request: HttpRequest, language: str, error: str) -> HttpResponse:
    """The date-of-birth form again, with what was typed and why it did not open."""
    return _page(request, "ask.html", language, status=400, error=error, values=request.POST)


def _birth_date(data: Any) -> dt.date | None:
    """The date typed in, or None when the three fields make no date (31.02, letters, a year
    of 20000): that is a typing slip, not a wrong guess, so it costs no attempt."""
    try:
        return dt.date(
            int(data.get("year", "")), int(data.get("month", "")), int(data.get("day", ""))
        )
    except (TypeError, ValueError, OverflowError):
        return None


def _contact_phone(link: SecureLink | None) -> str:
    """The number a family rings for help: the section's own, else the service's."""
    if link is not None and link.message.section.phone_number:
        return str(link.message.section.phone_number)
    return str(settings.TWILIO_FROM_NUMBER or "")


def _new_reply_key() -> str:
    return secrets.token_hex(16)


@never_cache
@require_http_methods(["GET", "POST"])
def secure_message(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    link = securelinks.find(token)
    language = link.message.language if link is not None else "nb"
    phone = _contact_phone(link)
    if link is None:
        logger.info("secure page: unknown token")
        return _page(request, "expired.html", language, status=404, phone=phone)
    if not securelinks.usable(link, now):
        securelinks.try_open(token=token, birth_date=None, now=now)  # audits the refusal
        template = "locked.html" if link.locked_at is not None else "expired.html"
        return _page(request, template, language, status=410, phone=phone)

    if request.method == "POST" and "reply" in request.POST:
        if not _is_open(request, link, now):
            return HttpResponseRedirect(request.path)
        reply = request.POST.get("reply", "").strip()
        if not reply:
            return _show(request, link, language, now, error=True)
        key = request.POST.get("reply_key", "")
        services.family_reply(
            message=link.message,
            text=reply,
            reply_key=key if REPLY_KEY.fullmatch(key) else None,
            now=now,
        )
        # Post/redirect/get: a reload shows the thanks again and posts nothing.
        request.session[_replied_key(link)] = True
        return HttpResponseRedirect(request.path, status=303)

    if request.method == "POST":
        birth_date = _birth_date(request.POST)
        if birth_date is None:
            return _ask_again(request, language, _strings(language)["no_such_date"])
        attempt = securelinks.try_open(token=token, birth_date=birth_date, now=now)
        if attempt.opened:
            request.session[_session_key(link)] = (
                now + dt.timedelta(minutes=OPEN_MINUTES)
            ).timestamp()
            return HttpResponseRedirect(request.path, status=303)
        if attempt.locked:
            return _page(request, "locked.html", language, status=410, phone=phone)
        wrong = _strings(language)["wrong"].format(left=attempt.attempts_left)
        return _ask_again(request, language, wrong)

    if _is_open(request, link, now):
        replied = bool(request.session.pop(_replied_key(link), False))
        return _show(request, link, language, now, replied=replied)
    return _page(request, "ask.html", language)


def _show(
    request: HttpRequest,
    link: SecureLink,
    language: str,
    now: dt.datetime,
    *,
    replied: bool = False,
    error: bool = False,
) -> HttpResponse:
    message = link.message
    securelinks.audit_link(link, "securelink.viewed")
    return _page(
        request,
        "message.html",
        language,
        status=400 if error else 200,
        message=message,
        sent_at=timezone.localtime(message.sent_at or message.created_at),
        replied=replied,
        error=error,
        reply_key=_new_reply_key(),
    )

"""The family's secure page, `/m/<token>/`: plain HTML forms, readable without JavaScript,
in the language the message was sent in."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

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


def _session_key(link: SecureLink) -> str:
    return f"securelink:{link.pk}"


def _is_open(request: HttpRequest, link: SecureLink, now: dt.datetime) -> bool:
    until = request.session.get(_session_key(link))
    return isinstance(until, (int, float)) and until > now.timestamp()


def _page(
    request: HttpRequest, template: str, language: str, status: int = 200, **context: Any
) -> HttpResponse:
    strings = texts.PAGE.get(language) or texts.PAGE["nb"]
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


def _birth_date(data: Any) -> dt.date | None:
    try:
        return dt.date(
            int(data.get("year", "")), int(data.get("month", "")), int(data.get("day", ""))
        )
    except (TypeError, ValueError):
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def secure_message(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    link = securelinks.find(token)
    language = link.message.language if link is not None else "nb"
    if link is None:
        logger.info("secure page: unknown token")
        return _page(request, "expired.html", language, status=404)
    if not securelinks.usable(link, now):
        securelinks.try_open(token=token, birth_date=None, now=now)  # audits the refusal
        template = "locked.html" if link.locked_at is not None else "expired.html"
        return _page(request, template, language, status=410)

    if request.method == "POST" and "reply" in request.POST:
        if not _is_open(request, link, now):
            return HttpResponseRedirect(request.path)
        reply = request.POST.get("reply", "").strip()
        if not reply:
            return _show(request, link, language, now, error=True)
        services.family_reply(message=link.message, text=reply, now=now)
        return _show(request, link, language, now, replied=True)

    if request.method == "POST":
        attempt = securelinks.try_open(token=token, birth_date=_birth_date(request.POST), now=now)
        if attempt.opened:
            request.session[_session_key(link)] = (
                now + dt.timedelta(minutes=OPEN_MINUTES)
            ).timestamp()
            return HttpResponseRedirect(request.path, status=303)
        if attempt.locked:
            return _page(request, "locked.html", language, status=410)
        strings = texts.PAGE.get(language) or texts.PAGE["nb"]
        return _page(
            request,
            "ask.html",
            language,
            status=400,
            error=strings["wrong"].format(left=attempt.attempts_left),
            values=request.POST,
        )

    if _is_open(request, link, now):
        return _show(request, link, language, now)
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
    )

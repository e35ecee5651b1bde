"""Server-rendered pages. They carry no patient data themselves: the queue arrives over the
websocket and the inquiry through the API, both audited where they are read."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core import roles
from core.errors import error_body
from henvendelser.models import Category, Channel


class KontaktpunktLoginView(LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "web/forbidden.html", status=403)


@login_required
def queue_page(request: HttpRequest) -> HttpResponse:
    if roles.user_roles(request.user) == {roles.DOCTOR}:
        return redirect("doctor")
    if not roles.has_role(request.user, roles.QUEUE_READERS):
        return _forbidden(request)
    return render(
        request,
        "web/queue.html",
        {
            "channels": Channel.choices,
            "categories": Category.choices,
            "can_log": roles.has_role(request.user, roles.INQUIRY_LOGGERS),
        },
    )


@login_required
def inquiry_page(request: HttpRequest, pk: int) -> HttpResponse:
    if not roles.has_role(request.user, roles.QUEUE_READERS):
        return _forbidden(request)
    return render(
        request,
        "web/inquiry.html",
        {
            "inquiry_id": pk,
            "can_work": roles.has_role(request.user, roles.INQUIRY_WORKERS),
            "can_note": roles.has_role(request.user, roles.NOTE_WRITERS),
            "can_assess": roles.has_role(request.user, roles.ASSESSORS),
            "can_escalate": roles.has_role(request.user, (roles.COORDINATOR, roles.LEAD)),
            "can_reply": roles.has_role(request.user, roles.MESSAGE_SENDERS),
        },
    )


@login_required
def doctor_page(request: HttpRequest) -> HttpResponse:
    if not roles.has_role(request.user, (roles.DOCTOR,)):
        return _forbidden(request)
    return render(request, "web/doctor.html")


@login_required
def roster_page(request: HttpRequest) -> HttpResponse:
    if not roles.has_role(request.user, roles.QUEUE_READERS):
        return _forbidden(request)
    return render(
        request, "web/roster.html", {"can_edit": roles.has_role(request.user, (roles.LEAD,))}
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", _("Fant ikke det du ba om.")), status=404)
    return render(request, "web/not_found.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body("server_error", _("Noe gikk galt hos oss. Prøv igjen.")), status=500
        )
    return HttpResponse(
        _("Noe gikk galt hos oss. Prøv igjen."),
        status=500,
        content_type="text/plain; charset=utf-8",
    )

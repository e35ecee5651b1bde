"""Server-rendered pages. They carry no patient data themselves: the queue arrives over the
websocket and the inquiry through the API, both audited where they are read."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core import access, lockout
from core.access import Action
from core.errors import error_body
from core.models import Section
from henvendelser.models import Category, Channel, Inquiry
from henvendelser.serializers import display_name
from henvendelser.validators import int_or_none


class KontaktpunktLoginView(LoginView):
    """The login page: a limit on attempts per address, and a locked account (too many wrong
    passwords in a row) gets the same answer as a wrong password, with the way out."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if lockout.too_many_attempts(request, "page"):
            context = self.get_context_data(form=self.get_form(), rate_limited=True)
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "web/forbidden.html", status=403)


@login_required
def queue_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    if access.may(user, Action.ANSWER_ESCALATION) and not access.may(user, Action.LOG_INQUIRY):
        return redirect("doctor")  # a doctor's work is on the doctor's page
    if not access.may(user, Action.READ_QUEUE):
        return _forbidden(request)
    mine = list(Section.objects.filter(pk__in=access.sections(user)).order_by("name", "pk"))
    if not mine:
        return _forbidden(request)
    requested = request.GET.get("section")
    section_id = access.queue_section(user, requested)
    if section_id is None:
        # Several sections and none chosen (or one not theirs): show the first, and say so in
        # the address and the picker, so the socket is always asked for a section by name.
        return redirect(f"{request.path}?section={mine[0].pk}")
    return render(
        request,
        "web/queue.html",
        {
            "channels": Channel.choices,
            "categories": Category.choices,
            "sections": mine,
            "section_id": section_id,
            "can": access.page_flags(user),
        },
    )


@login_required
def inquiry_page(request: HttpRequest, pk: int) -> HttpResponse:
    if not access.may(request.user, Action.READ_QUEUE):
        return _forbidden(request)
    section_id = (
        Inquiry.objects.filter(pk=pk, section_id__in=access.sections(request.user))
        .values_list("section_id", flat=True)
        .first()
    )
    return render(
        request,
        "web/inquiry.html",
        {"inquiry_id": pk, "section_id": section_id, "can": access.page_flags(request.user)},
    )


@login_required
def doctor_page(request: HttpRequest) -> HttpResponse:
    if not access.may(request.user, Action.ANSWER_ESCALATION):
        return _forbidden(request)
    return render(request, "web/doctor.html")


@login_required
def roster_page(request: HttpRequest) -> HttpResponse:
    if not access.may(request.user, Action.READ_QUEUE):
        return _forbidden(request)
    return render(request, "web/roster.html", {"can": access.page_flags(request.user)})


@login_required
def stats_page(request: HttpRequest) -> HttpResponse:
    if not access.may(request.user, Action.READ_STATS):
        return _forbidden(request)
    mine = Section.objects.filter(pk__in=access.sections(request.user)).order_by("name", "pk")
    return render(request, "web/stats.html", {"sections": list(mine)})


@login_required
def accounts_page(request: HttpRequest) -> HttpResponse:
    """The lead's locked accounts: colleagues locked out after too many wrong passwords, each
    with a button that lifts the lock (lockout.unlock, audited). Pressed twice, it lifts it
    once and says so once; afterwards the page is shown anew (a reload sends nothing)."""
    if not access.may(request.user, Action.UNLOCK_ACCOUNTS):
        return _forbidden(request)
    if request.method == "POST":
        chosen = int_or_none(request.POST.get("user"))
        user = lockout.colleagues(request.user).filter(pk=chosen).first()
        if user is None:
            return render(request, "web/not_found.html", status=404)
        if lockout.is_locked(user):
            lockout.unlock(user=user, by=request.user)
            name = display_name(user)
            messages.success(request, _("%(name)s kan logge inn igjen.") % {"name": name})
        return redirect("accounts")
    locks = lockout.locked_colleagues(request.user)
    return render(request, "web/accounts.html", {"locks": locks})


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

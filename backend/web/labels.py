"""The words the pages show for the codes the API sends: taken from the models' choices (and
the rule data), so each label is written once, on the server. Pages get them as JSON in
base.html (`kp-labels`) and never carry a copy."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import TextChoices
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


def _words(choices: type[TextChoices]) -> dict[str, str]:
    return {value: str(text) for value, text in choices.choices}


@cache
def _alarm_terms() -> dict[str, str]:
    from triage.alarm import load_words

    data = load_words()
    return {term["key"]: term["label"] for term in data["terms"]}


LINK_STATES = {
    "sent": _("sendt, ikke åpnet"),
    "opened": _("åpnet"),
    "locked": _("sperret etter feil fødselsdato"),
    "expired": _("utløpt"),
}


def ui_labels() -> dict[str, Any]:
    from eskalering.models import RosterRole, State, Target
    from meldinger.models import Kind, MessageStatus

    from henvendelser.models import (
        Category,
        Channel,
        EntryKind,
        Grade,
        Identification,
        Relation,
        Status,
    )
    from maler.models import MessageTemplate

    return {
        "status": _words(Status),
        "channel": _words(Channel),
        "entry": _words(EntryKind),
        "category": _words(Category),
        "grade": {key: str(text).capitalize() for key, text in Grade.choices},
        "identification": _words(Identification),
        "relation": _words(Relation),
        "message_status": _words(MessageStatus),
        "message_kind": _words(Kind),
        "escalation_state": _words(State),
        "target": _words(Target),
        "roster_role": _words(RosterRole),
        "alarm_term": _alarm_terms(),
        "link_state": {key: str(text) for key, text in LINK_STATES.items()},
        "template": dict(MessageTemplate.objects.values_list("key", "name")),
    }


def labels(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the labels, for signed-in pages only (the login needs none)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from core import access
    from core.access import Action

    return {
        "ui_labels": ui_labels(),
        "can_read_stats": access.may(user, Action.READ_STATS),
        "can_unlock_accounts": access.may(user, Action.UNLOCK_ACCOUNTS),
    }

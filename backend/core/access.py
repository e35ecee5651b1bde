"""Who may see and do what, and where: the one place (DESIGN.md §1, §10).

Every API view, page, socket and service asks here; none keeps its own list of roles. An action
is allowed when the user has one of the roles `RULES` lists for it and, for anything about a
section's patients, belongs to that section. `tests/core/test_access.py` holds the expected
table of role by action, so a change here is a change someone meant.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import permissions
from rest_framework.request import Request

from . import roles
from .exceptions import NotAllowed
from .roles import COORDINATOR, DOCTOR, LEAD, SECRETARY


class Action(StrEnum):
    READ_QUEUE = "read_queue"  # the queue and an inquiry's practical details
    READ_CLINICAL = "read_clinical"  # triage reasons, results, escalations and doctors' answers
    LOG_INQUIRY = "log_inquiry"  # a phone call or a visit, by hand
    WORK_INQUIRY = "work_inquiry"  # claim, release, close, link a caller to a patient
    REASSIGN_INQUIRY = "reassign_inquiry"  # take one from, or give one to, a colleague
    ESCALATE = "escalate"  # ask a doctor
    WRITE_NOTE = "write_note"
    ASSESS = "assess"  # triage
    ANSWER_ESCALATION = "answer_escalation"  # the doctor's own work
    WRITE_PATIENT = "write_patient"
    WRITE_CONTACT = "write_contact"
    SEND_MESSAGE = "send_message"  # any template or free text to a family
    SEND_PRACTICAL_MESSAGE = "send_practical_message"  # appointment and general templates only
    MANAGE_PLANS = "manage_plans"  # follow-up plans (Pakkeforløp hjem)
    READ_TEMPLATES = "read_templates"
    PUBLISH_TEMPLATES = "publish_templates"
    PUBLISH_RULES = "publish_rules"
    MANAGE_ROSTER = "manage_roster"
    READ_AUDIT = "read_audit"
    UNLOCK_ACCOUNTS = "unlock_accounts"  # after too many wrong passwords
    READ_STATS = "read_stats"  # the section's figures


RULES: dict[Action, frozenset[str]] = {
    Action.READ_QUEUE: frozenset({COORDINATOR, SECRETARY, LEAD, DOCTOR}),
    Action.READ_CLINICAL: frozenset({COORDINATOR, LEAD, DOCTOR}),
    Action.LOG_INQUIRY: frozenset({COORDINATOR, SECRETARY, LEAD}),
    Action.WORK_INQUIRY: frozenset({COORDINATOR, LEAD}),
    Action.REASSIGN_INQUIRY: frozenset({LEAD}),
    Action.ESCALATE: frozenset({COORDINATOR, LEAD}),
    Action.WRITE_NOTE: frozenset({COORDINATOR, SECRETARY, LEAD, DOCTOR}),
    Action.ASSESS: frozenset({COORDINATOR, LEAD, DOCTOR}),
    Action.ANSWER_ESCALATION: frozenset({DOCTOR}),
    Action.WRITE_PATIENT: frozenset({COORDINATOR, LEAD}),
    Action.WRITE_CONTACT: frozenset({COORDINATOR, SECRETARY, LEAD}),
    Action.SEND_MESSAGE: frozenset({COORDINATOR, LEAD}),
    Action.SEND_PRACTICAL_MESSAGE: frozenset({COORDINATOR, SECRETARY, LEAD}),
    Action.MANAGE_PLANS: frozenset({COORDINATOR, LEAD}),
    Action.READ_TEMPLATES: frozenset({COORDINATOR, SECRETARY, LEAD}),
    Action.PUBLISH_TEMPLATES: frozenset({LEAD}),
    Action.PUBLISH_RULES: frozenset({LEAD}),
    Action.MANAGE_ROSTER: frozenset({LEAD}),
    Action.READ_AUDIT: frozenset({LEAD}),
    Action.UNLOCK_ACCOUNTS: frozenset({LEAD}),
    Action.READ_STATS: frozenset({LEAD}),
}

# Template categories whose messages carry medical content: results and treatment. The others
# (appointments, general information, follow-up) are practical, and the secretary may send them.
MEDICAL_TEMPLATE_CATEGORIES = frozenset({"test_results", "treatment"})


def may(user: Any, action: Action, section_id: int | None = None) -> bool:
    """Whether `user` may do `action` (in `section_id`, when the action concerns one)."""
    if not roles.has_role(user, tuple(RULES[action])):
        return False
    return section_id is None or section_id in roles.user_section_ids(user)


def require(user: Any, action: Action, section_id: int | None = None) -> None:
    """Raise NotAllowed (403, permission_denied) unless `may`, saying which part failed."""
    if not may(user, action):
        raise NotAllowed(_("Rollen din gir ikke tilgang til dette."))
    if section_id is not None and not in_section(user, section_id):
        raise NotAllowed(_("Du har ikke tilgang til denne seksjonen."))


def sections(user: Any) -> list[int]:
    """The sections a user belongs to, in a stable order."""
    return roles.user_section_ids(user)


def in_section(user: Any, section_id: int) -> bool:
    return section_id in roles.user_section_ids(user)


def is_medical(category: str | None) -> bool:
    return category in MEDICAL_TEMPLATE_CATEGORIES


def message_action(category: str | None) -> Action:
    """What sending a message takes: free text (no category) or a medical template needs
    SEND_MESSAGE; a practical template needs SEND_PRACTICAL_MESSAGE."""
    if category is None or is_medical(category):
        return Action.SEND_MESSAGE
    return Action.SEND_PRACTICAL_MESSAGE


def may_send(user: Any, category: str | None, section_id: int | None = None) -> bool:
    return may(user, message_action(category), section_id)


def may_read_message(user: Any, category: str | None) -> bool:
    """Whether a message's text is for this reader: a medical one only for clinical readers."""
    return not is_medical(category) or may(user, Action.READ_CLINICAL)


def queue_section(user: Any, requested: str | int | None) -> int | None:
    """Which section's queue a reader gets, for the API and the socket alike: the one asked
    for if they belong to it; without asking, their only section. Someone in several
    sections must say which (None: refused), so nobody watches a queue they did not choose."""
    if not may(user, Action.READ_QUEUE):
        return None
    mine = sections(user)
    if requested in (None, ""):
        return mine[0] if len(mine) == 1 else None
    try:
        wanted = int(requested)
    except (TypeError, ValueError):
        return None
    return wanted if wanted in mine else None


def permission(*actions: Action) -> type[permissions.BasePermission]:
    """A DRF permission class: authenticated, and allowed one of `actions` (sections are
    checked where the object is known)."""

    class Allowed(permissions.BasePermission):
        message = _("Rollen din gir ikke tilgang til dette.")

        def has_permission(self, request: Request, view: Any) -> bool:
            user = request.user
            return bool(user and user.is_authenticated) and any(may(user, a) for a in actions)

    Allowed.__name__ = "Allowed_" + "_".join(actions)
    Allowed.actions = actions  # type: ignore[attr-defined]
    return Allowed


def page_flags(user: Any) -> dict[str, bool]:
    """What a page may offer, for templates: `can.<action>`."""
    return {action.value: may(user, action) for action in Action}

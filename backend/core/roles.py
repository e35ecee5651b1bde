"""Roles are Django groups (DESIGN.md §10). What each role may do is decided here."""

from __future__ import annotations

from typing import Any

COORDINATOR = "coordinator"
DOCTOR = "doctor"
SECRETARY = "secretary"
LEAD = "lead"
ADMIN = "admin"
ALL_ROLES = (COORDINATOR, DOCTOR, SECRETARY, LEAD, ADMIN)

# Who may see the inquiry queue and inquiry details in their sections.
QUEUE_READERS = (COORDINATOR, SECRETARY, LEAD, DOCTOR)
# Who may log an inquiry by hand (a phone call, a visit).
INQUIRY_LOGGERS = (COORDINATOR, SECRETARY, LEAD)
# Who works inquiries: claim, release, close.
INQUIRY_WORKERS = (COORDINATOR, LEAD)
# Who may ask a doctor (escalate an inquiry).
ESCALATORS = (COORDINATOR, LEAD)
# Who may add notes to an inquiry's timeline.
NOTE_WRITERS = (COORDINATOR, SECRETARY, LEAD, DOCTOR)
# Who may register and change patients and contacts.
PATIENT_WRITERS = (COORDINATOR, LEAD)
CONTACT_WRITERS = (COORDINATOR, SECRETARY, LEAD)
# Who may triage an inquiry (and raise or, with a reason, lower its grade).
ASSESSORS = (COORDINATOR, LEAD, DOCTOR)
# Who may publish a new version of the triage rules.
RULE_PUBLISHERS = (LEAD,)
# Who may read the audit log.
AUDIT_READERS = (LEAD,)


def user_roles(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_kontaktpunkt_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._kontaktpunkt_roles = cached
    return cached


def has_role(user: Any, roles: tuple[str, ...] | list[str]) -> bool:
    return bool(user_roles(user) & set(roles))


def is_doctor_in(user: Any, section_id: int) -> bool:
    """A doctor who belongs to the section (may be responsible, rostered or escalated to)."""
    return has_role(user, (DOCTOR,)) and section_id in user_section_ids(user)


def user_section_ids(user: Any) -> list[int]:
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_kontaktpunkt_sections", None)
    if cached is None:
        cached = list(user.memberships.order_by("section_id").values_list("section_id", flat=True))
        user._kontaktpunkt_sections = cached
    return cached


# Who may read message templates and preview them.
TEMPLATE_READERS = (COORDINATOR, SECRETARY, LEAD)
# Who may create templates and publish template versions.
TEMPLATE_PUBLISHERS = (LEAD,)
# Who may send messages to families and manage follow-up plans.
MESSAGE_SENDERS = (COORDINATOR, LEAD)

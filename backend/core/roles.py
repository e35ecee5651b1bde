"""Roles are Django groups (DESIGN.md §10); what each role may do is in `core.access.RULES`."""

from __future__ import annotations

from typing import Any

COORDINATOR = "coordinator"
DOCTOR = "doctor"
SECRETARY = "secretary"
LEAD = "lead"
ADMIN = "admin"
ALL_ROLES = (COORDINATOR, DOCTOR, SECRETARY, LEAD, ADMIN)


def user_roles(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_kontaktpunkt_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._kontaktpunkt_roles = cached
    return cached


def remember(user: Any, *, role_names: list[str], section_ids: list[int]) -> None:
    """Prime the caches below with roles and sections loaded together with the user
    (core.auth), so that no check asks the database again during this request."""
    user._kontaktpunkt_roles = set(role_names)
    user._kontaktpunkt_sections = sorted(section_ids)


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

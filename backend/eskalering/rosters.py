"""Rosters: who is ward doctor and on call when. A lead edits them in the week view or imports
a CSV; escalations resolve their doctor from them at the moment of escalation."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core import access
from core.access import Action
from core.exceptions import InvalidInput
from core.models import Section

from .models import RosterRole, RosterShift

CSV_COLUMNS = ["role", "doctor", "starts_at", "ends_at"]


def _check_shift(
    *, section: Section, role: str, doctor: Any, starts_at: dt.datetime, ends_at: dt.datetime
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if role not in RosterRole.values:
        errors["role"] = [_("Må være ward_doctor eller on_call.")]
    if doctor is None or not access.may(doctor, Action.ANSWER_ESCALATION, section.pk):
        errors["doctor"] = [_("Må være lege i seksjonen.")]
    if ends_at <= starts_at:
        errors["ends_at"] = [_("Vakten må slutte etter at den begynner.")]
    return errors


@transaction.atomic
def add_shift(
    *,
    by: Any,
    section: Section,
    role: str,
    doctor: Any,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
) -> RosterShift:
    access.require(by, Action.MANAGE_ROSTER, section.pk)
    errors = _check_shift(
        section=section, role=role, doctor=doctor, starts_at=starts_at, ends_at=ends_at
    )
    if errors:
        raise InvalidInput(_("Vakten kan ikke lagres."), fields=errors)
    return RosterShift.objects.create(
        section=section, role=role, doctor=doctor, starts_at=starts_at, ends_at=ends_at
    )


@transaction.atomic
def remove_shift(*, by: Any, shift: RosterShift) -> None:
    access.require(by, Action.MANAGE_ROSTER, shift.section_id)
    shift.delete()


def _aware(value: str) -> dt.datetime | None:
    parsed = parse_datetime(value.strip())
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


@transaction.atomic
def import_csv(*, by: Any, section: Section, text: str) -> list[RosterShift]:
    """Import shifts from CSV with the header `role,doctor,starts_at,ends_at` (doctor is a
    username; times ISO 8601, local time when no offset is given). All or nothing: one bad line
    and nothing is stored, with every bad line named."""
    access.require(by, Action.MANAGE_ROSTER, section.pk)
    reader = csv.DictReader(io.StringIO(text.strip()))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != CSV_COLUMNS:
        raise InvalidInput(
            _("Første linje må være: role,doctor,starts_at,ends_at"),
            fields={"csv": [_("Feil overskrift.")]},
        )
    users = {u.get_username(): u for u in get_user_model().objects.all()}
    shifts, errors = [], {}
    for number, row in enumerate(reader, start=2):
        starts_at, ends_at = _aware(row["starts_at"] or ""), _aware(row["ends_at"] or "")
        if starts_at is None or ends_at is None:
            errors[f"line {number}"] = [_("Ugyldig tidspunkt.")]
            continue
        doctor = users.get((row["doctor"] or "").strip())
        role = (row["role"] or "").strip()
        problems = _check_shift(
            section=section, role=role, doctor=doctor, starts_at=starts_at, ends_at=ends_at
        )
        if problems:
            errors[f"line {number}"] = [m for ms in problems.values() for m in ms]
            continue
        shifts.append(
            RosterShift(
                section=section, role=role, doctor=doctor, starts_at=starts_at, ends_at=ends_at
            )
        )
    if errors:
        raise InvalidInput(_("Vaktplanen ble ikke importert."), fields=errors)
    if not shifts:
        raise InvalidInput(_("Fila har ingen vakter."), fields={"csv": [_("Tom.")]})
    return RosterShift.objects.bulk_create(shifts)

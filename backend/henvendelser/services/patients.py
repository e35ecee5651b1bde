"""Registering and changing patients and their contacts."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access, audit
from core.access import Action
from core.exceptions import InvalidInput
from core.models import Section

from ..models import Contact, Patient
from ..validators import national_id_birth_day_month

PATIENT_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "national_id",
    "responsible_doctor",
    "diagnosis",
    "protocol",
)


def _check_birth_date_matches(national_id: str, birth_date: Any) -> None:
    if not national_id or birth_date is None:
        return
    day, month = national_id_birth_day_month(national_id)
    if (day, month, int(national_id[4:6])) != (
        birth_date.day,
        birth_date.month,
        birth_date.year % 100,
    ):
        raise InvalidInput(
            _("Fødselsnummeret passer ikke med fødselsdatoen."),
            fields={"national_id": [_("Fødselsnummeret passer ikke med fødselsdatoen.")]},
        )


def _check_doctor(doctor: Any, section_id: int) -> None:
    if doctor is None:
        return
    if not access.may(doctor, Action.ANSWER_ESCALATION, section_id):
        raise InvalidInput(
            _("Pasientansvarlig lege må være lege i seksjonen."),
            fields={"responsible_doctor": [_("Må være lege i seksjonen.")]},
        )


def _save_patient(patient: Patient) -> None:
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        raise InvalidInput(
            _("En pasient med dette fødselsnummeret finnes allerede i seksjonen."),
            fields={"national_id": [_("Finnes allerede.")]},
        ) from None


@transaction.atomic
def create_patient(*, by: Any, section: Section, **fields: Any) -> Patient:
    access.require(by, Action.WRITE_PATIENT, section.pk)
    patient = Patient(section=section, **{k: v for k, v in fields.items() if k in PATIENT_FIELDS})
    _check_birth_date_matches(patient.national_id, patient.birth_date)
    _check_doctor(patient.responsible_doctor, section.pk)
    _save_patient(patient)
    audit.record(
        user=by, action="patient.create", obj=patient, patient_id=patient.pk, section_id=section.pk
    )
    return patient


@transaction.atomic
def update_patient(*, by: Any, patient: Patient, **fields: Any) -> Patient:
    access.require(by, Action.WRITE_PATIENT, patient.section_id)
    changed = sorted(k for k in fields if k in PATIENT_FIELDS)
    for name in changed:
        setattr(patient, name, fields[name])
    _check_birth_date_matches(patient.national_id, patient.birth_date)
    _check_doctor(patient.responsible_doctor, patient.section_id)
    _save_patient(patient)
    audit.record(
        user=by,
        action="patient.update",
        obj=patient,
        patient_id=patient.pk,
        section_id=patient.section_id,
        detail={"fields": changed},
    )
    return patient


@transaction.atomic
def add_contact(
    *,
    by: Any,
    patient: Patient,
    name: str,
    relation: str,
    phone: str,
    language: str = "nb",
    sms_consent: bool = False,
) -> Contact:
    """A parent, guardian or the patient. Consent to SMS is recorded with who and when."""
    access.require(by, Action.WRITE_CONTACT, patient.section_id)
    now = timezone.now()
    contact = Contact.objects.create(
        patient=patient,
        name=name,
        relation=relation,
        phone=phone,
        language=language,
        sms_consent=sms_consent,
        sms_consent_at=now if sms_consent else None,
        sms_consent_by=by if sms_consent else None,
    )
    audit.record(
        user=by,
        action="contact.create",
        obj=contact,
        patient_id=patient.pk,
        section_id=patient.section_id,
    )
    return contact


CONTACT_FIELDS = ("name", "relation", "phone", "language", "sms_consent")


@transaction.atomic
def update_contact(*, by: Any, contact: Contact, **fields: Any) -> Contact:
    """Change a contact. Consent given is recorded with who and when; consent withdrawn clears
    that. The audit names the fields changed, not their values."""
    access.require(by, Action.WRITE_CONTACT, contact.patient.section_id)
    changed = sorted(k for k in fields if k in CONTACT_FIELDS and getattr(contact, k) != fields[k])
    for name in changed:
        setattr(contact, name, fields[name])
    if "sms_consent" in changed:
        contact.sms_consent_at = timezone.now() if contact.sms_consent else None
        contact.sms_consent_by = by if contact.sms_consent else None
    if changed:
        contact.save()
    audit.record(
        user=by,
        action="contact.update",
        obj=contact,
        patient_id=contact.patient_id,
        section_id=contact.patient.section_id,
        detail={"fields": changed},
    )
    return contact

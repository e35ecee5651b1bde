"""What people do with an inquiry: log it by hand, claim, release, add notes, close."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from core import access, sql
from core.access import Action
from core.exceptions import AlreadyClaimed, InvalidInput, InvalidTransition, NotClaimant

from .. import lifecycle
from ..events import (
    INQUIRY_CLAIMED,
    INQUIRY_CREATED,
    INQUIRY_RELEASED,
    INQUIRY_UPDATED,
    publish_inquiry_event,
)
from ..models import EntryKind, Identification, Inquiry, Patient, Status
from ..selectors import as_new
from ..serializers import display_name
from ._common import add_entry, audit_inquiry, lock_inquiry, now_or, touch_and_publish
from .intake import identify_caller
from .patients import add_contact


@transaction.atomic
def log_inquiry(
    *,
    by: Any,
    channel: str,
    section_id: int,
    patient: Patient | None = None,
    caller_phone: str = "",
    caller_name: str = "",
    summary: str = "",
    category: str = "",
    now: dt.datetime | None = None,
    alarm_terms: list[str] | None = None,
) -> Inquiry:
    """A call or visit logged by hand in the section `section_id` (its settings are not needed,
    so it is not read). The patient, if given, decides the section; a caller's
    number that belongs to the patient's contact links the contact. `alarm_terms` (a family's
    words screened already) put it at the top of the queue as a possible emergency."""
    now = now_or(now)
    if patient is not None and patient.section_id != section_id:
        raise InvalidInput(
            _("Pasienten hører til en annen seksjon."), fields={"patient": ["wrong_section"]}
        )
    access.require(by, Action.LOG_INQUIRY, section_id)
    # Who is calling is read before the section's lock is taken: a read needs no lock, and
    # each statement under it holds up the section's other writers.
    contact = None
    identification: str = Identification.UNKNOWN
    if caller_phone:
        found_patient, found_contact, identification = identify_caller(
            section_id=section_id, phone=caller_phone
        )
        if patient is None:
            patient, contact = found_patient, found_contact
        elif found_contact is not None and found_contact.patient_id == patient.pk:
            contact = found_contact
    if patient is not None:
        identification = Identification.IDENTIFIED
        if contact is None and caller_phone:
            contact = patient.contacts.filter(phone=caller_phone).first()
    # No early section lock: a call logged by hand starts a new inquiry (nothing to look up
    # under the lock, unlike a text joining its family's open one), and the event's statement
    # locks the section row as it numbers the event (core.realtime), so the section's other
    # writers wait for that statement and the commit only, not for the inquiry's insert too.
    inquiry = Inquiry(
        section_id=section_id,
        channel=channel,
        patient=patient,
        contact=contact,
        caller_phone=caller_phone,
        caller_name=caller_name or (contact.name if contact else ""),
        identification=identification,
        summary=summary,
        category=category,
        alarm=bool(alarm_terms),
        alarm_terms=sorted(set(alarm_terms or [])),
        created_at=now,
        updated_at=now,
    )
    sql.insert(inquiry, needs_key=True)  # as inquiry.save(), a statement compiled once
    # The timeline entry and the audit record are written by the event's statement, the one
    # that locks the section: two round trips fewer (nothing here needs their keys or reads
    # them back).
    with sql.riding_along():
        add_entry(
            inquiry=inquiry,
            kind=EntryKind.CREATED,
            at=now,
            author=by,
            text=summary,
            data={"channel": channel, "logged_by_hand": True},
        )
        audit_inquiry(user=by, action="inquiry.create", inquiry=inquiry)
        publish_inquiry_event(inquiry=as_new(inquiry), type=INQUIRY_CREATED)
    return inquiry


@transaction.atomic
def claim_inquiry(
    *, inquiry_id: int, by: Any, to: Any = None, now: dt.datetime | None = None
) -> Inquiry:
    """Take an inquiry, or hand it to `to`. One claimant at a time: someone else's claim is
    refused until it is released, except that the claimant or a lead may hand it over."""
    now = now_or(now)
    inquiry = lock_inquiry(inquiry_id)
    access.require(by, Action.WORK_INQUIRY, inquiry.section_id)
    target = to or by
    new_status = lifecycle.next_status("claim", inquiry.status)
    holder = inquiry.claimed_by
    if holder is not None and holder.pk != by.pk and not access.may(by, Action.REASSIGN_INQUIRY):
        raise AlreadyClaimed(
            _("Henvendelsen er allerede tatt av %(name)s.") % {"name": display_name(holder)},
            fields={"claimed_by": holder.pk},
        )
    if target.pk != by.pk:
        if (
            holder is not None
            and holder.pk != by.pk
            and not access.may(by, Action.REASSIGN_INQUIRY)
        ):
            raise NotClaimant(_("Bare den som har henvendelsen, eller en leder, kan gi den bort."))
        if not access.may(target, Action.WORK_INQUIRY, inquiry.section_id):
            raise InvalidInput(
                _("Mottakeren kan ikke ta henvendelser i denne seksjonen."),
                fields={"to": ["not_a_coordinator_here"]},
            )
    if holder is not None and holder.pk == target.pk and inquiry.status == new_status:
        return inquiry  # claiming what you already hold changes nothing
    old_status = inquiry.status
    inquiry.status = new_status
    inquiry.claimed_by = target
    inquiry.claimed_at = now
    add_entry(
        inquiry=inquiry,
        kind=EntryKind.CLAIMED,
        at=now,
        author=by,
        data={"to": target.pk, "from": holder.pk if holder else None, "status_from": old_status},
    )
    audit_inquiry(user=by, action="inquiry.claim", inquiry=inquiry, to=target.pk)
    touch_and_publish(inquiry=inquiry, event_type=INQUIRY_CLAIMED, now=now)
    return inquiry


@transaction.atomic
def release_inquiry(*, inquiry_id: int, by: Any, now: dt.datetime | None = None) -> Inquiry:
    """Give an inquiry back to the queue. Only its claimant, or a lead, may."""
    now = now_or(now)
    inquiry = lock_inquiry(inquiry_id)
    access.require(by, Action.WORK_INQUIRY, inquiry.section_id)
    if inquiry.claimed_by_id is None:
        raise NotClaimant(_("Ingen har tatt denne henvendelsen."))
    if inquiry.claimed_by_id != by.pk and not access.may(by, Action.REASSIGN_INQUIRY):
        raise NotClaimant(
            _("Bare den som har tatt henvendelsen, eller en leder, kan gi den fra seg.")
        )
    inquiry.status = lifecycle.next_status("release", inquiry.status)
    previous = inquiry.claimed_by_id
    inquiry.claimed_by = None
    inquiry.claimed_at = None
    add_entry(inquiry=inquiry, kind=EntryKind.RELEASED, at=now, author=by, data={"from": previous})
    audit_inquiry(user=by, action="inquiry.release", inquiry=inquiry)
    touch_and_publish(inquiry=inquiry, event_type=INQUIRY_RELEASED, now=now)
    return inquiry


@transaction.atomic
def add_note(*, inquiry_id: int, by: Any, text: str, now: dt.datetime | None = None) -> Inquiry:
    """A note on the timeline. Closed inquiries take notes too: documentation may come late."""
    now = now_or(now)
    if not text.strip():
        raise InvalidInput(_("Notatet er tomt."), fields={"text": ["blank"]})
    inquiry = lock_inquiry(inquiry_id)
    access.require(by, Action.WRITE_NOTE, inquiry.section_id)
    add_entry(inquiry=inquiry, kind=EntryKind.NOTE, at=now, author=by, text=text.strip())
    audit_inquiry(user=by, action="inquiry.note", inquiry=inquiry)
    touch_and_publish(inquiry=inquiry, event_type=INQUIRY_UPDATED, now=now)
    return inquiry


@transaction.atomic
def close_inquiry(
    *, inquiry_id: int, by: Any, resolution: str, now: dt.datetime | None = None
) -> Inquiry:
    """Close with a written resolution. Someone else's claimed inquiry is theirs to close
    (or a lead's); an inquiry waiting for a doctor cannot be closed."""
    now = now_or(now)
    if not resolution.strip():
        raise InvalidInput(
            _("Skriv hva som ble gjort før du lukker."), fields={"resolution": ["blank"]}
        )
    inquiry = lock_inquiry(inquiry_id)
    access.require(by, Action.WORK_INQUIRY, inquiry.section_id)
    new_status = lifecycle.next_status("close", inquiry.status)
    holder = inquiry.claimed_by
    if holder is not None and holder.pk != by.pk and not access.may(by, Action.REASSIGN_INQUIRY):
        raise AlreadyClaimed(
            _("Henvendelsen er tatt av %(name)s.") % {"name": display_name(holder)},
            fields={"claimed_by": holder.pk},
        )
    inquiry.status = new_status
    inquiry.closed_at = now
    inquiry.resolution = resolution.strip()
    inquiry.needs_callback = False
    add_entry(inquiry=inquiry, kind=EntryKind.CLOSED, at=now, author=by, text=inquiry.resolution)
    audit_inquiry(user=by, action="inquiry.close", inquiry=inquiry)
    touch_and_publish(inquiry=inquiry, event_type=INQUIRY_UPDATED, now=now)
    return inquiry


@transaction.atomic
def link_patient(
    *,
    inquiry_id: int,
    by: Any,
    patient: Patient,
    save_number_as: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> Inquiry:
    """Say which child an unknown or ambiguous caller is about. The caller's number becomes
    the inquiry's contact when the patient already has it; with `save_number_as` (`name`,
    `relation`) it is saved as a new contact of the patient (no SMS consent: that is asked
    and recorded separately), so the next text from it is recognised."""
    now = now_or(now)
    inquiry = lock_inquiry(inquiry_id)
    access.require(by, Action.WORK_INQUIRY, inquiry.section_id)
    if inquiry.status == Status.CLOSED:
        raise InvalidTransition(_("Henvendelsen er lukket."), fields={"status": inquiry.status})
    if patient.section_id != inquiry.section_id:
        raise InvalidInput(
            _("Pasienten hører til en annen seksjon."), fields={"patient": ["other_section"]}
        )
    phone = inquiry.caller_phone
    contact = patient.contacts.filter(phone=phone).first() if phone else None
    if inquiry.patient_id == patient.pk and (contact is not None or not save_number_as):
        return inquiry  # already so (a second press): nothing new to record
    if contact is None and save_number_as and phone:
        contact = add_contact(
            by=by,
            patient=patient,
            name=save_number_as["name"],
            relation=save_number_as["relation"],
            phone=phone,
        )
    previous = inquiry.patient_id
    inquiry.patient, inquiry.contact = patient, contact
    inquiry.identification = Identification.IDENTIFIED
    add_entry(
        inquiry=inquiry,
        kind=EntryKind.PATIENT_LINKED,
        at=now,
        author=by,
        data={"patient": patient.pk, "previous": previous, "contact": contact and contact.pk},
    )
    audit_inquiry(
        user=by,
        action="inquiry.link_patient",
        inquiry=inquiry,
        previous_patient=previous,
        contact=contact and contact.pk,
    )
    touch_and_publish(inquiry=inquiry, event_type=INQUIRY_UPDATED, now=now)
    return inquiry

"""Inquiries that arrive by themselves: text messages and phone calls through Twilio.

Each is idempotent on Twilio's id (MessageSid, CallSid, RecordingSid): the timeline entry's
`external_id` and the call's `call_sid` are unique in the database, so a retried webhook, even
two retries racing each other, records the event once.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core import sql
from core.models import Section
from core.realtime import lock_section
from triage.alarm import screen_with_active_rules

from .. import lifecycle
from ..events import INQUIRY_CREATED, INQUIRY_UPDATED, publish_inquiry_event
from ..models import (
    Call,
    Channel,
    Contact,
    EntryKind,
    Identification,
    Inquiry,
    Patient,
    Status,
    TimelineEntry,
)
from ..selectors import as_new, attach_escalations, with_escalations
from ..validators import safe_recording_url
from ._common import add_entry, audit_inquiry, now_or, touch_and_publish

logger = logging.getLogger(__name__)

SUMMARY_FROM_SMS_CHARS = 280
FINAL_CALL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}


@dataclass(frozen=True)
class IntakeResult:
    inquiry: Inquiry | None
    created: bool
    duplicate: bool


@functools.cache
def section_by_number_statement(vendor: str) -> tuple[str, sql.Reader]:
    """One statement for the section whose Twilio number was called or texted, falling back to
    the first section, so a message to a number nobody configured is still kept, never
    dropped: a row of the section's columns and `fallback` (1 when it is the first section
    standing in), or no row when there is no section at all (read by `section_from_row`).
    Every webhook asks it (core.sql); the SMS webhook inside its insert (services/inbox.py)."""
    columns, reader = sql.select_list(Section, "s")
    section, key = sql.table(Section), sql.column(Section, "id")
    phone = sql.column(Section, "phone_number")
    statement = (
        f"SELECT {columns}, 0 AS fallback FROM {section} s WHERE s.{phone} = %s "  # noqa: S608
        f"UNION ALL SELECT {columns}, 1 FROM {section} s "
        f"WHERE s.{key} = (SELECT MIN({key}) FROM {section}) ORDER BY fallback LIMIT 1"
    )
    return statement, reader


def section_from_row(
    row: Any, reader: sql.Reader, on: BaseDatabaseWrapper | None = None
) -> Section:
    """The section from a row of `section_by_number_statement` (its columns, then `fallback`),
    read on `on` (by default Django's connection)."""
    if row is None:
        raise RuntimeError("No section exists to receive inquiries")
    section: Section = reader.instance(row[: len(reader.fields)], on)
    if row[len(reader.fields)]:
        logger.warning("inbound to an unconfigured number routed to section %s", section.pk)
    return section


def section_for_number(to_phone: str) -> Section:
    """The section whose Twilio number was called or texted, or the first section standing in
    (`section_by_number_statement`)."""
    statement, reader = section_by_number_statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(statement, [to_phone])
        return section_from_row(cursor.fetchone(), reader)


def _open_inquiries(section_id: int) -> QuerySet[Inquiry]:
    """The section's open inquiries, row-locked (the caller holds the section lock)."""
    return (
        Inquiry.objects.select_for_update(of=("self",))
        .filter(section_id=section_id)
        .exclude(status=Status.CLOSED)
    )


def _open_inquiry_of(section_id: int, phone: str) -> QuerySet[Inquiry]:
    """The number's newest open inquiry (at most one row)."""
    return _open_inquiries(section_id).filter(caller_phone=phone).order_by("-created_at", "-pk")[:1]


def _open_inquiries_of(section_id: int, phones: list[str]) -> QuerySet[Inquiry]:
    """The numbers' open inquiries with what their queue rows show, newest first per number."""
    return with_escalations(
        _open_inquiries(section_id)
        .select_related("patient", "contact", "claimed_by")
        .filter(caller_phone__in=phones)
    ).order_by("caller_phone", "-created_at", "-pk")


def _contacts_with(section_id: int, phones: list[str]) -> QuerySet[Contact]:
    return (
        Contact.objects.filter(patient__section_id=section_id, phone__in=phones)
        .select_related("patient")
        .order_by("pk")
    )


def identify_caller(*, section_id: int, phone: str) -> tuple[Patient | None, Contact | None, str]:
    """Who a number is in the section (a prepared read: one on every text and logged call)."""
    return _identified(sql.prepared("contacts-with", _contacts_with, section_id, [phone]))


def _identified(contacts: list[Contact]) -> tuple[Patient | None, Contact | None, str]:
    """Who a number is, from the section's contacts with that number."""
    patients = {contact.patient_id for contact in contacts}
    if len(patients) == 1:
        return contacts[0].patient, contacts[0], Identification.IDENTIFIED
    if len(patients) > 1:
        # A parent of two children in treatment: the coordinator picks the child.
        return None, None, Identification.AMBIGUOUS
    return None, None, Identification.UNKNOWN


class Callers:
    """What intake looks up about the numbers of a batch of texts, read once for the batch
    while the section lock is held: each number's open inquiry (row-locked, with what its queue
    row shows) and the section's contacts with that number. An inquiry started during the
    batch is remembered, so the number's next text joins it. Two statements for the batch
    instead of two per text."""

    def __init__(self, section: Section, phones: Iterable[str]) -> None:
        wanted = sorted({phone for phone in phones if phone})
        # Prepared reads (core.sql), one shape per number of distinct numbers in a batch.
        opened = sql.prepared("open-inquiries-of", _open_inquiries_of, section.pk, wanted)
        self._open: dict[str, Inquiry] = {}
        for inquiry in attach_escalations(opened):
            self._open.setdefault(inquiry.caller_phone, inquiry)  # the newest per number
        self._contacts: dict[str, list[Contact]] = {}
        for contact in sql.prepared("contacts-with", _contacts_with, section.pk, wanted):
            self._contacts.setdefault(contact.phone, []).append(contact)

    def open_inquiry(self, phone: str) -> Inquiry | None:
        return self._open.get(phone)

    def identify(self, phone: str) -> tuple[Patient | None, Contact | None, str]:
        return _identified(self._contacts.get(phone, []))

    def started(self, inquiry: Inquiry) -> None:
        self._open[inquiry.caller_phone] = inquiry


def _first_entry(inquiry: Inquiry, channel: str, now: dt.datetime) -> TimelineEntry:
    """The first entry of an inquiry that arrived by itself (not yet stored)."""
    return TimelineEntry(inquiry=inquiry, kind=EntryKind.CREATED, at=now, data={"channel": channel})


def join_or_start_inquiry(
    *,
    section: Section,
    phone: str,
    channel: str,
    summary: str,
    now: dt.datetime,
    alarm_terms: list[str] | None = None,
    created_entry: bool = True,
    callers: Callers | None = None,
) -> tuple[Inquiry, bool]:
    """The caller's open inquiry (re-opened if it was answered), or a new one, inserted with
    `alarm_terms` flagged already and (unless `created_entry` is False: the caller stores it)
    its first timeline entry; `callers` has the number looked up already (a batch). The caller
    must hold the section lock, so two messages cannot both start one."""
    if callers is not None:
        existing = callers.open_inquiry(phone)
    else:
        found = sql.prepared("open-inquiry-of", _open_inquiry_of, section.pk, phone)
        existing = found[0] if found else None
    if existing is not None and phone:
        if existing.status == Status.ANSWERED:
            action = "reopen_claimed" if existing.claimed_by_id else "reopen_unclaimed"
            old = existing.status
            existing.status = lifecycle.next_status(action, existing.status)
            add_entry(
                inquiry=existing,
                kind=EntryKind.STATUS,
                at=now,
                data={"from": old, "to": existing.status, "reason": "new_inbound"},
            )
        return existing, False
    if callers is not None:
        patient, contact, identification = callers.identify(phone)
    else:
        patient, contact, identification = identify_caller(section_id=section.pk, phone=phone)
    inquiry = Inquiry(
        section=section,
        channel=channel,
        patient=patient,
        contact=contact,
        caller_phone=phone,
        caller_name=contact.name if contact else "",
        identification=identification,
        summary=summary,
        alarm=bool(alarm_terms),
        alarm_terms=sorted(set(alarm_terms or [])),
        created_at=now,
        updated_at=now,
    )
    sql.insert(inquiry, needs_key=True)  # as inquiry.save(), a statement compiled once
    if created_entry:
        sql.insert(_first_entry(inquiry, channel, now))
    as_new(inquiry)
    if callers is not None:
        callers.started(inquiry)
    return inquiry, True


def flag_alarm(inquiry: Inquiry, text: str, alarm_terms: list[str] | None = None) -> list[str]:
    """Screen a family's words (or take `alarm_terms`, screened already); a possible emergency
    goes to the top of the queue until someone assesses it. Returns the alarm terms found."""
    if alarm_terms is None:
        alarm_terms = screen_with_active_rules(text)
    if alarm_terms:
        inquiry.alarm = True
        inquiry.alarm_terms = sorted(set(inquiry.alarm_terms or []) | set(alarm_terms))
    return alarm_terms


def _audit_and_publish(
    inquiry: Inquiry, *, action: str, created: bool, now: dt.datetime, stored: bool = False
) -> None:
    """What every inquiry that arrives by itself ends with: the audit record (no user: the
    family) and the queue's event. `stored`: the row in the database already holds every
    field as it is (an inquiry just created whole), so it is not written again."""
    audit_inquiry(user=None, action=action, inquiry=inquiry)
    event_type = INQUIRY_CREATED if created else INQUIRY_UPDATED
    if stored:
        publish_inquiry_event(inquiry=inquiry, type=event_type)
    else:
        touch_and_publish(inquiry=inquiry, event_type=event_type, now=now)


def record_sms(
    *,
    section: Section,
    message_sid: str,
    from_phone: str,
    body: str,
    num_media: int,
    now: dt.datetime,
    screened: list[str] | None = None,
    callers: Callers | None = None,
) -> IntakeResult:
    """Put a text on the sender's open inquiry, or start one. The caller holds the section
    lock inside its transaction; a second text with the same MessageSid raises IntegrityError
    (the timeline's unique external_id). A new inquiry is inserted whole (alarm included) with
    its two entries in one INSERT, and not updated after."""
    alarm_terms = screened if screened is not None else screen_with_active_rules(body)
    inquiry, created = join_or_start_inquiry(
        section=section,
        phone=from_phone,
        channel=Channel.SMS,
        summary=body[:SUMMARY_FROM_SMS_CHARS],
        now=now,
        alarm_terms=alarm_terms,
        created_entry=False,
        callers=callers,
    )
    if not created:  # a new one was inserted with its alarm flags
        flag_alarm(inquiry, body, alarm_terms)
    entries = [_first_entry(inquiry, Channel.SMS, now)] if created else []
    entries.append(
        TimelineEntry(
            inquiry=inquiry,
            kind=EntryKind.SMS_IN,
            at=now,
            text=body,
            data={"num_media": num_media, "alarm_terms": alarm_terms},
            external_id=message_sid,
        )
    )
    sql.insert_all(entries)  # riding along with the event in a drain (services/inbox.py)
    inquiry.latest_text_value = body  # type: ignore[attr-defined]  # the newest inbound
    _audit_and_publish(inquiry, action="inquiry.sms_in", created=created, now=now, stored=created)
    return IntakeResult(inquiry=inquiry, created=created, duplicate=False)


def receive_sms(
    *,
    message_sid: str,
    from_phone: str,
    to_phone: str,
    body: str,
    num_media: int = 0,
    now: dt.datetime | None = None,
) -> IntakeResult:
    """A text put on an inquiry at once, in the caller's process (the webhook goes through
    the inbox instead: services/inbox.py); once per MessageSid."""
    now = now_or(now)
    section = section_for_number(to_phone)
    # Before the section lock, what needs none: a retry's quick answer and the alarm screen.
    # Two deliveries racing past this check are still told apart by the unique external_id
    # (the second rolls back whole, below).
    if TimelineEntry.objects.filter(external_id=message_sid).exists():
        return IntakeResult(inquiry=None, created=False, duplicate=True)
    screened = screen_with_active_rules(body)
    try:
        with transaction.atomic():
            lock_section(section.pk)
            return record_sms(
                section=section,
                message_sid=message_sid,
                from_phone=from_phone,
                body=body,
                num_media=num_media,
                now=now,
                screened=screened,
            )
    except IntegrityError:
        # Two deliveries of the same MessageSid raced; the other one committed it.
        if TimelineEntry.objects.filter(external_id=message_sid).exists():
            return IntakeResult(inquiry=None, created=False, duplicate=True)
        raise


def receive_call(
    *,
    call_sid: str,
    from_phone: str,
    to_phone: str,
    answerable: bool,
    now: dt.datetime | None = None,
) -> tuple[IntakeResult, Call | None]:
    """An incoming call is logged on the caller's inquiry; once per CallSid.
    `answerable` is False out of hours: such a call is a missed call from the start."""
    now = now_or(now)
    section = section_for_number(to_phone)
    try:
        with transaction.atomic():
            lock_section(section.pk)
            existing = Call.objects.filter(call_sid=call_sid).select_related("inquiry").first()
            if existing is not None:
                return IntakeResult(existing.inquiry, False, True), existing
            inquiry, created = join_or_start_inquiry(
                section=section,
                phone=from_phone,
                channel=Channel.PHONE,
                summary=_("Innkommende anrop"),
                now=now,
            )
            call = Call.objects.create(
                call_sid=call_sid,
                inquiry=inquiry,
                from_phone=from_phone,
                started_at=now,
            )
            add_entry(
                inquiry=inquiry,
                kind=EntryKind.CALL_IN,
                at=now,
                external_id=call_sid,
                data={"in_opening_hours": answerable},
            )
            if not answerable:
                _mark_missed(call=call, inquiry=inquiry, now=now)
            _audit_and_publish(inquiry, action="inquiry.call_in", created=created, now=now)
    except IntegrityError:
        existing = Call.objects.filter(call_sid=call_sid).select_related("inquiry").first()
        if existing is None:
            raise
        return IntakeResult(existing.inquiry, False, True), existing
    return IntakeResult(inquiry, created, False), call


def _mark_missed(*, call: Call, inquiry: Inquiry, now: dt.datetime) -> bool:
    if call.missed:
        return False
    call.missed = True
    call.save(update_fields=["missed"])
    inquiry.needs_callback = True
    add_entry(
        inquiry=inquiry,
        kind=EntryKind.CALL_MISSED,
        at=now,
        external_id=f"missed:{call.call_sid}",
        text=_("Ubesvart anrop: ring tilbake."),
    )
    return True


def _locked_call(call_sid: str) -> Call | None:
    section_id = (
        Call.objects.filter(call_sid=call_sid).values_list("inquiry__section_id", flat=True).first()
    )
    if section_id is None:
        return None
    lock_section(section_id)
    return (
        Call.objects.select_for_update(of=("self",))
        .select_related("inquiry")
        .get(call_sid=call_sid)
    )


def record_dial_outcome(
    *, call_sid: str, dial_status: str, now: dt.datetime | None = None
) -> Call | None:
    """The coordinator's phone answered (`completed`) or not (busy, no-answer, failed...)."""
    now = now_or(now)
    with transaction.atomic():
        call = _locked_call(call_sid)
        if call is None:
            return None
        if dial_status == "completed":
            if not call.answered:
                call.answered = True
                call.save(update_fields=["answered"])
            return call
        if _mark_missed(call=call, inquiry=call.inquiry, now=now):
            touch_and_publish(inquiry=call.inquiry, event_type=INQUIRY_UPDATED, now=now)
    return call


def attach_voicemail(
    *,
    call_sid: str,
    recording_sid: str,
    recording_url: str,
    duration_seconds: int | None,
    now: dt.datetime | None = None,
) -> Call | None:
    """A voicemail left after an unanswered call is put on the caller's inquiry, once. A
    recording URL that is not Twilio's is dropped (the voicemail is still recorded)."""
    now = now_or(now)
    recording_url = safe_recording_url(recording_url)
    with transaction.atomic():
        call = _locked_call(call_sid)
        if call is None:
            return None
        if TimelineEntry.objects.filter(external_id=recording_sid).exists():
            return call
        call.recording_sid = recording_sid
        call.recording_url = recording_url
        call.save(update_fields=["recording_sid", "recording_url"])
        _mark_missed(call=call, inquiry=call.inquiry, now=now)
        add_entry(
            inquiry=call.inquiry,
            kind=EntryKind.VOICEMAIL,
            at=now,
            external_id=recording_sid,
            data={"recording_url": recording_url, "duration_seconds": duration_seconds},
        )
        touch_and_publish(inquiry=call.inquiry, event_type=INQUIRY_UPDATED, now=now)
    return call


def update_call_status(
    *, call_sid: str, status: str, duration_seconds: int | None, now: dt.datetime | None = None
) -> Call | None:
    """Twilio's status callback for the caller's leg. A call that ends unanswered is missed."""
    now = now_or(now)
    with transaction.atomic():
        call = _locked_call(call_sid)
        if call is None:
            return None
        if call.status in FINAL_CALL_STATUSES:
            return call  # already final; callbacks may arrive twice or out of order
        call.status = status
        if duration_seconds is not None:
            call.duration_seconds = duration_seconds
        call.save(update_fields=["status", "duration_seconds"])
        if status not in FINAL_CALL_STATUSES:
            return call
        if call.answered:
            add_entry(
                inquiry=call.inquiry,
                kind=EntryKind.CALL_ENDED,
                at=now,
                external_id=f"ended:{call_sid}",
                data={"duration_seconds": duration_seconds},
            )
            touch_and_publish(inquiry=call.inquiry, event_type=INQUIRY_UPDATED, now=now)
        elif _mark_missed(call=call, inquiry=call.inquiry, now=now):
            touch_and_publish(inquiry=call.inquiry, event_type=INQUIRY_UPDATED, now=now)
    return call

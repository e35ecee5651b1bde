"""Escalations: from the coordinator to the right doctor, tracked to the answer.

Every function runs in one transaction, takes the section lock first (see core.realtime), writes
the inquiry's timeline and the audit log, and sends events after commit: `inquiry.*` and
`escalation.answered` to the section's queue, `escalation.*` to the doctors concerned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access, audit, realtime
from core.access import Action
from core.exceptions import (
    AlreadyEscalated,
    InvalidInput,
    NoDoctorAvailable,
    NotAllowed,
)
from henvendelser import lifecycle
from henvendelser.events import INQUIRY_UPDATED
from henvendelser.models import EntryKind, Inquiry
from henvendelser.serializers import display_name
from henvendelser.services._common import (
    add_entry,
    audit_inquiry,
    lock_inquiry,
    now_or,
    touch_and_publish,
)
from triage.deadlines import deadline_for
from triage.urgency import urgency_of_inquiry

from .models import Breach, DoctorNotice, Escalation, RosterRole, RosterShift, State, Target

ESCALATION_CREATED = "escalation.created"
ESCALATION_UPDATED = "escalation.updated"
ESCALATION_ANSWERED = "escalation.answered"
OPEN_STATES = (State.OPEN, State.ACKNOWLEDGED)
GRADE_WORDS = {"red": "rød", "amber": "gul", "green": "grønn"}


# --- Who answers -------------------------------------------------------------------------------


def doctor_on_roster(*, section_id: int, role: str, at: dt.datetime) -> Any | None:
    shift = (
        RosterShift.objects.filter(
            section_id=section_id, role=role, starts_at__lte=at, ends_at__gt=at
        )
        .select_related("doctor")
        .order_by("-starts_at", "-pk")
        .first()
    )
    return shift.doctor if shift else None


def resolve_doctor(*, inquiry: Inquiry, target: str, doctor: Any, at: dt.datetime) -> Any:
    """The doctor chosen, or the one the target means now; the on-call doctor when nobody else
    is there; refused when there is no one at all (the coordinator must phone)."""
    if doctor is not None:
        if not access.may(doctor, Action.ANSWER_ESCALATION, inquiry.section_id):
            raise InvalidInput(
                _("Mottakeren er ikke lege i seksjonen."),
                fields={"doctor": [_("Må være lege i seksjonen.")]},
            )
        return doctor
    found = None
    if target == Target.WARD_DOCTOR:
        found = doctor_on_roster(section_id=inquiry.section_id, role=RosterRole.WARD_DOCTOR, at=at)
    elif target == Target.RESPONSIBLE_DOCTOR and inquiry.patient is not None:
        found = inquiry.patient.responsible_doctor
    if found is None:
        found = doctor_on_roster(section_id=inquiry.section_id, role=RosterRole.ON_CALL, at=at)
    if found is None:
        raise NoDoctorAvailable(
            _("Ingen lege står på vaktplanen nå. Ring vakthavende lege direkte."),
            fields={"target": target},
        )
    return found


def deadlines(*, grade: str, at: dt.datetime, section: Any) -> tuple[dt.datetime, dt.datetime]:
    """Acknowledge by the grade's deadline (DESIGN.md §6); answer within twice that time."""
    acknowledge_by = deadline_for(grade=grade, at=at, section=section)
    return acknowledge_by, at + 2 * (acknowledge_by - at)


# --- What the doctor is shown --------------------------------------------------------------------


def escalation_row(escalation: Escalation) -> dict[str, Any]:
    from .serializers import EscalationSerializer

    return dict(EscalationSerializer(escalation).data)


def _publish(escalation: Escalation, type: str, doctors: list[int]) -> None:
    # The section's queue gets it too, so the queue's seq has no gaps (its clients skip events
    # without an inquiry); the doctors concerned get it on their own sockets.
    realtime.publish(
        section_id=escalation.section_id,
        type=type,
        body={"escalation": escalation_row(escalation)},
        groups=[
            realtime.queue_group(escalation.section_id),
            *[realtime.doctor_group(d) for d in doctors],
        ],
    )


def _publish_queue(escalation: Escalation, now: dt.datetime, type: str = INQUIRY_UPDATED) -> None:
    extra = {"escalation": escalation_row(escalation)} if type == ESCALATION_ANSWERED else None
    touch_and_publish(inquiry=escalation.inquiry, event_type=type, now=now, extra=extra)


def _triage_snapshot(inquiry: Inquiry) -> dict[str, Any]:
    latest = inquiry.assessments.order_by("-assessed_at", "-pk").first()
    if latest is None:
        return {}
    return {
        "grade": latest.grade,
        "action": latest.action,
        "reasons": latest.reasons,
        "rules_version": latest.rules_version,
        "assessed_at": latest.assessed_at.isoformat(),
    }


def _context(inquiry: Inquiry) -> dict[str, Any]:
    patient = inquiry.patient
    recent = inquiry.entries.order_by("-at", "-pk")[:6]
    return {
        "patient": None
        if patient is None
        else {
            "id": patient.pk,
            "name": patient.full_name,
            "birth_date": patient.birth_date.isoformat(),
            "diagnosis": patient.diagnosis,
            "protocol": patient.protocol,
        },
        "caller": inquiry.contact.name if inquiry.contact else inquiry.caller_name,
        "summary": inquiry.summary,
        "recent": [
            {"kind": e.kind, "at": e.at.isoformat(), "text": e.text[:500]}
            for e in reversed(list(recent))
        ],
    }


def _notify(escalation: Escalation, now: dt.datetime) -> None:
    """Queue an SMS to the doctor, sent from the outbox after commit. No patient data in it.
    One per escalation, level and doctor, so a repeated call queues nothing more."""
    from django.conf import settings
    from meldinger.models import Kind
    from meldinger.services import Composed, queue_message

    minutes = max(1, round((escalation.acknowledge_due_at - now).total_seconds() / 60))
    grade = GRADE_WORDS.get(escalation.grade, "")
    body = _("Ny eskalering%(grade)s i Kontaktpunkt, svar innen %(due)s: %(link)s") % {
        "grade": f" ({grade})" if grade else "",
        "due": f"{minutes} min"
        if minutes <= 180
        else timezone.localtime(escalation.acknowledge_due_at).strftime("%d.%m kl. %H:%M"),
        "link": settings.PUBLIC_BASE_URL + "/lege/",
    }
    key = f"escalation-{escalation.pk}-{escalation.level}-{escalation.doctor_id}"
    if DoctorNotice.objects.filter(idempotency_key=key).exists():
        return
    phone = getattr(getattr(escalation.doctor, "profile", None), "phone", "")
    message = None
    if phone:
        message = queue_message(
            section=escalation.section_id,
            kind=Kind.DOCTOR_NOTICE,
            to_phone=phone,
            composed=Composed(body, body, False, None, None),
            language="nb",
            now=now,
            idempotency_key=key,
            recipient_user=escalation.doctor,
        )
    DoctorNotice.objects.create(
        idempotency_key=key,
        escalation=escalation,
        doctor=escalation.doctor,
        body=body,
        created_at=now,
        message=message,
    )


# --- Use cases -------------------------------------------------------------------------------


@transaction.atomic
def escalate_inquiry(
    *,
    inquiry_id: int,
    by: Any,
    target: str,
    question: str,
    doctor: Any = None,
    now: dt.datetime | None = None,
) -> Escalation:
    """Hand a question to a doctor. The inquiry waits for the doctor until the answer comes."""
    now = now_or(now)
    if not question.strip():
        raise InvalidInput(_("Skriv spørsmålet til legen."), fields={"question": ["blank"]})
    inquiry = lock_inquiry(inquiry_id)
    access.require(by, Action.ESCALATE, inquiry.section_id)
    if inquiry.escalations.filter(state__in=OPEN_STATES).exists():
        raise AlreadyEscalated(_("Henvendelsen venter allerede på svar fra lege."))
    new_status = lifecycle.next_status("escalate", inquiry.status)
    chosen = resolve_doctor(inquiry=inquiry, target=target, doctor=doctor, at=now)
    acknowledge_by, answer_by = deadlines(
        grade=urgency_of_inquiry(inquiry).deadline_grade, at=now, section=inquiry.section
    )
    escalation = Escalation.objects.create(
        inquiry=inquiry,
        section_id=inquiry.section_id,
        target=target,
        doctor=chosen,
        question=question.strip(),
        grade=inquiry.grade or "",
        triage=_triage_snapshot(inquiry),
        context=_context(inquiry),
        created_by=by,
        created_at=now,
        acknowledge_due_at=acknowledge_by,
        answer_due_at=answer_by,
    )
    inquiry.status = new_status
    if inquiry.claimed_by_id is None:
        # Whoever asks the doctor holds the inquiry, so the answer comes back to someone.
        inquiry.claimed_by, inquiry.claimed_at = by, now
        add_entry(
            inquiry=inquiry,
            kind=EntryKind.CLAIMED,
            at=now,
            author=by,
            data={"to": by.pk, "from": None, "reason": "escalated"},
        )
    add_entry(
        inquiry=inquiry,
        kind=EntryKind.ESCALATED,
        at=now,
        author=by,
        text=question.strip(),
        data={
            "escalation": escalation.pk,
            "target": target,
            "doctor": chosen.pk,
            "doctor_name": display_name(chosen),
            "acknowledge_due_at": acknowledge_by.isoformat(),
        },
    )
    audit_inquiry(
        user=by,
        action="inquiry.escalate",
        inquiry=inquiry,
        escalation=escalation.pk,
        doctor=chosen.pk,
    )
    _publish_queue(escalation, now)
    _publish(escalation, ESCALATION_CREATED, [chosen.pk])
    _notify(escalation, now)
    return escalation


def _lock_escalation(escalation_id: int) -> Escalation:
    section_id = Escalation.objects.values_list("section_id", flat=True).get(pk=escalation_id)
    realtime.lock_section(section_id)
    return (
        Escalation.objects.select_for_update(of=("self",))
        .select_related(
            "inquiry",
            "doctor",
            "inquiry__patient",
            "inquiry__contact",
            "inquiry__claimed_by",
            "inquiry__section",
        )
        .get(pk=escalation_id)
    )


def _require_assigned_doctor(escalation: Escalation, by: Any) -> None:
    if escalation.doctor_id != by.pk:
        raise NotAllowed(_("Eskaleringen er sendt til en annen lege."))


@transaction.atomic
def acknowledge_escalation(
    *, escalation_id: int, by: Any, now: dt.datetime | None = None
) -> Escalation:
    """The doctor has seen it: the acknowledge deadline is met."""
    now = now_or(now)
    escalation = _lock_escalation(escalation_id)
    _require_assigned_doctor(escalation, by)
    if escalation.state != State.OPEN:
        return escalation
    escalation.state = State.ACKNOWLEDGED
    escalation.acknowledged_at = now
    escalation.save()
    add_entry(
        inquiry=escalation.inquiry,
        kind=EntryKind.ESCALATION_ACKNOWLEDGED,
        at=now,
        author=by,
        data={"escalation": escalation.pk},
    )
    audit_inquiry(
        user=by,
        action="escalation.acknowledge",
        inquiry=escalation.inquiry,
        escalation=escalation.pk,
    )
    _publish_queue(escalation, now)
    _publish(escalation, ESCALATION_UPDATED, [by.pk])
    return escalation


@transaction.atomic
def answer_escalation(
    *,
    escalation_id: int,
    by: Any,
    answer: str,
    patient_must_come_in: bool = False,
    now: dt.datetime | None = None,
) -> Escalation:
    """The doctor's answer goes on the timeline and back to the coordinator, whose inquiry
    returns to `in_progress` so she can relay it."""
    now = now_or(now)
    if not answer.strip():
        raise InvalidInput(_("Skriv et svar."), fields={"answer": ["blank"]})
    escalation = _lock_escalation(escalation_id)
    _require_assigned_doctor(escalation, by)
    if escalation.state == State.ANSWERED:
        raise AlreadyEscalated(_("Eskaleringen er allerede besvart."))
    inquiry = escalation.inquiry
    inquiry.status = lifecycle.next_status("doctor_answered", inquiry.status)
    escalation.state = State.ANSWERED
    escalation.answered_at = now
    escalation.acknowledged_at = escalation.acknowledged_at or now
    escalation.answer = answer.strip()
    escalation.patient_must_come_in = patient_must_come_in
    escalation.save()
    add_entry(
        inquiry=inquiry,
        kind=EntryKind.DOCTOR_ANSWER,
        at=now,
        author=by,
        text=escalation.answer,
        data={"escalation": escalation.pk, "patient_must_come_in": patient_must_come_in},
    )
    audit_inquiry(user=by, action="escalation.answer", inquiry=inquiry, escalation=escalation.pk)
    _publish_queue(escalation, now, ESCALATION_ANSWERED)
    _publish(escalation, ESCALATION_UPDATED, [by.pk])
    return escalation


@transaction.atomic
def reassign_escalation(
    *, escalation_id: int, by: Any, doctor: Any, now: dt.datetime | None = None
) -> Escalation:
    """Move an open escalation to another doctor (the assigned doctor, a coordinator or a lead
    may). The deadlines keep running: the family has been waiting all along."""
    now = now_or(now)
    escalation = _lock_escalation(escalation_id)
    if escalation.state == State.ANSWERED:
        raise AlreadyEscalated(_("Eskaleringen er allerede besvart."))
    own = escalation.doctor_id == by.pk and access.in_section(by, escalation.section_id)
    if not own and not access.may(by, Action.ESCALATE, escalation.section_id):
        raise NotAllowed(
            _(
                "Bare legen som har eskaleringen, en koordinator eller en leder kan "
                "sende den videre."
            )
        )
    if not access.may(doctor, Action.ANSWER_ESCALATION, escalation.section_id):
        raise InvalidInput(
            _("Mottakeren er ikke lege i seksjonen."),
            fields={"doctor": [_("Må være lege i seksjonen.")]},
        )
    previous = escalation.doctor_id
    escalation.doctor = doctor
    escalation.state = State.OPEN
    escalation.acknowledged_at = None
    escalation.save()
    add_entry(
        inquiry=escalation.inquiry,
        kind=EntryKind.ESCALATION_REASSIGNED,
        at=now,
        author=by,
        data={
            "escalation": escalation.pk,
            "from": previous,
            "to": doctor.pk,
            "doctor_name": display_name(doctor),
        },
    )
    audit_inquiry(
        user=by,
        action="escalation.reassign",
        inquiry=escalation.inquiry,
        escalation=escalation.pk,
        to=doctor.pk,
    )
    _publish_queue(escalation, now)
    _publish(escalation, ESCALATION_UPDATED, [previous])
    _publish(escalation, ESCALATION_CREATED, [doctor.pk])
    _notify(escalation, now)
    return escalation


# --- The sweep -------------------------------------------------------------------------------


def overdue_ids(now: dt.datetime) -> list[int]:
    return list(
        Escalation.objects.filter(
            Q(state=State.OPEN, acknowledge_due_at__lte=now)
            | Q(state=State.ACKNOWLEDGED, answer_due_at__lte=now),
            coordinator_alerted_at__isnull=True,
        ).values_list("pk", flat=True)
    )


def sweep_overdue(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Every minute: an overdue escalation goes to the on-call doctor; if that is overdue too
    (or there is nobody else), the coordinator is alerted. Each breach is recorded once, however
    many workers sweep at the same moment."""
    now = now_or(now)
    counts = {"re_escalated": 0, "coordinator_alerted": 0}
    for escalation_id in overdue_ids(now):
        outcome = _handle_overdue(escalation_id, now)
        if outcome:
            counts[outcome] += 1
    return counts


def _handle_overdue(escalation_id: int, now: dt.datetime) -> str | None:
    try:
        with transaction.atomic():
            escalation = _lock_escalation(escalation_id)
            # Checked again under the lock: another worker may have just handled it.
            if escalation.coordinator_alerted_at is not None:
                return None
            if escalation.state == State.OPEN:
                deadline, due = "acknowledge", escalation.acknowledge_due_at
            elif escalation.state == State.ACKNOWLEDGED:
                deadline, due = "answer", escalation.answer_due_at
            else:
                return None
            if due > now:
                return None
            on_call = doctor_on_roster(
                section_id=escalation.section_id, role=RosterRole.ON_CALL, at=now
            )
            if escalation.level == 0 and on_call is not None and on_call.pk != escalation.doctor_id:
                outcome = "re_escalated"
            else:
                outcome = "coordinator_alerted"
            Breach.objects.create(
                escalation=escalation,
                level=escalation.level,
                deadline=deadline,
                due_at=due,
                detected_at=now,
                outcome=outcome,
            )
            if outcome == "re_escalated":
                _re_escalate(escalation, on_call, deadline, now)
            else:
                _alert_coordinator(escalation, deadline, now)
            return outcome
    except IntegrityError:
        return None  # the breach was recorded by a worker that got there first


def _re_escalate(escalation: Escalation, on_call: Any, deadline: str, now: dt.datetime) -> None:
    previous = escalation.doctor_id
    # The inquiry as it is now: assessed since, or flagged by a new text, it counts as that.
    grade = urgency_of_inquiry(escalation.inquiry).deadline_grade
    escalation.doctor = on_call
    escalation.level = 1
    escalation.state = State.OPEN
    escalation.acknowledged_at = None
    escalation.acknowledge_due_at, escalation.answer_due_at = deadlines(
        grade=grade, at=now, section=escalation.inquiry.section
    )
    escalation.save()
    add_entry(
        inquiry=escalation.inquiry,
        kind=EntryKind.ESCALATION_OVERDUE,
        at=now,
        text=_("Fristen gikk ut. Sendt til vakthavende lege %(name)s.")
        % {"name": display_name(on_call)},
        data={
            "escalation": escalation.pk,
            "deadline": deadline,
            "from": previous,
            "to": on_call.pk,
            "outcome": "re_escalated",
        },
    )
    audit.record(
        user=None,
        action="escalation.re_escalate",
        obj=escalation.inquiry,
        patient_id=escalation.inquiry.patient_id,
        section_id=escalation.section_id,
        detail={"escalation": escalation.pk, "to": on_call.pk},
    )
    _publish_queue(escalation, now)
    _publish(escalation, ESCALATION_UPDATED, [previous])
    _publish(escalation, ESCALATION_CREATED, [on_call.pk])
    _notify(escalation, now)


def _alert_coordinator(escalation: Escalation, deadline: str, now: dt.datetime) -> None:
    escalation.coordinator_alerted_at = now
    escalation.save()
    add_entry(
        inquiry=escalation.inquiry,
        kind=EntryKind.ESCALATION_OVERDUE,
        at=now,
        text=_("Fristen for lege gikk ut, også hos vakthavende. Ring legen."),
        data={"escalation": escalation.pk, "deadline": deadline, "outcome": "coordinator_alerted"},
    )
    audit.record(
        user=None,
        action="escalation.coordinator_alerted",
        obj=escalation.inquiry,
        patient_id=escalation.inquiry.patient_id,
        section_id=escalation.section_id,
        detail={"escalation": escalation.pk},
    )
    _publish_queue(escalation, now)
    _publish(escalation, ESCALATION_UPDATED, [escalation.doctor_id])

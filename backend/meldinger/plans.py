"""Follow-up plans: templated messages scheduled relative to a start date (the diagnosis).

The default plan is *Pakkeforløp hjem*: a needs-assessment notice 3 months and 12 months after
diagnosis (inside the 3-4 and 12-18 month windows), each with a reminder a week before. The
municipal cancer coordinator's name and phone fill the variables. Messages are rendered when
the plan is made, so the plan shows what will be sent, and wait as `scheduled`; they go at 10:00
on their day (never in quiet hours). When one is released it is rendered again from the template
and the directory as they are then: a year is long enough for the municipality to get a new
coordinator or the family a new number.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access, audit
from core.access import Action
from core.exceptions import DomainError, InvalidInput, PlanExists
from core.realtime import lock_section
from henvendelser.models import Contact, Patient
from maler import gsm
from maler.models import TemplateVersion
from maler.services import mark_used

from .models import FollowUpPlan, Kind, Message, MessageStatus, MunicipalCoordinator
from .rules import OSLO
from .services import cancel_waiting, check_may_text, compose, queue_message

logger = logging.getLogger(__name__)

SEND_AT = dt.time(10, 0)


@dataclass(frozen=True)
class Step:
    months: int
    days_before: int
    template: str
    kind: str


PLANS: dict[str, list[Step]] = {
    "pakkeforlop_hjem": [
        Step(3, 7, "behovskartlegging_paaminnelse", Kind.REMINDER),
        Step(3, 0, "behovskartlegging_3_mnd", Kind.FOLLOW_UP),
        Step(12, 7, "behovskartlegging_paaminnelse", Kind.REMINDER),
        Step(12, 0, "behovskartlegging_12_mnd", Kind.FOLLOW_UP),
    ]
}


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def schedule_dates(start: dt.date, kind: str = "pakkeforlop_hjem") -> list[tuple[Step, dt.date]]:
    return [
        (step, add_months(start, step.months) - dt.timedelta(days=step.days_before))
        for step in PLANS[kind]
    ]


def create_plan(
    *,
    patient: Patient,
    contact: Contact,
    start_date: dt.date,
    municipality: MunicipalCoordinator,
    by: Any,
    kind: str = "pakkeforlop_hjem",
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[FollowUpPlan, bool]:
    """Schedule a plan's messages to a contact. Returns the plan and whether it is new: the
    same `idempotency_key` again returns the first plan, and a second running plan of the same
    kind to the same contact is refused, so no family gets each message twice."""
    access.require(by, Action.MANAGE_PLANS, patient.section_id)
    now = now or timezone.now()
    if idempotency_key:
        earlier = FollowUpPlan.objects.filter(idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier, False
    if contact.patient_id != patient.pk:
        raise InvalidInput(
            _("Kontakten hører ikke til pasienten."), fields={"contact": ["not_this_patient"]}
        )
    if kind not in PLANS:
        raise InvalidInput(_("Ukjent oppfølgingsplan."), fields={"kind": [kind]})
    check_may_text(kind=Kind.FOLLOW_UP, to_phone=contact.phone, contact=contact)
    variables = plan_variables(municipality)
    today = now.astimezone(OSLO).date()
    try:
        return _create_plan(
            patient=patient,
            contact=contact,
            start_date=start_date,
            municipality=municipality,
            by=by,
            kind=kind,
            idempotency_key=idempotency_key or None,
            variables=variables,
            today=today,
            now=now,
        ), True
    except IntegrityError:
        # The same key, pressed twice at once: the other request made the plan.
        if not idempotency_key:
            raise
        return FollowUpPlan.objects.get(idempotency_key=idempotency_key), False


def _create_plan(
    *,
    patient: Patient,
    contact: Contact,
    start_date: dt.date,
    municipality: MunicipalCoordinator,
    by: Any,
    kind: str,
    idempotency_key: str | None,
    variables: dict[str, str],
    today: dt.date,
    now: dt.datetime,
) -> FollowUpPlan:
    with transaction.atomic():
        lock_section(patient.section_id)
        running = FollowUpPlan.objects.filter(
            patient=patient, contact=contact, kind=kind, cancelled_at__isnull=True
        ).filter(messages__status=MessageStatus.SCHEDULED)
        if running.exists():
            raise PlanExists(
                _(
                    "Denne kontakten har allerede en oppfølgingsplan som går. "
                    "Avslutt den før du lager en ny."
                ),
                fields={"contact": ["plan_exists"]},
            )
        plan = FollowUpPlan.objects.create(
            patient=patient,
            contact=contact,
            kind=kind,
            start_date=start_date,
            municipality=municipality,
            created_at=now,
            created_by=by,
            idempotency_key=idempotency_key,
        )
        for index, (step, day) in enumerate(schedule_dates(start_date, kind)):
            if day < today:
                continue  # a plan made late skips what is already past
            queue_message(
                section=patient.section_id,
                kind=step.kind,
                to_phone=contact.phone,
                composed=compose(
                    template_key=step.template,
                    language=contact.language,
                    variables=variables,
                    text=None,
                ),
                language=contact.language,
                now=now,
                idempotency_key=f"plan:{plan.pk}:{index}",
                patient_id=patient.pk,
                contact=contact,
                plan=plan,
                created_by=by,
                scheduled_for=dt.datetime.combine(day, SEND_AT, tzinfo=OSLO),
            )
        audit.record(
            user=by,
            action="followup.created",
            obj=plan,
            patient_id=patient.pk,
            section_id=patient.section_id,
        )
    return plan


def plan_variables(municipality: MunicipalCoordinator) -> dict[str, str]:
    return {
        "kommune": municipality.municipality,
        "koordinator_navn": municipality.name,
        "koordinator_telefon": municipality.phone,
    }


def refresh_before_release(message: Message) -> None:
    """Render a plan's message again, as it is released (the caller holds its row lock), from
    the template's current version, the municipal coordinator now in the directory and the
    contact's number now. If that fails (a template withdrawn, say) it goes as it was made."""
    if message.plan_id is None or message.template_version_id is None:
        return
    plan = FollowUpPlan.objects.select_related("municipality", "contact").get(pk=message.plan_id)
    key = TemplateVersion.objects.values_list("template__key", flat=True).get(
        pk=message.template_version_id
    )
    try:
        composed = compose(
            template_key=key,
            language=message.language,
            variables=plan_variables(plan.municipality),
            text=None,
        )
    except DomainError as exc:
        logger.warning("plan message %s sent as made: %s", message.pk, type(exc).__name__)
        return
    if composed.link_token is not None:
        return  # plan templates are not sensitive; a link is made only with the message
    length = gsm.measure(composed.body)
    message.body, message.content = composed.body, composed.content
    message.template_version = composed.version
    message.encoding, message.segments = length.encoding, length.segments
    message.to_phone = plan.contact.phone
    message.save(
        update_fields=["body", "content", "template_version", "encoding", "segments", "to_phone"]
    )
    mark_used(composed.version)


def cancel_plan(*, plan_id: int, by: Any, now: dt.datetime | None = None) -> FollowUpPlan:
    now = now or timezone.now()
    with transaction.atomic():
        plan = (
            FollowUpPlan.objects.select_for_update(of=("self",))
            .select_related("patient")
            .get(pk=plan_id)
        )
        access.require(by, Action.MANAGE_PLANS, plan.patient.section_id)
        if plan.cancelled_at is None:
            plan.cancelled_at, plan.cancelled_by = now, by
            plan.save(update_fields=["cancelled_at", "cancelled_by"])
            cancelled = cancel_waiting(Message.objects.filter(plan=plan), now)
            audit.record(
                user=by,
                action="followup.cancelled",
                obj=plan,
                patient_id=plan.patient_id,
                section_id=plan.patient.section_id,
                detail={"messages": cancelled},
            )
    return plan


def plan_messages(plan: FollowUpPlan) -> list[Message]:
    return list(plan.messages.order_by("scheduled_for", "created_at", "pk"))

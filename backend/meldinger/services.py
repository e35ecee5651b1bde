"""Messages to families (and doctors): composing, queuing, status callbacks, STOP/START and the
outbox sweep. Every change to a message happens under its section's lock and then its own row
lock, in that order, the same order every other writer in the project uses."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core import access, audit, realtime
from core.access import Action
from core.exceptions import DomainError, InvalidInput, InvalidTransition, NotClaimant
from core.models import Section
from core.realtime import lock_section
from henvendelser import lifecycle
from henvendelser.events import INQUIRY_UPDATED, publish_inquiry_event
from henvendelser.models import Channel, Contact, EntryKind, Inquiry, TimelineEntry
from henvendelser.serializers import display_name
from henvendelser.services._common import add_entry, audit_inquiry, lock_inquiry, touch_and_publish
from maler import gsm
from maler import services as templates
from maler.models import TemplateVersion
from maler.rendering import render_or_raise

from . import securelinks, texts
from .models import (
    RANK,
    TO_FAMILY,
    UNSOLICITED,
    InboundKeyword,
    Kind,
    Message,
    MessageStatus,
    OptOut,
    SecureLink,
)
from .rules import quiet_until

logger = logging.getLogger(__name__)

MESSAGE_STATUS = "message.status"
MAX_FREE_TEXT = 1600

# Twilio's message statuses, as ours. Twilio's own "queued"/"sending" mean it has the message.
TWILIO_STATUS = {
    "accepted": MessageStatus.SENT,
    "scheduled": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


class RecipientOptedOut(DomainError):
    code = "recipient_opted_out"
    status = 409


class ConsentMissing(DomainError):
    code = "consent_missing"
    status = 409


class NoRecipient(DomainError):
    code = "no_recipient"
    status = 409


class IdempotencyConflict(DomainError):
    code = "idempotency_key_reused"
    status = 409


# --- Reading ---------------------------------------------------------------------------------


def message_event(message: Message) -> dict[str, Any]:
    """What the queue page is told when a message changes: ids and status, no text."""
    return {
        "id": message.pk,
        "inquiry": message.inquiry_id,
        "kind": message.kind,
        "status": message.status,
        "error_code": message.error_code,
        "error_reason": message.error_reason,
        "scheduled_for": message.scheduled_for.isoformat() if message.scheduled_for else None,
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "delivered_at": message.delivered_at.isoformat() if message.delivered_at else None,
    }


def is_opted_out(phone: str) -> bool:
    return OptOut.objects.filter(phone=phone, opted_out=True).exists()


# --- Locking and publishing ------------------------------------------------------------------


def lock_message(*, pk: int | None = None, sid: str | None = None) -> Message | None:
    """The message with its section's lock and then its own row lock held."""
    rows = (
        Message.objects.filter(pk=pk) if pk is not None else Message.objects.filter(twilio_sid=sid)
    )
    section_id = rows.values_list("section_id", flat=True).first()
    if section_id is None:
        return None
    lock_section(section_id)
    return rows.select_for_update(of=("self",)).first()


FOLLOWUP_STATUS = "followup.status"


def publish_status(message: Message) -> None:
    """Tell the section's queue (in the same transaction, so it goes out after commit). A
    follow-up plan's message has no inquiry: its screens hear ids and the status only."""
    if message.inquiry_id is None and message.plan_id is not None:
        realtime.publish(
            section_id=message.section_id,
            type=FOLLOWUP_STATUS,
            body={
                "patient": message.patient_id,
                "plan": message.plan_id,
                "message": message_event(message),
            },
        )
        return
    if message.inquiry_id is None:
        return
    inquiry = Inquiry.objects.select_related("patient", "contact", "claimed_by").get(
        pk=message.inquiry_id
    )
    publish_inquiry_event(
        inquiry=inquiry, type=MESSAGE_STATUS, extra={"message": message_event(message)}
    )


def enqueue(message_id: int) -> None:
    """Hand the message to a worker after commit. If the broker is down the message stays
    queued in the database, and the outbox sweep hands it over again later."""

    def send() -> None:
        from .tasks import deliver

        try:
            deliver.delay(message_id)
        except Exception:
            logger.warning("message %s not handed to a worker; the outbox sweep will", message_id)

    transaction.on_commit(send)


# --- Composing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Composed:
    body: str
    content: str
    sensitive: bool
    version: TemplateVersion | None
    link_token: str | None


def compose(
    *, template_key: str | None, language: str, variables: dict[str, Any], text: str | None
) -> Composed:
    """The SMS body and the whole content, from a template or from free text."""
    if template_key:
        template = templates.get_template(template_key)
        version = templates.current_version(template, templates.check_language(language))
        content = render_or_raise(version.body, version.variables, variables)
        if not template.sensitive:
            return Composed(content, content, False, version, None)
        token = securelinks.new_token()
        body = texts.text(
            texts.SECURE_NOTICE,
            language,
            link=f"{settings.PUBLIC_BASE_URL}/m/{token}",
            days=str(settings.SECURE_LINK_DAYS),
        )
        return Composed(body, content, True, version, token)
    content = (text or "").strip()
    problems = free_text_problems(content)
    if problems:
        raise InvalidInput(problems[0]["message"], fields={"text": [problems[0]["code"]]})
    return Composed(content, content, False, None, None)


def free_text_problems(content: str) -> list[dict[str, str]]:
    """Why a free text would be refused (empty, or longer than we send); none if it goes."""
    if not content:
        return [{"code": "template_or_text", "message": _("Velg en mal eller skriv en tekst.")}]
    if len(content) > MAX_FREE_TEXT:
        message = _("Teksten er for lang: %(count)s tegn, høyst %(max)s.") % {
            "count": len(content),
            "max": MAX_FREE_TEXT,
        }
        return [{"code": "too_long", "message": message}]
    return []


def preview_free_text(text: str) -> dict[str, Any]:
    """What a free text costs as SMS, and whether it would be sent: the reply box shows this
    instead of counting for itself."""
    content = text.strip()
    problems = free_text_problems(content)
    return {
        "text": content,
        **gsm.measure(content).as_dict(),
        "sendable": not problems,
        "problems": problems,
    }


def queue_message(
    *,
    section: Section | int,
    kind: str,
    to_phone: str,
    composed: Composed,
    language: str,
    now: dt.datetime,
    idempotency_key: str,
    inquiry: Inquiry | None = None,
    patient_id: int | None = None,
    contact: Contact | None = None,
    recipient_user: Any = None,
    plan: Any = None,
    created_by: Any = None,
    scheduled_for: dt.datetime | None = None,
) -> Message:
    """Store a message and, unless it must wait, hand it to a worker after commit.
    Messages the family did not ask for wait for the end of quiet hours, visibly."""
    if kind in UNSOLICITED:
        send_at = scheduled_for or now
        scheduled_for = quiet_until(send_at) or send_at
    waits = scheduled_for is not None and scheduled_for > now
    length = gsm.measure(composed.body)
    message = Message.objects.create(
        section_id=section if isinstance(section, int) else section.pk,
        kind=kind,
        inquiry=inquiry,
        patient_id=patient_id,
        contact=contact,
        recipient_user=recipient_user,
        plan=plan,
        to_phone=to_phone,
        language=language,
        template_version=composed.version,
        sensitive=composed.sensitive,
        body=composed.body,
        content=composed.content,
        encoding=length.encoding,
        segments=length.segments,
        idempotency_key=idempotency_key,
        status=MessageStatus.SCHEDULED if waits else MessageStatus.QUEUED,
        status_at=now,
        scheduled_for=scheduled_for if waits else None,
        created_at=now,
        created_by=created_by,
    )
    templates.mark_used(composed.version)
    if composed.link_token is not None:
        securelinks.create(message=message, token=composed.link_token, now=now)
    if not waits:
        enqueue(message.pk)
    return message


def check_may_text(
    *, kind: str, to_phone: str, contact: Contact | None, family_texted_from: str | None = None
) -> None:
    """Refuse, with a reason the coordinator can act on, a message that may not go.
    A family that texted us from this number has asked for an answer there; anything else
    needs the consent recorded on the contact."""
    if kind not in TO_FAMILY:
        return
    if is_opted_out(to_phone):
        raise RecipientOptedOut(
            _("Mottakeren har reservert seg mot SMS (STOPP). Ring i stedet."),
            fields={"to": ["opted_out"]},
        )
    implied = kind == Kind.REPLY and family_texted_from == to_phone
    if not implied and not (contact is not None and contact.sms_consent):
        raise ConsentMissing(
            _("Samtykke til SMS er ikke registrert for denne kontakten."),
            fields={"contact": ["sms_consent_missing"]},
        )


def create_reply(
    *,
    inquiry_id: int,
    by: Any,
    template: str | None = None,
    language: str | None = None,
    variables: dict[str, Any] | None = None,
    text: str | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Message, bool]:
    """Answer the family of an inquiry by SMS. Returns the message and whether it is new: a
    repeated request with the same idempotency key returns the first message, sends nothing."""
    now = now or timezone.now()
    key = f"reply:{inquiry_id}:{idempotency_key}" if idempotency_key else f"reply:{uuid.uuid4()}"
    with transaction.atomic():
        inquiry = lock_inquiry(inquiry_id)
        existing = Message.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing, False
        category = templates.get_template(template).category if template else None
        access.require(by, access.message_action(category), inquiry.section_id)
        if inquiry.claimed_by_id not in (None, by.pk):
            raise NotClaimant(
                _("Henvendelsen er tatt av %(name)s.") % {"name": display_name(inquiry.claimed_by)},
                fields={"claimed_by": inquiry.claimed_by_id},
            )
        contact = inquiry.contact
        to_phone = contact.phone if contact is not None else inquiry.caller_phone
        if not to_phone:
            raise NoRecipient(_("Henvendelsen har ikke noe telefonnummer å svare til."))
        texted_from = inquiry.caller_phone if inquiry.channel == Channel.SMS else None
        check_may_text(
            kind=Kind.REPLY, to_phone=to_phone, contact=contact, family_texted_from=texted_from
        )
        language = language or (contact.language if contact is not None else "nb")
        composed = compose(
            template_key=template, language=language, variables=variables or {}, text=text
        )
        old_status = inquiry.status
        inquiry.status = lifecycle.next_status("reply_sent", inquiry.status)
        if inquiry.claimed_by_id is None and access.may(by, Action.WORK_INQUIRY):
            inquiry.claimed_by, inquiry.claimed_at = by, now
        message = queue_message(
            section=inquiry.section_id,
            kind=Kind.REPLY,
            to_phone=to_phone,
            composed=composed,
            language=language,
            now=now,
            idempotency_key=key,
            inquiry=inquiry,
            patient_id=inquiry.patient_id,
            contact=contact,
            created_by=by,
        )
        audit_inquiry(user=by, action="message.reply", inquiry=inquiry, message=message.pk)
        _on_timeline(
            inquiry,
            message,
            by=by,
            now=now,
            template=template,
            category=category,
            status_from=old_status,
        )
    return message, True


def _on_timeline(
    inquiry: Inquiry, message: Message, *, by: Any, now: dt.datetime, **data: Any
) -> None:
    """A message sent on an inquiry goes on its timeline, and its screens are told."""
    add_entry(
        inquiry=inquiry,
        kind=EntryKind.SMS_OUT,
        at=now,
        author=by,
        text=message.content,
        data={"message": message.pk, "sensitive": message.sensitive, **data},
    )
    touch_and_publish(
        inquiry=inquiry,
        event_type=INQUIRY_UPDATED,
        now=now,
        extra={"message": message_event(message)},
    )


def reissue_prefix(message_id: int) -> str:
    """The idempotency keys of a message's re-issue start with this."""
    return f"reissue:{message_id}:"


def reissued_ids(messages: list[Message]) -> set[int]:
    """Which of `messages` have been sent again (the re-issue names its original)."""
    return {
        int(m.idempotency_key.split(":")[1])
        for m in messages
        if m.idempotency_key.startswith("reissue:")
    }


def reissue_link(
    *, message_id: int, by: Any, idempotency_key: str | None = None, now: dt.datetime | None = None
) -> tuple[Message, bool]:
    """A family locked out of a secure page (wrong date of birth too often) or too late for
    it gets the same content behind a new link, in a new SMS. Only a locked or expired link
    is re-issued; the old one stays as it was. Returns the new message and whether it is new:
    the same idempotency key again returns the first re-issue."""
    now = now or timezone.now()
    key = f"{reissue_prefix(message_id)}{idempotency_key or uuid.uuid4()}"
    with transaction.atomic():
        original = lock_message(pk=message_id)
        if original is None:
            raise InvalidInput(_("Fant ikke meldingen."), fields={"message": ["not_found"]})
        version = original.template_version
        access.require(
            by,
            access.message_action(version.template.category if version else None),
            original.section_id,
        )
        existing = Message.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing, False
        try:
            link = original.secure_link
        except SecureLink.DoesNotExist:
            link = None
        if Message.objects.filter(idempotency_key__startswith=reissue_prefix(message_id)).exists():
            raise InvalidTransition(
                _("Meldingen er allerede sendt på nytt; bruk den nye."),
                fields={"secure_link": ["already_reissued"]},
            )
        if link is None or securelinks.state(link, now) not in ("locked", "expired"):
            raise InvalidTransition(
                _("Lenken kan fortsatt brukes; en ny sendes bare når den er sperret eller utløpt."),
                fields={"secure_link": ["still_usable"]},
            )
        contact = original.contact
        inquiry = original.inquiry
        texted_from = (
            inquiry.caller_phone if inquiry is not None and inquiry.channel == Channel.SMS else None
        )
        check_may_text(
            kind=original.kind,
            to_phone=original.to_phone,
            contact=contact,
            family_texted_from=texted_from,
        )
        token = securelinks.new_token()
        body = texts.text(
            texts.SECURE_NOTICE,
            original.language,
            link=f"{settings.PUBLIC_BASE_URL}/m/{token}",
            days=str(settings.SECURE_LINK_DAYS),
        )
        message = queue_message(
            section=original.section_id,
            # A reply goes now; a notice or follow-up waits out quiet hours like the first did.
            kind=original.kind,
            to_phone=original.to_phone,
            composed=Composed(body, original.content, True, version, token),
            language=original.language,
            now=now,
            idempotency_key=key,
            inquiry=inquiry,
            patient_id=original.patient_id,
            contact=contact,
            plan=original.plan,
            created_by=by,
        )
        audit.record(
            user=by,
            action="message.reissue_link",
            obj=message,
            patient_id=original.patient_id,
            section_id=original.section_id,
            detail={"reissue_of": original.pk, "old_link": securelinks.state(link, now)},
        )
        if inquiry is not None:
            _on_timeline(
                inquiry,
                message,
                by=by,
                now=now,
                template=version.template.key if version else None,
                category=version.template.category if version else None,
                reissue_of=original.pk,
            )
    return message, True


# --- Status callbacks ------------------------------------------------------------------------


def apply_status(
    *, sid: str, twilio_status: str, error_code: int | None = None, now: dt.datetime | None = None
) -> Message | None:
    """A status callback from Twilio. A status only moves forward: a late `sent` after
    `delivered` changes nothing. Returns None for a SID we do not know."""
    now = now or timezone.now()
    new = TWILIO_STATUS.get(twilio_status)
    with transaction.atomic():
        message = lock_message(sid=sid)
        if message is None:
            logger.info("status callback for an unknown message sid %s", sid)
            return None
        if new is None or RANK[new] <= RANK[MessageStatus(message.status)]:
            return message
        message.status, message.status_at = new, now
        message.twilio_status = twilio_status
        if new == MessageStatus.DELIVERED:
            message.delivered_at = now
        if new in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
            message.error_code = error_code
            message.error_reason = "provider"
        message.save()
        publish_status(message)
    return message


# --- STOP and START ---------------------------------------------------------------------------


def handle_keyword(
    *, message_sid: str, from_phone: str, section: Section, action: str, now: dt.datetime
) -> bool:
    """Opt a number out ("out") or back in ("in"); once per MessageSid. A change is confirmed
    with one SMS; a repeated STOP changes nothing and sends nothing. Returns whether it changed."""
    try:
        with transaction.atomic():
            lock_section(section.pk)
            if InboundKeyword.objects.filter(message_sid=message_sid).exists():
                return False
            record = OptOut.objects.select_for_update().filter(phone=from_phone).first()
            was_out = bool(record and record.opted_out)
            out = action == "out"
            changed = out != was_out
            InboundKeyword.objects.create(
                message_sid=message_sid, phone=from_phone, action=action, changed=changed, at=now
            )
            if changed:
                OptOut.objects.update_or_create(
                    phone=from_phone, defaults={"opted_out": out, "changed_at": now}
                )
                contacts = Contact.objects.filter(phone=from_phone)
                contacts.update(opted_out=out)
                first = contacts.order_by("pk").first()
                language = first.language if first is not None else "nb"
                body = texts.text(texts.OPTED_OUT if out else texts.OPTED_IN, language)
                queue_message(
                    section=section,
                    kind=Kind.OPT_CONFIRMATION,
                    to_phone=from_phone,
                    composed=Composed(body, body, False, None, None),
                    language=language,
                    now=now,
                    idempotency_key=f"keyword:{message_sid}",
                    contact=first,
                )
                for contact in contacts:
                    audit.record(
                        user=None,
                        action=f"contact.sms_opt_{action}",
                        obj=contact,
                        patient_id=contact.patient_id,
                        section_id=section.pk,
                    )
    except IntegrityError:
        return False  # the same MessageSid, delivered twice at once: the other one counted
    return changed


# --- The outbox sweep ------------------------------------------------------------------------


def sweep_outbox(now: dt.datetime | None = None) -> dict[str, int]:
    """Release scheduled messages that are due, and hand stuck ones to a worker again:
    queued ones no worker took, and sends whose lease ran out (the task reconciles first)."""
    now = now or timezone.now()
    counts = {"released": 0, "no_consent": 0, "requeued": 0, "reconcile": 0}
    due = Message.objects.filter(status=MessageStatus.SCHEDULED, scheduled_for__lte=now)
    for pk in due.values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            message = lock_message(pk=pk)
            if message is None or message.status != MessageStatus.SCHEDULED:
                continue
            wait = quiet_until(now) if message.kind in UNSOLICITED else None
            if wait is not None:
                message.scheduled_for = wait
                message.save(update_fields=["scheduled_for"])
                continue
            if message.kind in UNSOLICITED and not _consent_stands(message):
                # Consent withdrawn since the message was made (a plan runs for a year).
                message.status, message.status_at = MessageStatus.CANCELLED, now
                message.error_reason = "no_consent"
                message.save(update_fields=["status", "status_at", "error_reason"])
                publish_status(message)
                counts["no_consent"] += 1
                continue
            if message.plan_id is not None:
                from .plans import refresh_before_release

                refresh_before_release(message)
            message.status, message.status_at = MessageStatus.QUEUED, now
            message.save(update_fields=["status", "status_at"])
            enqueue(message.pk)
            counts["released"] += 1
    stuck_before = now - dt.timedelta(seconds=settings.OUTBOX_STUCK_SECONDS)
    for pk in Message.objects.filter(
        status=MessageStatus.QUEUED, status_at__lte=stuck_before
    ).values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            enqueue(pk)
        counts["requeued"] += 1
    for pk in Message.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now), status=MessageStatus.SENDING
    ).values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            enqueue(pk)
        counts["reconcile"] += 1
    return counts


def _consent_stands(message: Message) -> bool:
    if message.contact_id is None:
        return True
    return Contact.objects.filter(pk=message.contact_id, sms_consent=True).exists()


def cancel_waiting(messages: Any, now: dt.datetime) -> int:
    """Cancel scheduled messages (a cancelled follow-up plan)."""
    return int(
        messages.filter(status=MessageStatus.SCHEDULED).update(
            status=MessageStatus.CANCELLED, status_at=now
        )
    )


# --- Answers from the secure page ------------------------------------------------------------


def family_reply(
    *, message: Message, text: str, reply_key: str | None = None, now: dt.datetime | None = None
) -> Inquiry:
    """The family answered on the secure page: the answer joins their open inquiry (the one
    the message answered, re-opened if it was answered) or starts one, as a text would. The
    form's `reply_key` makes a double click or a re-sent form store the answer once."""
    from henvendelser.models import Channel as InquiryChannel
    from henvendelser.services.intake import (
        SUMMARY_FROM_SMS_CHARS,
        flag_alarm,
        join_or_start_inquiry,
    )

    now = now or timezone.now()
    # A NUL means nothing a family wrote and PostgreSQL cannot store it: drop it, keep the rest.
    text = text.replace("\x00", "").strip()[:MAX_FREE_TEXT]
    external_id = f"web:{message.pk}:{reply_key}" if reply_key else None
    with transaction.atomic():
        section = Section.objects.get(pk=message.section_id)
        lock_section(section.pk)
        if external_id is not None:
            earlier = TimelineEntry.objects.filter(external_id=external_id).first()
            if earlier is not None:
                return earlier.inquiry
        inquiry, created = join_or_start_inquiry(
            section=section,
            phone=message.to_phone,
            channel=InquiryChannel.WEB,
            summary=text[:SUMMARY_FROM_SMS_CHARS],
            now=now,
        )
        alarm_terms = flag_alarm(inquiry, text)
        add_entry(
            inquiry=inquiry,
            kind=EntryKind.WEB_IN,
            at=now,
            text=text,
            data={"message": message.pk, "alarm_terms": alarm_terms},
            external_id=external_id,
        )
        audit_inquiry(user=None, action="inquiry.web_in", inquiry=inquiry, message=message.pk)
        from henvendelser.events import INQUIRY_CREATED

        touch_and_publish(
            inquiry=inquiry, event_type=INQUIRY_CREATED if created else INQUIRY_UPDATED, now=now
        )
    return inquiry

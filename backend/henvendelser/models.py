"""Patients, their contacts, inquiries and each inquiry's append-only timeline."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Section

from .validators import mask_national_id


class Patient(models.Model):
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="patients")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    birth_date = models.DateField()
    national_id = models.CharField(max_length=11, blank=True)
    responsible_doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responsible_for",
    )
    diagnosis = models.CharField(max_length=200, blank=True)
    protocol = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["section", "national_id"],
                condition=~models.Q(national_id=""),
                name="patient_national_id_unique_per_section",
            )
        ]

    def __str__(self) -> str:
        return f"Pasient {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def national_id_masked(self) -> str:
        return mask_national_id(self.national_id)


class Relation(models.TextChoices):
    MOTHER = "mother", _("mor")
    FATHER = "father", _("far")
    GUARDIAN = "guardian", _("foresatt")
    PATIENT = "patient", _("pasienten selv")
    OTHER = "other", _("annen")


class Language(models.TextChoices):
    NB = "nb", _("bokmål")
    NN = "nn", _("nynorsk")
    EN = "en", _("engelsk")


class Contact(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    relation = models.CharField(max_length=16, choices=Relation.choices)
    phone = models.CharField(max_length=20, db_index=True)  # E.164
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.NB)
    sms_consent = models.BooleanField(default=False)
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    sms_consent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    opted_out = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Kontakt {self.pk}"


class Status(models.TextChoices):
    NEW = "new", _("ny")
    IN_PROGRESS = "in_progress", _("under arbeid")
    AWAITING_DOCTOR = "awaiting_doctor", _("venter på lege")
    ANSWERED = "answered", _("besvart")
    CLOSED = "closed", _("lukket")


class Channel(models.TextChoices):
    PHONE = "phone", _("telefon")
    SMS = "sms", _("SMS")
    WEB = "web", _("nett")
    OTHER = "other", _("annet")


class Category(models.TextChoices):
    MEDICAL = "medical", _("medisinsk spørsmål")
    MEDICATION = "medication", _("medisiner")
    TEST_RESULTS = "test_results", _("prøvesvar")
    APPOINTMENT = "appointment", _("timer og avtaler")
    LOGISTICS = "logistics", _("praktisk og reise")
    FOLLOW_UP = "follow_up", _("oppfølging")
    OTHER = "other", _("annet")


class Grade(models.TextChoices):
    RED = "red", _("rød")
    AMBER = "amber", _("gul")
    GREEN = "green", _("grønn")


class Identification(models.TextChoices):
    IDENTIFIED = "identified", _("identifisert")
    AMBIGUOUS = "ambiguous", _("flere mulige pasienter")
    UNKNOWN = "unknown", _("ukjent avsender")


class Inquiry(models.Model):
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="inquiries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="inquiries"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="inquiries"
    )
    caller_phone = models.CharField(max_length=32, blank=True, db_index=True)
    caller_name = models.CharField(max_length=200, blank=True)
    identification = models.CharField(
        max_length=12, choices=Identification.choices, default=Identification.UNKNOWN
    )
    summary = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    # NULL is "not yet assessed", which the API contract returns as null.
    grade = models.CharField(  # noqa: DJ001
        max_length=8, choices=Grade.choices, null=True, blank=True
    )
    alarm = models.BooleanField(default=False)
    alarm_terms = models.JSONField(default=list, blank=True)
    needs_callback = models.BooleanField(default=False)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="claimed_inquiries",
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    deadline_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["section", "status", "created_at"]),
            models.Index(fields=["section", "caller_phone", "status"]),
            # The open queue (`?open=true`, the socket's snapshot, the metrics) reads only the
            # inquiries not yet closed: a few dozen among years of closed ones. This index holds
            # just those, so reading the queue costs the same with 10,000 or 1,000,000 closed.
            models.Index(
                fields=["section", "created_at"],
                condition=~models.Q(status="closed"),
                name="inquiry_open_by_section",
            ),
        ]

    def __str__(self) -> str:
        return f"Henvendelse {self.pk}"


class EntryKind(models.TextChoices):
    CREATED = "created", _("opprettet")
    SMS_IN = "sms_in", _("SMS fra familien")
    SMS_OUT = "sms_out", _("SMS til familien")
    CALL_IN = "call_in", _("anrop")
    CALL_MISSED = "call_missed", _("ubesvart anrop")
    VOICEMAIL = "voicemail", _("talemelding")
    CALL_ENDED = "call_ended", _("samtale avsluttet")
    NOTE = "note", _("notat")
    CLAIMED = "claimed", _("tatt")
    RELEASED = "released", _("gitt fra seg")
    STATUS = "status", _("statusendring")
    CLOSED = "closed", _("lukket")
    ASSESSMENT = "assessment", _("triage")
    ESCALATED = "escalated", _("eskalert til lege")
    ESCALATION_ACKNOWLEDGED = "escalation_ack", _("legen har sett")
    DOCTOR_ANSWER = "doctor_answer", _("svar fra lege")
    ESCALATION_REASSIGNED = "escalation_moved", _("sendt til annen lege")
    ESCALATION_OVERDUE = "escalation_late", _("frist for lege passert")
    WEB_IN = "web_in", _("svar fra familien på sikker side")
    PATIENT_LINKED = "patient_linked", _("koblet til pasient")


class TimelineEntry(models.Model):
    """One thing that happened to an inquiry. Append-only: entries are never edited or deleted."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    at = models.DateTimeField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    text = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Twilio's MessageSid/CallSid/RecordingSid (or a key derived from one): the database refuses
    # a second entry for the same external event, which makes every webhook idempotent.
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.inquiry_id}: {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Timeline entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Timeline entries are append-only")


class Call(models.Model):
    """A phone call through Twilio, from ringing to its end (and voicemail, if any)."""

    call_sid = models.CharField(max_length=64, unique=True)
    inquiry = models.ForeignKey(Inquiry, on_delete=models.PROTECT, related_name="calls")
    from_phone = models.CharField(max_length=32)
    status = models.CharField(max_length=20, default="ringing")
    answered = models.BooleanField(default=False)
    missed = models.BooleanField(default=False)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording_sid = models.CharField(max_length=64, blank=True)
    recording_url = models.URLField(max_length=500, blank=True)
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Anrop {self.call_sid}"


class InboundText(models.Model):
    """A text exactly as Twilio delivered it, stored by the webhook in one insert before it
    answers Twilio. A worker then puts it on the family's inquiry (services/inbox.py) and
    clears the body, which the timeline holds from then on. The unique MessageSid makes a
    retried delivery a no-op; the row is kept a while after that for the same reason."""

    message_sid = models.CharField(max_length=64, unique=True)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+")
    from_phone = models.CharField(max_length=32, blank=True)
    to_phone = models.CharField(max_length=32, blank=True)
    body = models.TextField(blank=True)
    num_media = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    inquiry = models.ForeignKey(
        Inquiry, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Failed attempts to put it on an inquiry (a bug, not a busy database): shown in /metrics.
    failures = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [
            # What the workers read: the few texts of a section not yet on an inquiry.
            models.Index(
                fields=["section", "received_at", "id"],
                condition=models.Q(processed_at__isnull=True),
                name="inbound_text_pending",
            ),
            models.Index(fields=["processed_at"], name="inbound_text_processed"),
        ]

    def __str__(self) -> str:
        return f"SMS inn {self.message_sid}"

"""Outbound messages, opt-outs, secure links and follow-up plans (DESIGN.md §7)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Section
from henvendelser.models import Contact, Inquiry, Patient
from maler.models import TemplateVersion


class Kind(models.TextChoices):
    REPLY = "reply", _("svar på henvendelse")
    NOTICE = "notice", _("melding")
    FOLLOW_UP = "follow_up", _("oppfølging")
    REMINDER = "reminder", _("påminnelse")
    OPT_CONFIRMATION = "opt_confirmation", _("bekreftelse på reservasjon")
    DOCTOR_NOTICE = "doctor_notice", _("varsel til lege")


# Messages the family did not ask for: they wait out quiet hours and need recorded consent.
UNSOLICITED = frozenset({Kind.NOTICE, Kind.FOLLOW_UP, Kind.REMINDER})
# Messages that go to a family's number (and so respect opt-out).
TO_FAMILY = frozenset({Kind.REPLY, Kind.NOTICE, Kind.FOLLOW_UP, Kind.REMINDER})


class MessageStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("planlagt")
    QUEUED = "queued", _("i kø")
    SENDING = "sending", _("sendes")
    SENT = "sent", _("sendt")
    DELIVERED = "delivered", _("levert")
    UNDELIVERED = "undelivered", _("ikke levert")
    FAILED = "failed", _("feilet")
    CANCELLED = "cancelled", _("avbrutt")


# A status only ever moves up this ladder; delivered, undelivered and failed are final.
RANK = {
    MessageStatus.CANCELLED: 0,
    MessageStatus.SCHEDULED: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.SENT: 3,
    MessageStatus.DELIVERED: 4,
    MessageStatus.UNDELIVERED: 4,
    MessageStatus.FAILED: 4,
}


class MunicipalCoordinator(models.Model):
    """The cancer coordinator of a municipality, whom follow-ups point families to."""

    municipality_number = models.CharField(max_length=4, unique=True)
    municipality = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["municipality"]

    def __str__(self) -> str:
        return self.municipality


class FollowUpPlan(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="followup_plans")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=32, default="pakkeforlop_hjem")
    start_date = models.DateField()
    municipality = models.ForeignKey(
        MunicipalCoordinator, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The page's key for one press of "Lag plan": a repeat returns the plan made the first time.
    idempotency_key = models.CharField(max_length=100, unique=True, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Oppfølgingsplan {self.pk}"


class Message(models.Model):
    """One outbound SMS. The database row is the truth: the task that sends it, Twilio's
    callbacks and the sweeps all move it through its statuses under a row lock."""

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    inquiry = models.ForeignKey(
        Inquiry, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    plan = models.ForeignKey(
        FollowUpPlan, on_delete=models.PROTECT, null=True, blank=True, related_name="messages"
    )
    to_phone = models.CharField(max_length=20)
    language = models.CharField(max_length=8, default="nb")
    template_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sensitive = models.BooleanField(default=False)
    # `body` is the SMS as sent; `content` is the whole message (for a sensitive template it is
    # shown only behind the secure link, and `body` is the notice with the link).
    body = models.TextField()
    content = models.TextField()
    encoding = models.CharField(max_length=8)
    segments = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    status_at = models.DateTimeField()
    scheduled_for = models.DateTimeField(null=True, blank=True)
    twilio_sid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    twilio_status = models.CharField(max_length=20, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_reason = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["status", "status_at"]),
            models.Index(fields=["status", "scheduled_for"]),
            models.Index(fields=["inquiry", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"Melding {self.pk}"


class OptOut(models.Model):
    """A number that said STOP. Kept per number, since the number is what Twilio knows."""

    phone = models.CharField(max_length=20, unique=True)
    opted_out = models.BooleanField(default=True)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Reservasjon {self.pk}"


class InboundKeyword(models.Model):
    """A STOP or START received, once per MessageSid (so a retried webhook changes nothing)."""

    message_sid = models.CharField(max_length=64, unique=True)
    phone = models.CharField(max_length=20)
    action = models.CharField(max_length=8)  # "out" or "in"
    changed = models.BooleanField()
    at = models.DateTimeField()

    def __str__(self) -> str:
        return self.message_sid


class SecureLink(models.Model):
    """The link in a sensitive message's SMS. Looked up by a hash of its token; the token itself
    is only in the SMS body."""

    message = models.OneToOneField(Message, on_delete=models.PROTECT, related_name="secure_link")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Sikker lenke {self.pk}"

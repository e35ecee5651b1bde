"""Rosters, escalations to doctors, and the deadline breaches the sweep records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Section
from henvendelser.models import Grade, Inquiry


class Target(models.TextChoices):
    WARD_DOCTOR = "ward_doctor", _("postansvarlig lege")
    RESPONSIBLE_DOCTOR = "responsible_doctor", _("pasientansvarlig lege")
    ON_CALL = "on_call", _("vakthavende lege")


class RosterRole(models.TextChoices):
    WARD_DOCTOR = "ward_doctor", _("postansvarlig lege")
    ON_CALL = "on_call", _("vakthavende lege")


class RosterShift(models.Model):
    """Who is ward doctor or on call in a section, from when to when."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="shifts")
    role = models.CharField(max_length=16, choices=RosterRole.choices)
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shifts"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["section", "role", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="shift_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.doctor_id} {self.starts_at:%Y-%m-%d %H:%M}"


class State(models.TextChoices):
    OPEN = "open", _("sendt, ikke sett")
    ACKNOWLEDGED = "acknowledged", _("sett av lege")
    ANSWERED = "answered", _("besvart")


class Escalation(models.Model):
    """A question handed to a doctor, tracked to its answer against deadlines."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.PROTECT, related_name="escalations")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="escalations")
    target = models.CharField(max_length=20, choices=Target.choices)
    doctor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="escalations"
    )
    question = models.TextField()
    grade = models.CharField(max_length=8, choices=Grade.choices, blank=True)
    # What the doctor needs to answer, as it was when the question was asked.
    triage = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    acknowledge_due_at = models.DateTimeField()
    answer_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True)
    patient_must_come_in = models.BooleanField(default=False)
    # 0: with the doctor first chosen; 1: re-escalated to the on-call doctor by the sweep.
    level = models.PositiveSmallIntegerField(default=0)
    coordinator_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "acknowledge_due_at"]),
            models.Index(fields=["doctor", "state"]),
        ]

    def __str__(self) -> str:
        return f"Eskalering {self.pk}"


class Breach(models.Model):
    """A missed deadline and what the sweep did about it. One per escalation and level, which
    makes the sweep idempotent even when two workers run it at once."""

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="breaches")
    level = models.PositiveSmallIntegerField()
    deadline = models.CharField(max_length=16)  # "acknowledge" or "answer"
    due_at = models.DateTimeField()
    detected_at = models.DateTimeField()
    outcome = models.CharField(max_length=24)  # "re_escalated" or "coordinator_alerted"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["escalation", "level"], name="one_breach_per_level"),
        ]

    def __str__(self) -> str:
        return f"Brudd {self.escalation_id}/{self.level}"


class DoctorNotice(models.Model):
    """An SMS telling a doctor there is an escalation, with no patient data in it. One per
    escalation, level and doctor. The SMS itself goes through the outbox (`message`), which
    sends it exactly once; a doctor with no phone number gets the in-app notice only."""

    escalation = models.ForeignKey(Escalation, on_delete=models.PROTECT, related_name="notices")
    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=100, unique=True)
    body = models.CharField(max_length=320)
    message = models.OneToOneField(
        "meldinger.Message", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.idempotency_key

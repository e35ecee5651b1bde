"""Sections (tenants), membership, the audit log and the per-section event log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.holidays import public_holidays


def default_opening_hours() -> dict[str, Any]:
    # Weekdays are ISO numbers (1 = Monday). Times are local (Europe/Oslo). Closed on Norwegian
    # public holidays unless "public_holidays" is "open".
    return {"weekdays": [1, 2, 3, 4, 5], "opens": "08:00", "closes": "15:30"}


def default_deadline_rules() -> dict[str, Any]:
    return {"red_minutes": 15, "amber_minutes": 120, "green_next_working_day_at": "12:00"}


class Section(models.Model):
    """A section (seksjon/post): the unit of tenancy. Users see only their sections."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    # The Twilio number families call and text; inbound webhooks are routed by it.
    phone_number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    # The ward's own 24/7 number, given in out-of-hours answers.
    ward_phone = models.CharField(max_length=20, blank=True)
    opening_hours = models.JSONField(default=default_opening_hours)
    # How long an inquiry of each grade may wait (DESIGN.md §6); see triage.deadlines.
    deadline_rules = models.JSONField(default=default_deadline_rules)
    # The last event sequence number handed out (see core.realtime). Never decreases.
    last_seq = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("seksjon")
        verbose_name_plural = _("seksjoner")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """`last_seq` is moved only by `realtime.next_seq` (an atomic increment). A section
        loaded earlier and saved now (opening hours changed in the admin, say) must not wind it
        back, or the next event would reuse a sequence number and fail."""
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name != "last_seq"
            ]
        super().save(*args, **kwargs)

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the contact point is staffed at `at` (any aware datetime)."""
        from django.utils import timezone

        local = timezone.localtime(at)
        hours = self.opening_hours or default_opening_hours()
        if local.isoweekday() not in hours.get("weekdays", []):
            return False
        closed_on_holidays = hours.get("public_holidays", "closed") != "open"
        if closed_on_holidays and local.date() in public_holidays(local.year):
            return False
        opens = dt.time.fromisoformat(hours.get("opens", "08:00"))
        closes = dt.time.fromisoformat(hours.get("closes", "15:30"))
        return opens <= local.time() < closes


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "section"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} i {self.section_id}"


class UserProfile(models.Model):
    """What a user record lacks: a phone (doctors get SMS notices) and a display title."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    phone = models.CharField(max_length=20, blank=True)
    title = models.CharField(max_length=100, blank=True)

    def __str__(self) -> str:
        return f"Profil {self.user_id}"


class AuditEvent(models.Model):
    """One read or write of patient data. Append-only: never updated or deleted by the app."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Kept even if the user is later removed.
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)  # e.g. "inquiry.read", "patient.update"
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # Plain ids, not foreign keys: the log outlives and must not block what it describes.
    # Indexed with the time (Meta), for a patient's newest records first.
    patient_id = models.BigIntegerField(null=True)
    # A list read (a queue page, a socket snapshot) is one record naming every patient shown,
    # written ",12,40,77," so that `patients__contains=",40,"` finds it on any database.
    patients = models.TextField(blank=True, default="")
    section_id = models.BigIntegerField(null=True, db_index=True)
    channel = models.CharField(max_length=16)  # api, page, ws, webhook, task, admin
    ip = models.GenericIPAddressField(null=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"]),
            models.Index(fields=["patient_id", "at", "id"], name="core_audit_patient_newest"),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Audit events are append-only")


class Event(models.Model):
    """A realtime event, stored so that a client that reconnects can ask for what it missed."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["section", "seq"], name="event_section_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.section_id}#{self.seq} {self.type}"


class AccountLock(models.Model):
    """Failed logins in a row for a user, and when the account was locked for them. A locked
    account cannot log in (page or token) until a lead unlocks it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_lock"
    )
    failures = models.PositiveIntegerField(default=0)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Innloggingssperre {self.user_id}"

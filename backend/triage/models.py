"""Published triage rule sets and the assessments made with them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from henvendelser.models import Grade, Inquiry


class RuleSet(models.Model):
    """One published version of the triage rules. Exactly one is active; old ones are kept so
    every assessment can be read against the rules it used."""

    version = models.CharField(max_length=32, unique=True)
    data = models.JSONField()
    active = models.BooleanField(default=False)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_ruleset"
            )
        ]

    def __str__(self) -> str:
        return f"Triageregler {self.version}"


class Assessment(models.Model):
    """A triage of an inquiry: the inputs, what the rules said, and the grade that stands."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.PROTECT, related_name="assessments")
    rules_version = models.CharField(max_length=32)
    inputs = models.JSONField()
    computed_grade = models.CharField(max_length=8, choices=Grade.choices)
    grade = models.CharField(max_length=8, choices=Grade.choices)
    action = models.CharField(max_length=32)
    reasons = models.JSONField(default=list)
    not_assessed = models.JSONField(default=list)
    override_reason = models.TextField(blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    assessed_at = models.DateTimeField()

    class Meta:
        ordering = ["assessed_at", "id"]

    def __str__(self) -> str:
        return f"Vurdering {self.pk} ({self.grade})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Assessments are append-only")
        super().save(*args, **kwargs)

    @property
    def overridden(self) -> bool:
        return self.grade != self.computed_grade

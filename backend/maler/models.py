"""Message templates and their versions (DESIGN.md §7)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

LANGUAGES = (("nb", _("bokmål")), ("nn", _("nynorsk")), ("en", _("engelsk")))


class TemplateCategory(models.TextChoices):
    TEST_RESULTS = "test_results", _("prøvesvar")
    TREATMENT = "treatment", _("behandling")
    FOLLOW_UP = "follow_up", _("oppfølging")
    APPOINTMENT = "appointment", _("timer")
    GENERAL = "general", _("generelt")


class MessageTemplate(models.Model):
    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=16, choices=TemplateCategory.choices)
    # A sensitive template's text never goes in the SMS; the family reads it behind a link.
    sensitive = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category", "key"]

    def __str__(self) -> str:
        return self.key


class TemplateVersion(models.Model):
    """One published text of a template in one language. The newest version of a language is
    the one in use. A version that a message has used is never changed: publish a new one."""

    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="versions")
    language = models.CharField(max_length=8)
    number = models.PositiveIntegerField()
    body = models.TextField()
    variables = models.JSONField(default=list)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    used = models.BooleanField(default=False)

    class Meta:
        ordering = ["template_id", "language", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language", "number"], name="template_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_id}/{self.language}/v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = TemplateVersion.objects.filter(pk=self.pk).values("body", "variables", "used")
            row = stored.first()
            if (
                row
                and row["used"]
                and (row["body"] != self.body or row["variables"] != self.variables)
            ):
                raise RuntimeError("A template version that has been used cannot be changed")
        super().save(*args, **kwargs)

"""Templates: publishing versions, finding the one in use, previews and the seed set."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core import audit
from core.exceptions import DomainError, InvalidInput

from . import gsm
from .models import LANGUAGES, MessageTemplate, TemplateVersion
from .rendering import Rendered, check_declaration, render

SEED_FILE = Path(__file__).parent / "seed" / "templates.json"
LANGUAGE_CODES = tuple(code for code, _label in LANGUAGES)


class TemplateNotFound(DomainError):
    code = "template_not_found"
    status = 404


class NoVersionInLanguage(DomainError):
    code = "template_language_missing"
    status = 400


def get_template(key: str) -> MessageTemplate:
    template = MessageTemplate.objects.filter(key=key).first()
    if template is None:
        raise TemplateNotFound(_("Fant ingen mal med nøkkelen «%(key)s».") % {"key": key})
    return template


def check_language(language: str) -> str:
    if language not in LANGUAGE_CODES:
        raise InvalidInput(
            _("Ukjent språk."), fields={"language": [f"one_of:{','.join(LANGUAGE_CODES)}"]}
        )
    return language


def current_version(template: MessageTemplate, language: str) -> TemplateVersion:
    version = template.versions.filter(language=language).order_by("-number").first()
    if version is None:
        raise NoVersionInLanguage(
            _("Malen «%(key)s» finnes ikke på dette språket.") % {"key": template.key},
            fields={"language": [language]},
        )
    return version


@transaction.atomic
def mark_used(version: TemplateVersion | None) -> None:
    """A message was made from this version: from now on it can never be edited."""
    if version is not None and not version.used:
        TemplateVersion.objects.filter(pk=version.pk).update(used=True)


def create_template(
    *, key: str, name: str, category: str, sensitive: bool, user: Any = None
) -> MessageTemplate:
    if MessageTemplate.objects.filter(key=key).exists():
        raise InvalidInput(_("En mal med denne nøkkelen finnes allerede."), fields={"key": [key]})
    template = MessageTemplate.objects.create(
        key=key, name=name, category=category, sensitive=sensitive
    )
    audit.record(user=user, action="template.created", obj=template, detail={"key": key})
    return template


@transaction.atomic
def publish_version(
    *, template: MessageTemplate, language: str, body: str, variables: list[str], user: Any = None
) -> TemplateVersion:
    """A new version of `template` in `language`; from now on the one in use. Versions are
    never edited: what was sent with an earlier one can always be read as it was."""
    check_language(language)
    if not body.strip():
        raise InvalidInput(_("Teksten kan ikke være tom."), fields={"body": ["blank"]})
    declared = check_declaration(body, variables)
    MessageTemplate.objects.select_for_update().get(pk=template.pk)
    latest = template.versions.filter(language=language).aggregate(n=Max("number"))["n"] or 0
    version = TemplateVersion.objects.create(
        template=template,
        language=language,
        number=latest + 1,
        body=body.strip(),
        variables=declared,
        published_at=timezone.now(),
        published_by=user,
    )
    audit.record(
        user=user,
        action="template.version_published",
        obj=version,
        detail={"key": template.key, "language": language, "number": version.number},
    )
    return version


@dataclass(frozen=True)
class Preview:
    version: TemplateVersion
    rendered: Rendered
    length: gsm.Length

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.version.template.key,
            "language": self.version.language,
            "version": self.version.number,
            "sensitive": self.version.template.sensitive,
            "text": self.rendered.text,
            **self.length.as_dict(),
            "missing": self.rendered.missing,
            "unknown": self.rendered.unknown,
            # Sent only with every variable filled in (the reply refuses it otherwise).
            "sendable": self.rendered.complete,
        }


def preview(template: MessageTemplate, language: str, variables: dict[str, Any]) -> Preview:
    version = current_version(template, check_language(language))
    rendered = render(version.body, version.variables, variables)
    return Preview(version=version, rendered=rendered, length=gsm.measure(rendered.text))


def load_seed_templates(path: Path = SEED_FILE) -> int:
    """Create the templates and languages of the seed file that do not exist yet. Returns how
    many versions it published. Running it again changes nothing."""
    data = json.loads(path.read_text(encoding="utf-8"))
    published = 0
    with transaction.atomic():
        for item in data["templates"]:
            template, _created = MessageTemplate.objects.get_or_create(
                key=item["key"],
                defaults={
                    "name": item["name"],
                    "category": item["category"],
                    "sensitive": item["sensitive"],
                },
            )
            for language, body in item["versions"].items():
                if not template.versions.filter(language=language).exists():
                    publish_version(
                        template=template,
                        language=language,
                        body=body,
                        variables=item["variables"],
                    )
                    published += 1
    return published

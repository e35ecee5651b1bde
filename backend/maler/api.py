"""Template API (DESIGN.md §9): list, create, read, publish a version, preview."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access
from core.access import Action
from core.api import StrictInputSerializer, validated
from core.schema import results_of
from henvendelser.api import ByMethod

from . import services
from .models import MessageTemplate, TemplateCategory, TemplateVersion
from .services import LANGUAGE_CODES


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateVersion
        fields = ["language", "number", "body", "variables", "published_at", "used"]


class TemplateSerializer(serializers.ModelSerializer):
    languages = serializers.SerializerMethodField()
    may_send = serializers.SerializerMethodField()

    class Meta:
        model = MessageTemplate
        fields = ["key", "name", "category", "sensitive", "languages", "may_send"]

    def get_may_send(self, template: MessageTemplate) -> bool:
        """Whether the reader may send it (the secretary: practical templates only)."""
        user = self.context.get("user")
        return user is not None and access.may_send(user, template.category)

    def get_languages(self, template: MessageTemplate) -> dict[str, Any]:
        """The version in use per language (the newest)."""
        current: dict[str, Any] = {}
        for version in template.versions.all():  # prefetched, newest first per language
            if version.language not in current:
                current[version.language] = VersionSerializer(version).data
        return current


class TemplateDetailSerializer(TemplateSerializer):
    versions = VersionSerializer(many=True, read_only=True)

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "versions"]


def _templates() -> Any:
    return MessageTemplate.objects.filter(active=True).prefetch_related("versions")


class TemplateListApi(APIView):
    """`GET /api/templates/` (every active template with its current text per language) and
    `POST /api/templates/` (a lead creates one: `key`, `name`, `category`, `sensitive`)."""

    schema_responses = {
        "GET": results_of(TemplateSerializer, "TemplateList"),
        "POST": {"201": TemplateDetailSerializer},
    }

    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_TEMPLATES)],
        "POST": [access.permission(Action.PUBLISH_TEMPLATES)],
    }

    class InputSerializer(StrictInputSerializer):
        key = serializers.SlugField(max_length=64)
        name = serializers.CharField(max_length=200)
        category = serializers.ChoiceField(choices=TemplateCategory.choices)
        sensitive = serializers.BooleanField()

    def get(self, request: Request) -> Response:
        templates = TemplateSerializer(_templates(), many=True, context={"user": request.user})
        return Response({"results": templates.data})

    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        template = services.create_template(user=request.user, **data)
        return Response(TemplateDetailSerializer(template).data, status=201)


class TemplateDetailApi(APIView):
    schema_responses = {"GET": TemplateDetailSerializer}
    permission_classes = [access.permission(Action.READ_TEMPLATES)]

    def get(self, request: Request, key: str) -> Response:
        template = services.get_template(key)
        return Response(TemplateDetailSerializer(template).data)


class TemplateVersionsApi(APIView):
    """`POST /api/templates/{key}/versions/`: `language`, `body`, `variables`."""

    schema_responses = {"POST": {"201": VersionSerializer}}

    permission_classes = [access.permission(Action.PUBLISH_TEMPLATES)]

    class InputSerializer(StrictInputSerializer):
        language = serializers.ChoiceField(choices=LANGUAGE_CODES)
        body = serializers.CharField(max_length=1600, trim_whitespace=False)
        variables = serializers.ListField(
            child=serializers.CharField(max_length=40), allow_empty=True, max_length=20
        )

    def post(self, request: Request, key: str) -> Response:
        template = services.get_template(key)
        data = validated(self.InputSerializer, request.data)
        version = services.publish_version(template=template, user=request.user, **data)
        return Response(VersionSerializer(version).data, status=201)


class TemplatePreviewApi(APIView):
    """`POST /api/templates/{key}/preview/`: `language`, `variables` → the text and its cost."""

    permission_classes = [access.permission(Action.READ_TEMPLATES)]

    class InputSerializer(StrictInputSerializer):
        language = serializers.ChoiceField(choices=LANGUAGE_CODES)
        variables = serializers.DictField(
            child=serializers.CharField(allow_blank=True, max_length=500, trim_whitespace=False),
            required=False,
            default=dict,
        )

    def post(self, request: Request, key: str) -> Response:
        template = services.get_template(key)
        data = validated(self.InputSerializer, request.data)
        return Response(services.preview(template, data["language"], data["variables"]).as_dict())

"""Messages API: replies on an inquiry, messages and their status, follow-up plans and the
municipal coordinator directory (DESIGN.md §9)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access, audit
from core.access import Action
from core.api import StrictInputSerializer, id_field, validated
from core.exceptions import InvalidInput
from core.logfilters import redact
from core.schema import results_of
from henvendelser import selectors
from henvendelser.api import ByMethod, visible_inquiry_id
from henvendelser.serializers import UserRefSerializer
from maler.services import LANGUAGE_CODES

from . import plans, securelinks, services
from .models import FollowUpPlan, Message, MunicipalCoordinator, SecureLink


class MessageSerializer(serializers.ModelSerializer):
    template = serializers.SerializerMethodField()
    created_by = UserRefSerializer(allow_null=True)
    # A sensitive message's content is shown to staff, never put in the SMS.
    to = serializers.CharField(source="to_phone")
    secure_link = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "inquiry",
            "patient",
            "contact",
            "plan",
            "kind",
            "to",
            "language",
            "template",
            "sensitive",
            "body",
            "content",
            "encoding",
            "segments",
            "status",
            "scheduled_for",
            "twilio_sid",
            "error_code",
            "error_reason",
            "created_at",
            "created_by",
            "sent_at",
            "delivered_at",
            "secure_link",
        ]

    def get_secure_link(self, message: Message) -> dict[str, Any] | None:
        """Whether the family has read a sensitive message (or is locked out); no token."""
        if not message.sensitive:
            return None
        try:
            link = message.secure_link
        except SecureLink.DoesNotExist:
            return None
        return {
            "state": securelinks.state(link, timezone.now()),
            "opened_at": link.first_opened_at.isoformat() if link.first_opened_at else None,
            "expires_at": link.expires_at.isoformat(),
        }

    def get_template(self, message: Message) -> dict[str, Any] | None:
        version = message.template_version
        if version is None:
            return None
        return {
            "key": version.template.key,
            "category": version.template.category,
            "language": version.language,
            "version": version.number,
        }

    def to_representation(self, message: Message) -> dict[str, Any]:
        """Staff never see a secure link's token (it opens the family's page). A reader
        without clinical access (the secretary) sees that a medical message went and how it
        fared, not what it said. The reader comes in the context as `user`."""
        data = dict(super().to_representation(message))
        if message.sensitive:
            data["body"] = redact(data["body"])
        version = message.template_version
        category = version.template.category if version is not None else None
        data["redacted"] = not access.may_read_message(self.context["user"], category)
        link = data.get("secure_link")
        data["may_reissue"] = bool(
            link
            and link["state"] in ("locked", "expired")
            and message.pk not in self.context.get("reissued", set())
            and access.may(
                self.context["user"], access.message_action(category), message.section_id
            )
        )
        if data["redacted"]:
            data["body"] = data["content"] = ""
        return data


def idempotency_key(request: Request) -> str | None:
    """The `Idempotency-Key` header, scoped to the user: the same key from the same person is
    the same request; refused if it is too long to be a key."""
    key = (request.headers.get("Idempotency-Key") or "").strip()
    if not key:
        return None
    if len(key) > 64:
        raise InvalidInput(
            _("Idempotency-Key er for lang (høyst 64 tegn)."),
            fields={"Idempotency-Key": ["too_long"]},
        )
    return f"{request.user.pk}:{key}"


def _messages() -> Any:
    return Message.objects.select_related("template_version__template", "created_by", "secure_link")


def _audit_messages(request: Request, action: str, messages: list[Message]) -> None:
    audit.record_reads(
        user=request.user,
        action=action,
        objects=messages,
        patient_of=lambda m: m.patient_id,
        section_of=lambda m: m.section_id,
    )


class InquiryRepliesApi(APIView):
    """`POST /api/inquiries/{id}/replies/`: `template` + `language` + `variables`, or `text`.
    An `Idempotency-Key` header makes a repeated request return the first message."""

    schema_responses = {"POST": MessageSerializer}

    permission_classes = [access.permission(Action.SEND_PRACTICAL_MESSAGE)]

    class InputSerializer(StrictInputSerializer):
        template = serializers.SlugField(max_length=64, required=False, allow_null=True)
        language = serializers.ChoiceField(choices=LANGUAGE_CODES, required=False)
        variables = serializers.DictField(
            child=serializers.CharField(allow_blank=True, max_length=500),
            required=False,
            default=dict,
        )
        text = serializers.CharField(max_length=services.MAX_FREE_TEXT, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if bool(attrs.get("template")) == bool(attrs.get("text")):
                raise serializers.ValidationError(
                    {"template": ["template_or_text"], "text": ["template_or_text"]}
                )
            return attrs

    def post(self, request: Request, pk: int) -> Response:
        visible_inquiry_id(request, pk)
        data = validated(self.InputSerializer, request.data)
        message, created = services.create_reply(
            inquiry_id=pk,
            by=request.user,
            idempotency_key=idempotency_key(request),
            **data,
        )
        return Response(
            MessageSerializer(_messages().get(pk=message.pk), context={"user": request.user}).data,
            status=201 if created else 200,
        )


class FreeTextPreviewApi(APIView):
    """`POST /api/messages/preview/`: `text` → `encoding`, `characters`, `segments`, and
    `sendable` with the `problems` that would refuse it."""

    permission_classes = [access.permission(Action.SEND_MESSAGE)]

    class InputSerializer(StrictInputSerializer):
        text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=20_000)

    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        return Response(services.preview_free_text(data["text"]))


class InquiryMessagesApi(APIView):
    """`GET /api/inquiries/{id}/messages/`: the messages sent on an inquiry, oldest first."""

    schema_responses = {"GET": results_of(MessageSerializer, "MessageList")}

    permission_classes = [access.permission(Action.READ_QUEUE)]

    def get(self, request: Request, pk: int) -> Response:
        visible_inquiry_id(request, pk)
        messages = list(_messages().filter(inquiry_id=pk))
        _audit_messages(request, "message.list", messages)
        context = {"user": request.user, "reissued": services.reissued_ids(messages)}
        return Response({"results": MessageSerializer(messages, many=True, context=context).data})


class MessageDetailApi(APIView):
    """`GET /api/messages/{id}/`: one outbound message and its delivery status."""

    schema_responses = {"GET": MessageSerializer}

    permission_classes = [access.permission(Action.READ_QUEUE)]

    def get(self, request: Request, pk: int) -> Response:
        message = get_object_or_404(
            _messages().filter(section_id__in=access.sections(request.user)), pk=pk
        )
        _audit_messages(request, "message.read", [message])
        return Response(MessageSerializer(message, context={"user": request.user}).data)


class MessageReissueApi(APIView):
    """`POST /api/messages/{id}/reissue/`: a sensitive message whose link is locked or expired
    goes again behind a new link. An `Idempotency-Key` makes a repeat return the first."""

    schema_responses = {"POST": MessageSerializer}

    permission_classes = [access.permission(Action.SEND_PRACTICAL_MESSAGE)]

    def post(self, request: Request, pk: int) -> Response:
        validated(StrictInputSerializer, request.data or {})
        get_object_or_404(_messages().filter(section_id__in=access.sections(request.user)), pk=pk)
        message, created = services.reissue_link(
            message_id=pk, by=request.user, idempotency_key=idempotency_key(request)
        )
        return Response(
            MessageSerializer(_messages().get(pk=message.pk), context={"user": request.user}).data,
            status=201 if created else 200,
        )


class MunicipalCoordinatorSerializer(serializers.ModelSerializer):
    class Meta:
        model = MunicipalCoordinator
        fields = ["id", "municipality_number", "municipality", "name", "phone", "email"]


class MunicipalCoordinatorsApi(APIView):
    schema_responses = {
        "GET": results_of(MunicipalCoordinatorSerializer, "MunicipalCoordinatorList")
    }
    permission_classes = [access.permission(Action.READ_TEMPLATES)]

    def get(self, request: Request) -> Response:
        rows = MunicipalCoordinator.objects.all()
        return Response({"results": MunicipalCoordinatorSerializer(rows, many=True).data})


class FollowUpPlanSerializer(serializers.ModelSerializer):
    municipality = MunicipalCoordinatorSerializer()
    messages = serializers.SerializerMethodField()

    class Meta:
        model = FollowUpPlan
        fields = [
            "id",
            "patient",
            "contact",
            "kind",
            "start_date",
            "municipality",
            "created_at",
            "cancelled_at",
            "messages",
        ]

    def get_messages(self, plan: FollowUpPlan) -> list[dict[str, Any]]:
        when = serializers.DateTimeField()  # local time with offset, like every other field
        return [
            {
                "id": m.pk,
                "kind": m.kind,
                "template": m.template_version.template.key if m.template_version else None,
                "scheduled_for": when.to_representation(m.scheduled_for)
                if m.scheduled_for
                else None,
                "status": m.status,
                "sent_at": when.to_representation(m.sent_at) if m.sent_at else None,
            }
            for m in plans.plan_messages(plan)
        ]


class PatientFollowUpsApi(APIView):
    """`GET/POST /api/patients/{id}/followups/`: a patient's follow-up plans; make one with
    `contact`, `start_date` (the diagnosis date) and `municipality`."""

    schema_responses = {
        "GET": results_of(FollowUpPlanSerializer, "FollowUpPlanList"),
        "POST": FollowUpPlanSerializer,
    }

    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_QUEUE)],
        "POST": [access.permission(Action.MANAGE_PLANS)],
    }

    class InputSerializer(StrictInputSerializer):
        contact = id_field()
        start_date = serializers.DateField()
        municipality = serializers.PrimaryKeyRelatedField(
            queryset=MunicipalCoordinator.objects.all()
        )
        kind = serializers.ChoiceField(choices=sorted(plans.PLANS), default="pakkeforlop_hjem")

    def get(self, request: Request, pk: int) -> Response:
        patient = get_object_or_404(selectors.patients_for(request.user), pk=pk)
        rows = list(FollowUpPlan.objects.filter(patient=patient).select_related("municipality"))
        audit.record(
            user=request.user,
            action="followup.list",
            obj=patient,
            patient_id=patient.pk,
            section_id=patient.section_id,
        )
        return Response({"results": FollowUpPlanSerializer(rows, many=True).data})

    def post(self, request: Request, pk: int) -> Response:
        patient = get_object_or_404(selectors.patients_for(request.user), pk=pk)
        data = validated(self.InputSerializer, request.data)
        contact = get_object_or_404(patient.contacts.all(), pk=data["contact"])
        plan, created = plans.create_plan(
            patient=patient,
            contact=contact,
            start_date=data["start_date"],
            municipality=data["municipality"],
            kind=data["kind"],
            by=request.user,
            idempotency_key=idempotency_key(request),
        )
        return Response(FollowUpPlanSerializer(plan).data, status=201 if created else 200)


class FollowUpCancelApi(APIView):
    schema_responses = {"POST": {"200": FollowUpPlanSerializer}}
    permission_classes = [access.permission(Action.MANAGE_PLANS)]

    def post(self, request: Request, pk: int) -> Response:
        plan = get_object_or_404(
            FollowUpPlan.objects.filter(patient__section_id__in=access.sections(request.user)),
            pk=pk,
        )
        plan = plans.cancel_plan(plan_id=plan.pk, by=request.user)
        return Response(FollowUpPlanSerializer(plan).data)

"""Escalation API (DESIGN.md §9)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access, audit, roles
from core.access import Action
from core.api import Pagination, StrictInputSerializer, id_field, validated
from core.models import Section
from core.schema import paginated
from henvendelser.api import ByMethod, section_for_write, visible_inquiry_id
from henvendelser.serializers import UserRefSerializer

from . import rosters, services
from .models import Escalation, RosterRole, RosterShift, Target
from .serializers import EscalationSerializer


def _doctors() -> Any:
    return get_user_model().objects.filter(groups__name=roles.DOCTOR)


def _visible(request: Request) -> Any:
    return Escalation.objects.filter(section_id__in=access.sections(request.user)).select_related(
        "doctor", "created_by", "inquiry", "inquiry__contact"
    )


def _audit(request: Request, action: str, escalations: list[Escalation]) -> None:
    audit.record_reads(
        user=request.user,
        action=action,
        objects=[e.inquiry for e in escalations],
        patient_of=lambda i: i.patient_id,
        section_of=lambda i: i.section_id,
    )


class InquiryEscalationsApi(APIView):
    """`POST /api/inquiries/{id}/escalations/`: `target`, optional `doctor`, `question`."""

    schema_responses = {"POST": {"201": EscalationSerializer}}

    permission_classes = [access.permission(Action.ESCALATE)]

    class InputSerializer(StrictInputSerializer):
        target = serializers.ChoiceField(choices=Target.choices)
        doctor = serializers.PrimaryKeyRelatedField(
            queryset=_doctors(), required=False, allow_null=True
        )
        question = serializers.CharField(max_length=4000)

    def post(self, request: Request, pk: int) -> Response:
        data = validated(self.InputSerializer, request.data)
        escalation = services.escalate_inquiry(
            inquiry_id=visible_inquiry_id(request, pk),
            by=request.user,
            target=data["target"],
            question=data["question"],
            doctor=data.get("doctor"),
        )
        return Response(EscalationSerializer(escalation).data, status=201)


class EscalationListApi(APIView):
    """`GET /api/escalations/?mine=true`: a doctor's escalations (open first, soonest due)."""

    schema_responses = {"GET": paginated(EscalationSerializer, "EscalationPage")}

    permission_classes = [access.permission(Action.READ_CLINICAL)]

    class FilterSerializer(serializers.Serializer):
        mine = serializers.BooleanField(required=False, default=False)
        open = serializers.BooleanField(required=False, default=False)
        inquiry = id_field(required=False)

    def get(self, request: Request) -> Response:
        filters = validated(
            self.FilterSerializer,
            {k: v for k, v in request.query_params.items() if k not in {"page", "page_size"}},
        )
        qs = _visible(request)
        if filters["mine"]:
            qs = qs.filter(doctor=request.user)
        if filters["open"]:
            qs = qs.filter(state__in=services.OPEN_STATES)
        if "inquiry" in filters:
            qs = qs.filter(inquiry_id=filters["inquiry"])
        qs = qs.order_by("answered_at", "acknowledge_due_at", "pk")
        paginator = Pagination()
        page: list[Escalation] = paginator.paginate_queryset(qs, request, view=self) or []
        _audit(request, "escalation.list", page)
        return paginator.get_paginated_response(EscalationSerializer(page, many=True).data)


class EscalationDetailApi(APIView):
    schema_responses = {"GET": EscalationSerializer}
    permission_classes = [access.permission(Action.READ_CLINICAL)]

    def get(self, request: Request, pk: int) -> Response:
        escalation = get_object_or_404(_visible(request), pk=pk)
        _audit(request, "escalation.read", [escalation])
        return Response(EscalationSerializer(escalation).data)


def _visible_escalation_id(request: Request, pk: int) -> int:
    """404 for escalations outside the user's sections, before any service runs."""
    if not _visible(request).filter(pk=pk).exists():
        raise NotFound()
    return pk


class EscalationAcknowledgeApi(APIView):
    schema_responses = {"POST": {"200": EscalationSerializer}}
    permission_classes = [access.permission(Action.ANSWER_ESCALATION)]

    def post(self, request: Request, pk: int) -> Response:
        validated(StrictInputSerializer, request.data or {})
        escalation = services.acknowledge_escalation(
            escalation_id=_visible_escalation_id(request, pk), by=request.user
        )
        return Response(EscalationSerializer(escalation).data)


class EscalationAnswerApi(APIView):
    schema_responses = {"POST": {"200": EscalationSerializer}}
    permission_classes = [access.permission(Action.ANSWER_ESCALATION)]

    class InputSerializer(StrictInputSerializer):
        answer = serializers.CharField(max_length=10_000)
        patient_must_come_in = serializers.BooleanField(required=False, default=False)

    def post(self, request: Request, pk: int) -> Response:
        data = validated(self.InputSerializer, request.data)
        escalation = services.answer_escalation(
            escalation_id=_visible_escalation_id(request, pk),
            by=request.user,
            answer=data["answer"],
            patient_must_come_in=data["patient_must_come_in"],
        )
        return Response(EscalationSerializer(escalation).data)


class EscalationReassignApi(APIView):
    schema_responses = {"POST": {"200": EscalationSerializer}}
    permission_classes = [access.permission(Action.ANSWER_ESCALATION, Action.ESCALATE)]

    class InputSerializer(StrictInputSerializer):
        doctor = serializers.PrimaryKeyRelatedField(queryset=_doctors())

    def post(self, request: Request, pk: int) -> Response:
        data = validated(self.InputSerializer, request.data)
        escalation = services.reassign_escalation(
            escalation_id=_visible_escalation_id(request, pk),
            by=request.user,
            doctor=data["doctor"],
        )
        return Response(EscalationSerializer(escalation).data)


# --- Rosters ---------------------------------------------------------------------------------


class ShiftSerializer(serializers.ModelSerializer):
    doctor = UserRefSerializer()

    class Meta:
        model = RosterShift
        fields = ["id", "section", "role", "doctor", "starts_at", "ends_at"]


def _section_for(request: Request, section_id: int | None) -> Section:
    return section_for_write(request.user, section_id)


class RosterListApi(APIView):
    """`GET /api/rosters/?from=&to=`: shifts overlapping the range; a lead `POST`s one."""

    schema_responses = {
        "GET": paginated(ShiftSerializer, "ShiftPage"),
        "POST": {"201": ShiftSerializer},
    }

    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_QUEUE)],
        "POST": [access.permission(Action.MANAGE_ROSTER)],
    }

    # "from" is a Python keyword, so the filter's fields are given by name.
    FilterSerializer = type(
        "RosterFilterSerializer",
        (serializers.Serializer,),
        {
            "from": serializers.DateTimeField(required=False),
            "to": serializers.DateTimeField(required=False),
        },
    )

    class InputSerializer(StrictInputSerializer):
        section = id_field(required=False)
        role = serializers.ChoiceField(choices=RosterRole.choices)
        doctor = serializers.PrimaryKeyRelatedField(queryset=_doctors())
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()

    def get(self, request: Request) -> Response:
        filters = validated(self.FilterSerializer, dict(request.query_params.items()))
        qs = RosterShift.objects.filter(
            section_id__in=access.sections(request.user)
        ).select_related("doctor")
        if "from" in filters:
            qs = qs.filter(ends_at__gt=filters["from"])
        if "to" in filters:
            qs = qs.filter(starts_at__lt=filters["to"])
        shifts = list(qs.order_by("starts_at", "role", "pk")[:1000])
        return Response(
            {
                "count": len(shifts),
                "next": None,
                "previous": None,
                "results": ShiftSerializer(shifts, many=True).data,
            }
        )

    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        shift = rosters.add_shift(
            by=request.user,
            section=_section_for(request, data.get("section")),
            role=data["role"],
            doctor=data["doctor"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
        )
        return Response(ShiftSerializer(shift).data, status=201)


class RosterShiftApi(APIView):
    permission_classes = [access.permission(Action.MANAGE_ROSTER)]

    def delete(self, request: Request, pk: int) -> Response:
        shift = get_object_or_404(
            RosterShift.objects.filter(section_id__in=access.sections(request.user)),
            pk=pk,
        )
        rosters.remove_shift(by=request.user, shift=shift)
        return Response(status=204)


class RosterImportApi(APIView):
    """`POST /api/rosters/import/` with `{"csv": "role,doctor,starts_at,ends_at\\n..."}`."""

    permission_classes = [access.permission(Action.MANAGE_ROSTER)]

    class InputSerializer(StrictInputSerializer):
        section = id_field(required=False)
        csv = serializers.CharField(max_length=200_000)

    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        shifts = rosters.import_csv(
            by=request.user,
            section=_section_for(request, data.get("section")),
            text=data["csv"],
        )
        return Response({"count": len(shifts)}, status=201)


class DoctorListApi(APIView):
    """`GET /api/doctors/`: the doctors in the user's sections (for rosters and reassigning)."""

    permission_classes = [access.permission(Action.READ_QUEUE)]

    def get(self, request: Request) -> Response:
        doctors = (
            _doctors()
            .filter(memberships__section_id__in=access.sections(request.user))
            .distinct()
            .order_by("last_name", "first_name", "pk")
        )
        rows = UserRefSerializer(doctors, many=True).data
        return Response({"count": len(rows), "next": None, "previous": None, "results": rows})

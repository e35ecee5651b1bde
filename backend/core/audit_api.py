"""`GET /api/audit/`: the audit log for a lead, by patient and by user."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import access, audit
from .access import Action
from .api import Pagination, id_field, validated
from .models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    patients = serializers.SerializerMethodField(
        help_text="Every patient a list read showed (one record per list, not per row)."
    )

    def get_patients(self, event: AuditEvent) -> list[int]:
        return [int(p) for p in event.patients.strip(",").split(",") if p]

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "at",
            "user",
            "username",
            "action",
            "object_type",
            "object_id",
            "patient_id",
            "patients",
            "section_id",
            "channel",
            "ip",
            "detail",
        ]


class AuditListApi(APIView):
    permission_classes = [access.permission(Action.READ_AUDIT)]

    class FilterSerializer(serializers.Serializer):
        patient = id_field(required=False)
        user = serializers.CharField(required=False, max_length=150)
        action = serializers.CharField(required=False, max_length=64)

    def get(self, request: Request) -> Response:
        filters = validated(
            self.FilterSerializer,
            {k: v for k, v in request.query_params.items() if k not in {"page", "page_size"}},
        )
        sections = access.sections(request.user)
        qs = AuditEvent.objects.filter(section_id__in=sections)
        if "user" in filters:
            qs = qs.filter(username=filters["user"])
        if "action" in filters:
            qs = qs.filter(action=filters["action"])
        records: Any = (
            audit.PatientRecords(qs, filters["patient"])
            if "patient" in filters
            else qs.order_by(*audit.NEWEST_FIRST)
        )
        paginator = Pagination()
        page: list[AuditEvent] = paginator.paginate_queryset(records, request, view=self) or []
        # Reading who read a patient's record is itself a read worth recording: in the log of
        # each section whose records were read, where the next lead's read finds it.
        with audit.recorded_together():
            for section_id in audit.logs_of(sections):
                audit.record(
                    user=request.user,
                    action="audit.list",
                    patient_id=filters.get("patient"),
                    section_id=section_id,
                    detail={"filters": {k: str(v) for k, v in filters.items()}},
                )
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)

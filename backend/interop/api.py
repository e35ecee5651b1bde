"""`GET /api/fhir/Communication?patient=` and `GET /api/fhir/Task?patient=`: a patient's texts and
escalated questions as FHIR R4 searchset Bundles, for the hospital's other systems. Clinicians
only (READ_CLINICAL), patients of their own sections only; every export is audited."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.shortcuts import get_object_or_404
from eskalering.models import Escalation
from meldinger.models import Kind, Message
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access, audit
from core.access import Action
from core.api import id_field, validated
from henvendelser import selectors
from henvendelser.models import Patient, TimelineEntry

from . import fhir

FHIR_JSON = "application/fhir+json"


class BundleSerializer(serializers.Serializer):
    """A FHIR searchset Bundle (its entries are FHIR resources, described by FHIR itself)."""

    resourceType = serializers.CharField(default="Bundle")
    type = serializers.CharField(default="searchset")
    total = serializers.IntegerField()
    link = serializers.ListField(child=serializers.DictField())
    entry = serializers.ListField(child=serializers.DictField())


class PatientFilter(serializers.Serializer):
    patient = id_field(help_text="the patient's id")


class _FhirSearch(APIView):
    permission_classes = [access.permission(Action.READ_CLINICAL)]
    schema_responses = {"GET": BundleSerializer}
    FilterSerializer = PatientFilter
    audit_action = ""

    def resources(self, patient: Patient) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        data = validated(PatientFilter, dict(request.query_params.items()))
        patient = get_object_or_404(selectors.patients_for(request.user), pk=data["patient"])
        resources = self.resources(patient)
        audit.record(
            user=request.user,
            action=self.audit_action,
            obj=patient,
            patient_id=patient.pk,
            section_id=patient.section_id,
            detail={"resources": [r["id"] for r in resources]},
        )
        return Response(
            fhir.searchset(resources, request.build_absolute_uri()), content_type=FHIR_JSON
        )


class CommunicationSearchApi(_FhirSearch):
    """Inbound texts (SMS, secure-page replies, voicemails) and the messages we sent, oldest
    first. Messages to doctors and opt-out confirmations are not about the patient's care."""

    audit_action = "fhir.communication"

    def resources(self, patient: Patient) -> list[dict[str, Any]]:
        entries = (
            TimelineEntry.objects.filter(inquiry__patient=patient, kind__in=fhir.INBOUND_KINDS)
            .select_related("inquiry__contact")
            .order_by("at", "pk")
        )
        messages = (
            Message.objects.filter(Q(patient=patient) | Q(inquiry__patient=patient))
            .exclude(kind__in=[Kind.DOCTOR_NOTICE, Kind.OPT_CONFIRMATION])
            .select_related("contact")
            .order_by("created_at", "pk")
        )
        timed = [(e.at, fhir.inbound_communication(e, patient)) for e in entries]
        timed += [(m.created_at, fhir.outbound_communication(m, patient)) for m in messages]
        return [resource for _at, resource in sorted(timed, key=lambda pair: pair[0])]


class TaskSearchApi(_FhirSearch):
    """Every question escalated to a doctor about the patient, with the answer when given."""

    audit_action = "fhir.task"

    def resources(self, patient: Patient) -> list[dict[str, Any]]:
        escalations = (
            Escalation.objects.filter(inquiry__patient=patient)
            .select_related("inquiry", "doctor", "created_by")
            .order_by("created_at", "pk")
        )
        return [fhir.escalation_task(e, patient) for e in escalations]

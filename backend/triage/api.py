"""Triage API: stateless assessment, assessments on an inquiry, and the rules in force."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access, audit
from core.access import Action
from core.api import StrictInputSerializer, validated
from core.exceptions import InvalidInput
from henvendelser import selectors as inquiry_selectors
from henvendelser.api import ByMethod, visible_inquiry_id
from henvendelser.serializers import UserRefSerializer

from . import services
from .engine import GRADES
from .models import Assessment, RuleSet
from .rulesets import active_ruleset, publish_ruleset

OVERRIDE_FIELDS = ("override_grade", "override_reason")


def _json_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(_("Forventet et JSON-objekt."), fields={"non_field_errors": ["object"]})
    return dict(data)


def result_body(result: Any) -> dict[str, Any]:
    """The assessment's answer. `show_grade` is false while required questions are open and
    nothing is red yet: a form shows no grade it cannot stand behind."""
    data = result.as_dict()
    body = {
        key: data[key]
        for key in (
            "grade",
            "action",
            "reasons",
            "not_assessed",
            "rules_version",
            "doctor_required",
            "missing_required",
        )
    }
    body["complete"] = result.complete
    body["show_grade"] = result.complete or result.grade == "red"
    return body


class AssessmentOutputSerializer(serializers.ModelSerializer):
    assessed_by = UserRefSerializer(allow_null=True)

    class Meta:
        model = Assessment
        fields = [
            "id",
            "inquiry",
            "grade",
            "computed_grade",
            "action",
            "reasons",
            "not_assessed",
            "rules_version",
            "inputs",
            "override_reason",
            "assessed_by",
            "assessed_at",
        ]


class TriageAssessApi(APIView):
    """`POST /api/triage/assess/`: inputs in, grade, action and reasons out. Stores nothing."""

    permission_classes = [access.permission(Action.READ_CLINICAL)]

    def post(self, request: Request) -> Response:
        result, _rules = services.run_rules(_json_object(request.data))
        return Response(result_body(result))


class InquiryAssessmentsApi(APIView):
    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_CLINICAL)],
        "POST": [access.permission(Action.ASSESS)],
    }

    class OverrideSerializer(StrictInputSerializer):
        override_grade = serializers.ChoiceField(choices=GRADES, required=False, allow_null=True)
        override_reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def get(self, request: Request, pk: int) -> Response:
        inquiry_id = visible_inquiry_id(request, pk)
        assessments = Assessment.objects.filter(inquiry_id=inquiry_id).select_related(
            "assessed_by", "inquiry"
        )
        inquiry = inquiry_selectors.inquiries_for(request.user).get(pk=inquiry_id)
        audit.record(
            user=request.user,
            action="assessment.list",
            obj=inquiry,
            patient_id=inquiry.patient_id,
            section_id=inquiry.section_id,
        )
        return Response(
            {
                "count": len(assessments),
                "next": None,
                "previous": None,
                "results": AssessmentOutputSerializer(assessments, many=True).data,
            }
        )

    def post(self, request: Request, pk: int) -> Response:
        body = _json_object(request.data)
        override = validated(
            self.OverrideSerializer, {k: body.pop(k) for k in OVERRIDE_FIELDS if k in body}
        )
        assessment = services.assess_inquiry(
            inquiry_id=visible_inquiry_id(request, pk),
            by=request.user,
            inputs=body,
            override_grade=override.get("override_grade"),
            override_reason=override.get("override_reason", ""),
        )
        return Response(AssessmentOutputSerializer(assessment).data, status=201)


class RulesApi(APIView):
    """The rules in force (the triage form is built from them); a lead publishes new ones."""

    permission_classes = [ByMethod]
    permissions_by_method = {
        "GET": [access.permission(Action.READ_QUEUE)],
        "POST": [access.permission(Action.PUBLISH_RULES)],
    }

    class InputSerializer(StrictInputSerializer):
        rules = serializers.JSONField()

    @staticmethod
    def body(ruleset: RuleSet) -> dict[str, Any]:
        return {
            "version": ruleset.version,
            "published_at": ruleset.published_at,
            "data": ruleset.data,
        }

    def get(self, request: Request) -> Response:
        return Response(self.body(active_ruleset()))

    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer, request.data)
        ruleset = publish_ruleset(data=data["rules"], by=request.user)
        return Response(self.body(ruleset), status=201)

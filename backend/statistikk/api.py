"""`GET /api/stats/?from=&to=&section=` (JSON) and `GET /api/stats/csv/` (the days as CSV): a
lead's figures for their sections. Reading them is audited (they are about patients in bulk)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import access, audit
from core.access import Action
from core.api import id_field, validated
from core.exceptions import InvalidInput

from . import services

# "from" is a Python keyword, so the filter's fields are given by name.
StatsFilterSerializer = type(
    "StatsFilterSerializer",
    (serializers.Serializer,),
    {
        "from": serializers.DateField(required=False, help_text="first day (Oslo), YYYY-MM-DD"),
        "to": serializers.DateField(required=False, help_text="last day, inclusive"),
        "section": id_field(required=False),
    },
)


def _period_and_sections(request: Request) -> tuple[services.Period, list[int]]:
    data = validated(StatsFilterSerializer, dict(request.query_params.items()))
    today = timezone.localdate()
    end = data.get("to") or today
    start = data.get("from") or end - dt.timedelta(days=29)
    if start > end:
        raise InvalidInput(_("Fra-dato må være før til-dato."), fields={"from": ["after_to"]})
    if (end - start).days + 1 > services.MAX_DAYS:
        raise InvalidInput(
            _("Velg en periode på høyst ett år."), fields={"to": ["period_too_long"]}
        )
    mine = access.sections(request.user)
    if "section" in data:
        if data["section"] not in mine:
            raise InvalidInput(_("Ikke din seksjon."), fields={"section": ["not_yours"]})
        mine = [data["section"]]
    return services.Period(start, end), mine


def _figures(request: Request) -> dict[str, Any]:
    period, sections = _period_and_sections(request)
    data = services.figures(section_ids=sections, period=period)
    for section_id in sections:
        audit.record(
            user=request.user,
            action="stats.read",
            section_id=section_id,
            detail={"from": data["from"], "to": data["to"]},
        )
    return data


class StatsApi(APIView):
    permission_classes = [access.permission(Action.READ_STATS)]
    FilterSerializer = StatsFilterSerializer

    def get(self, request: Request) -> Response:
        return Response(_figures(request))


class StatsCsvApi(APIView):
    permission_classes = [access.permission(Action.READ_STATS)]
    FilterSerializer = StatsFilterSerializer
    schema_responses = {"GET": {("200", "text/csv"): {"type": "string"}}}

    def get(self, request: Request) -> HttpResponse:
        data = _figures(request)
        out = io.StringIO()
        csv.writer(out).writerows(services.csv_rows(data))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"kontaktpunkt-{data['from']}-{data['to']}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

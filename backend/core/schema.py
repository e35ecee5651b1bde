"""The OpenAPI schema (`/api/schema/`): every operation with its request body, query
parameters and answers, read from the views' own declarations so the schema cannot drift from
what the view validates:

- `InputSerializer` is the request body of POST/PUT/PATCH;
- `FilterSerializer` gives the query parameters of GET;
- `schema_responses` maps a method to its answer's serializer (or to `{code: serializer}`);
  without it the answer is documented as a JSON object;
- every operation also documents the error shape for the 4xx answers it can give.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

# The error shape of every 4xx (core.errors.error_body). Written as a schema, not a serializer:
# a serializer cannot have a field called "fields".
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "stable_snake_case"},
                "message": {"type": "string", "description": "in Norwegian, for people"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        }
    },
}


def paginated(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """A page of a list (`count`, `next`, `previous`, `results`)."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": item(many=True),
        },
    )


def results_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """An unpaginated list (`results`)."""
    return type(name, (serializers.Serializer,), {"results": item(many=True)})


ERROR_CODES = ("400", "401", "403", "404", "405", "409", "413", "415", "429")


class KontaktpunktSchema(AutoSchema):
    def get_request_serializer(self) -> Any:
        if self.method in ("POST", "PUT", "PATCH"):
            return getattr(self.view, "InputSerializer", None)
        return None

    def get_override_parameters(self) -> list[Any]:
        filters = getattr(self.view, "FilterSerializer", None)
        return [filters] if filters is not None and self.method == "GET" else []

    def get_response_serializers(self) -> Any:
        declared = getattr(self.view, "schema_responses", {}).get(self.method, OpenApiTypes.OBJECT)
        if isinstance(declared, dict):
            responses = dict(declared)
        elif self.method == "DELETE":
            responses = {"204": None}
        elif self.method == "POST":
            # A create answers 201; the same request again (an idempotency key) answers 200.
            responses = {"200": declared, "201": declared}
        else:
            responses = {"200": declared}
        for code in ERROR_CODES:
            responses.setdefault(code, ERROR_SCHEMA)
        return responses

    def get_operation_id(self) -> str:
        # The list and the detail of a resource are both GETs: name them apart.
        operation_id = super().get_operation_id()
        if self.method == "GET" and not self.path.rstrip("/").endswith("}"):
            return operation_id.replace("_retrieve", "_list")
        return operation_id

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        # A view's nested InputSerializer/FilterSerializer is named after the view
        # ("InquiryNotesApi.InputSerializer" becomes "InquiryNotesInput").
        qualname = type(serializer).__qualname__
        if "." in qualname:
            outer, inner = qualname.rsplit(".", 1)
            outer = outer.split(".")[-1].removesuffix("Api")
            return outer + inner.removesuffix("Serializer")
        return str(super().get_serializer_name(serializer, direction))

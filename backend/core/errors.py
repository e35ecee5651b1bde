"""One mapping from every error to `{"error": {"code", "message", "fields"}}` (DESIGN.md §9)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .exceptions import DomainError

logger = logging.getLogger(__name__)


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _field_errors(detail: Any) -> dict[str, Any]:
    """DRF's nested ErrorDetail structure as plain strings."""
    if isinstance(detail, dict):
        return {key: _field_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_field_errors(item) for item in detail]  # type: ignore[return-value]
    return str(detail)  # type: ignore[return-value]


_DRF_CODES: list[tuple[type[Exception], str, int, str]] = [
    (exceptions.NotAuthenticated, "not_authenticated", 401, "Du må logge inn."),
    (exceptions.AuthenticationFailed, "authentication_failed", 401, "Innloggingen er ugyldig."),
    (exceptions.PermissionDenied, "permission_denied", 403, "Du har ikke tilgang til dette."),
    (exceptions.NotFound, "not_found", 404, "Fant ikke det du ba om."),
    (Http404, "not_found", 404, "Fant ikke det du ba om."),
    (exceptions.MethodNotAllowed, "method_not_allowed", 405, "Metoden er ikke tillatt her."),
    (exceptions.NotAcceptable, "not_acceptable", 406, "Kan ikke svare i det formatet."),
    (
        exceptions.UnsupportedMediaType,
        "unsupported_media_type",
        415,
        "Innholdet må sendes som JSON (Content-Type: application/json).",
    ),
    (exceptions.Throttled, "throttled", 429, "For mange forsøk. Vent litt og prøv igjen."),
    (exceptions.ParseError, "malformed_request", 400, "Forespørselen kunne ikke leses."),
]


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status)
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        return Response(
            error_body("request_too_large", _("Forespørselen er for stor.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        codes = exc.get_codes()
        code = "validation_error"
        if isinstance(codes, dict) and any(
            "unknown_field" in (v if isinstance(v, list) else [v]) for v in codes.values()
        ):
            code = "unknown_field"
        return Response(
            error_body(code, _("Noen felt er ugyldige."), fields),
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    for exc_type, code, http_status, message in _DRF_CODES:
        if isinstance(exc, exc_type):
            headers = {k: v for k, v in response.headers.items() if k in {"Retry-After", "Allow"}}
            return Response(error_body(code, _(message)), status=http_status, headers=headers)
    return Response(
        error_body("error", str(getattr(exc, "detail", _("Noe gikk galt.")))),
        status=response.status_code,
    )

"""Health endpoints and token login."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import lockout
from .api import StrictInputSerializer, validated
from .exceptions import DomainError


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_redis() -> str:
    if not settings.REDIS_URL:
        return "not_configured"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    ready = True
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            checks[name] = check()
        except Exception as exc:
            checks[name] = f"error: {type(exc).__name__}"
            ready = False
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 400


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    status = 429


class TokenLoginApi(APIView):
    """`POST /api/auth/token/` with username and password answers `{"token": "..."}`."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    class InputSerializer(StrictInputSerializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    def post(self, request: Request) -> Response:
        from django.contrib.auth import authenticate

        if lockout.too_many_attempts(request._request, "token"):
            raise TooManyAttempts(_("For mange forsøk. Vent et minutt og prøv igjen."))
        data = validated(self.InputSerializer, request.data)
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise InvalidCredentials(_("Feil brukernavn eller passord."))
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

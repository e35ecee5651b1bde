"""`POST /api/users/{id}/unlock/`: a lead opens an account locked after too many wrong
passwords (a colleague in one of the lead's sections), audited."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import access, lockout
from .access import Action
from .api import StrictInputSerializer, validated


class UnlockAccountApi(APIView):
    permission_classes = [access.permission(Action.UNLOCK_ACCOUNTS)]

    def post(self, request: Request, pk: int) -> Response:
        validated(StrictInputSerializer, request.data or {})
        user = get_object_or_404(lockout.colleagues(request.user), pk=pk)
        lockout.unlock(user=user, by=request.user)
        return Response({"id": user.pk, "locked": False})


class MeApi(APIView):
    """`GET /api/me/`: who is logged in, their roles and sections, and the session's idle
    limit. The pages call it when the user is active, which keeps the session alive."""

    def get(self, request: Request) -> Response:
        from django.conf import settings

        from . import roles

        user: Any = request.user  # authenticated: the default permission
        return Response(
            {
                "id": user.pk,
                "name": user.get_full_name() or user.get_username(),
                "roles": sorted(roles.user_roles(user)),
                "sections": access.sections(user),
                "idle_minutes": settings.SESSION_IDLE_MINUTES,
            }
        )

"""API building blocks shared by every app: strict input, pagination, role permissions."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from .roles import has_role


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class StrictInputSerializer(serializers.Serializer):
    """Input that refuses fields it does not declare, so a typo is an error, not silence."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [serializers.ErrorDetail(_("Ukjent felt."), code="unknown_field")]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


def role_permission(*roles: str) -> type[permissions.BasePermission]:
    """A DRF permission class admitting authenticated users with one of `roles`."""

    class HasRole(permissions.BasePermission):
        message = _("Rollen din gir ikke tilgang til dette.")

        def has_permission(self, request: Request, view: APIView) -> bool:
            return bool(request.user and request.user.is_authenticated) and has_role(
                request.user, roles
            )

    HasRole.__name__ = "HasRole_" + "_".join(roles)
    return HasRole


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)

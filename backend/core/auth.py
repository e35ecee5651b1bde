"""API tokens: the token, its user, the user's roles and sections in one query.

Every API request and every token-authenticated socket starts here. DRF's TokenAuthentication
reads the token and user, and then the first access check asked for the user's groups and the
second for their sections: three round trips before the view began. Here the roles and sections
come with the user, as JSON arrays from two correlated subqueries, and are primed into the
caches `core.roles` reads, so the checks ask the database nothing more. A revoked token or a
deactivated user is refused at once: nothing is cached between requests.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Aggregate, OuterRef, Subquery, TextField
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from . import roles
from .models import Membership


class _JsonArray(Aggregate):
    """The values as a JSON array, as text: JSON_AGG in PostgreSQL, JSON_GROUP_ARRAY in
    SQLite (Django 5.2 has no aggregate for both)."""

    function = "JSON_AGG"
    template = "CAST(%(function)s(%(expressions)s) AS TEXT)"
    output_field = TextField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            function="JSON_GROUP_ARRAY",
            template="%(function)s(%(expressions)s)",
            **extra,
        )


def _array_of(rows: Any, field: str) -> Subquery:
    """One JSON array of `field` over `rows` (a queryset filtered on OuterRef("user_id"))."""
    return Subquery(rows.values("user_id").annotate(values=_JsonArray(field)).values("values")[:1])


def token_with_user(key: str) -> Token | None:
    """The token with this key, its user loaded and the user's roles and sections known."""
    token = (
        Token.objects.select_related("user")
        .annotate(
            role_names=_array_of(
                Group.user_set.through.objects.filter(user_id=OuterRef("user_id")), "group__name"
            ),
            section_ids=_array_of(
                Membership.objects.filter(user_id=OuterRef("user_id")), "section_id"
            ),
        )
        .filter(key=key)
        .first()
    )
    if token is not None:
        roles.remember(
            token.user,
            role_names=json.loads(token.role_names or "[]"),
            section_ids=json.loads(token.section_ids or "[]"),
        )
    return token


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, in one query (see the module's docstring)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = token_with_user(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token

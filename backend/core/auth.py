"""API tokens: the token, its user, the user's roles and sections in one statement.

Every API request and every token-authenticated socket starts here. DRF's TokenAuthentication
read the token and user, and then the first access check asked for the user's groups and the
second for their sections: three statements, about 5 ms of the ORM building and compiling them
on this project's 2-core machine, before the view began. Here one SQL statement, written once
per database from the models' own table and column names (core.sql), brings the user with
their roles and sections (JSON arrays from two correlated subqueries; 1 ms), and primes the
caches that `core.roles` reads, so the access checks ask the database nothing more. Nothing
is kept between requests: a revoked token, a deactivated user or a lost role or section
counts at once.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from . import roles, sql
from .models import Membership


@functools.cache
def _statement(vendor: str) -> tuple[str, sql.Reader, sql.Reader]:
    """The SQL for `vendor`, and the readers of its token columns and user columns."""
    user_model = get_user_model()
    user_groups = Group.user_set.through

    def json_array(expression: str) -> str:
        if vendor == "postgresql":
            return f"CAST(JSON_AGG({expression}) AS TEXT)"
        return f"JSON_GROUP_ARRAY({expression})"

    pk = sql.quote("id")
    token_columns, token_reader = sql.select_list(Token, "t")
    user_columns, user_reader = sql.select_list(user_model, "u")
    role_names = (
        f"SELECT {json_array('g.' + sql.column(Group, 'name'))} "  # noqa: S608 (names from core.sql)
        f"FROM {sql.table(user_groups)} ug JOIN {sql.table(Group)} g "
        f"ON g.{pk} = ug.{sql.column(user_groups, 'group')} "
        f"WHERE ug.{sql.column(user_groups, 'user')} = u.{pk}"
    )
    section_ids = (
        f"SELECT {json_array('m.' + sql.column(Membership, 'section'))} "  # noqa: S608 (names from core.sql)
        f"FROM {sql.table(Membership)} m WHERE m.{sql.column(Membership, 'user')} = u.{pk}"
    )
    statement = (
        f"SELECT {token_columns}, {user_columns}, ({role_names}), ({section_ids}) "  # noqa: S608 (names from core.sql)
        f"FROM {sql.table(Token)} t JOIN {sql.table(user_model)} u "
        f"ON u.{pk} = t.{sql.column(Token, 'user')} WHERE t.{sql.column(Token, 'key')} = %s"
    )
    return statement, token_reader, user_reader


def token_with_user(key: str) -> Token | None:
    """The token with this key, its user loaded and the user's roles and sections known."""
    statement, token_reader, user_reader = _statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(statement, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(token_reader.fields)
    token = token_reader.instance(row[:split])
    token.user = user = user_reader.instance(row[split:-2])
    role_names, section_ids = row[-2], row[-1]
    roles.remember(
        user,
        role_names=[name for name in json.loads(role_names or "[]") if name is not None],
        section_ids=[pk for pk in json.loads(section_ids or "[]") if pk is not None],
    )
    return token


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, in one statement (see the module's docstring)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = token_with_user(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token

"""API tokens: the token, its user, the user's roles and sections in one statement.

Every API request and every token-authenticated socket starts here. DRF's TokenAuthentication
read the token and user, and then the first access check asked for the user's groups and the
second for their sections: three statements, about 5 ms of the ORM building and compiling them
on this project's 2-core machine, before the view began. Here one SQL statement, written once
per database from the models' own table and column names, brings the user with their roles and
sections (JSON arrays from two correlated subqueries; 0.5 ms), and primes the caches that
`core.roles` reads, so the access checks ask the database nothing more. Nothing is kept between
requests: a revoked token, a deactivated user or a lost role or section counts at once.
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

from . import roles
from .models import Membership


@functools.cache
def _statement(vendor: str) -> tuple[str, list[str]]:
    """The SQL for `vendor`, and the user model's field names in the order it selects them."""
    q = connection.ops.quote_name
    user_model = get_user_model()
    fields = list(user_model._meta.concrete_fields)
    user_table, token_table = q(user_model._meta.db_table), q(Token._meta.db_table)
    user_groups = Group.user_set.through._meta
    group_table = q(Group._meta.db_table)
    membership = Membership._meta

    def json_array(expression: str) -> str:
        if vendor == "postgresql":
            return f"CAST(JSON_AGG({expression}) AS TEXT)"
        return f"JSON_GROUP_ARRAY({expression})"

    def column(meta: Any, field: str) -> str:
        return q(str(meta.get_field(field).column))

    ug_user, ug_group = column(user_groups, "user"), column(user_groups, "group")
    m_user, m_section = column(membership, "user"), column(membership, "section")
    pk, name = q("id"), q("name")
    columns = ", ".join(f"u.{q(str(f.column))}" for f in fields)
    # Only quoted table and column names from the models go into the text; the key is a
    # parameter.
    role_names = (
        f"SELECT {json_array('g.' + name)} FROM {q(user_groups.db_table)} ug "  # noqa: S608
        f"JOIN {group_table} g ON g.{pk} = ug.{ug_group} WHERE ug.{ug_user} = u.{pk}"
    )
    section_ids = (
        f"SELECT {json_array('m.' + m_section)} FROM {q(membership.db_table)} m "  # noqa: S608
        f"WHERE m.{m_user} = u.{pk}"
    )
    sql = (
        f"SELECT t.{q('created')}, {columns}, ({role_names}), ({section_ids}) "  # noqa: S608
        f"FROM {token_table} t JOIN {user_table} u ON u.{pk} = t.{q('user_id')} "
        f"WHERE t.{q('key')} = %s"
    )
    return sql, [f.attname for f in fields]


def token_with_user(key: str) -> Token | None:
    """The token with this key, its user loaded and the user's roles and sections known."""
    sql, user_fields = _statement(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    created, user_values, role_names, section_ids = row[0], row[1:-2], row[-2], row[-1]
    user = get_user_model().from_db(connection.alias, user_fields, list(user_values))
    token = Token.from_db(connection.alias, ["key", "user_id", "created"], [key, user.pk, created])
    token.user = user
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

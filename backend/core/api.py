"""API building blocks shared by every app: strict input, pagination, safe JSON parsing
(permissions are core.access.permission)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser


class FirstPageFirstPaginator(DjangoPaginator):
    """Django's paginator, except that the first page is read before anything is counted:
    when it holds the whole list (an open queue usually fits one page), its length is the
    count and no COUNT query is sent. Later pages, and the first page of a longer list, are
    counted as Django counts them."""

    def page(self, number: Any) -> Page:
        try:
            first = int(number) == 1
        except (TypeError, ValueError):
            first = False
        if not first or "count" in self.__dict__:
            return super().page(number)
        rows = list(self.object_list[: self.per_page + 1])
        if len(rows) <= self.per_page:
            self.__dict__["count"] = len(rows)  # the `count` cached_property, known already
        return Page(rows[: self.per_page], 1, self)


class Pagination(PageNumberPagination):
    django_paginator_class = FirstPageFirstPaginator
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


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# Deeper than any body this API takes: a request nested further is refused, not recursed into.
MAX_JSON_DEPTH = 32


def json_depth(value: Any, limit: int) -> int:
    """How deep `value` nests, counting no further than `limit + 1` (iteratively: a hostile
    body must not be able to exhaust the stack here either)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


class SafeJSONParser(JSONParser):
    """JSON with a nesting limit: a deeply nested body gets 400 `parse_error`, never a
    RecursionError (a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON-en er for dypt nøstet.")) from None
        if json_depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ParseError(_("JSON-en er for dypt nøstet."))
        return data


MAX_ID = 2**63 - 1  # PostgreSQL's bigint


def id_field(**kwargs: Any) -> serializers.IntegerField:
    """An object's id in a filter or a body: a positive bigint, so a huge number is a clear
    400 and never a database error."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)

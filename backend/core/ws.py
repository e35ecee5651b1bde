"""Websocket authentication: the session cookie (browsers) or `Authorization: Token <key>`."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser


@database_sync_to_async
def _user_for_token(key: str) -> Any:
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1")
        if header.startswith("Token "):
            scope = dict(scope, user=await _user_for_token(header[6:].strip()))
        return await super().__call__(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """A browser always sends Origin, and it must be one of ours (no cross-site socket
    hijacking). Non-browser clients send none and authenticate with a token header."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))


def authenticated_websockets(inner: Any) -> Any:
    return BrowserOriginValidator(
        AuthMiddlewareStack(TokenAuthMiddleware(inner)), settings.ALLOWED_HOSTS
    )

"""Response headers and early answers that every request gets, in one place."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from .errors import error_body

# No inline script or style anywhere: a text that slipped past escaping still cannot run.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
# Paths whose answers carry patient data: never kept by a browser or a proxy.
NO_STORE_PREFIXES = ("/api/", "/m/")


def with_security_headers(path: str, response: HttpResponse) -> HttpResponse:
    """The headers every answer gets (the middleware's, and the SMS webhook's on the event
    loop, which is outside the middleware: henvendelser/ingress.py)."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    if settings.PUBLIC_BASE_URL.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if path.startswith(NO_STORE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


class SecurityHeadersMiddleware:
    """CSP on every answer, HSTS when the service is served over https, `no-store` on the API
    and the secure page; and an unknown `/api/` path answers the JSON 404 at once, before CSRF
    or authentication get a say (so a client learns the path is wrong, not that it lacks a
    token)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self._unknown_api_path(request) or self.get_response(request)
        return with_security_headers(request.path, response)

    @staticmethod
    def _unknown_api_path(request: HttpRequest) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        for path in (request.path_info, request.path_info.rstrip("/") + "/"):
            try:
                resolve(path)
            except Resolver404:
                continue
            return None  # a known path (or one the slash is added to)
        return JsonResponse(error_body("not_found", _("Fant ikke det du ba om.")), status=404)

"""Django's HTTP handler for Daphne, with the middleware run the way WSGI runs it.

Django's own ASGI handler builds its middleware chain for async. Our middleware is synchronous
(ours, sessions, CSRF, auth), and Django then crosses between the event loop and the request's
thread at every place the chain changes mode: into the first middleware, back to the loop after
the last synchronous one, into a thread again for each hook of the async-capable middleware
below it, and once more for the view. Every crossing waits for the event loop, which under load
is busy with other requests and sockets. Here the whole chain and the view run in one call in
the request's thread, as under WSGI: three crossings for a page (the request_started signal,
the response, closing it) where Django's handler made nine and one back to the loop
(tests/core/test_http_handler.py). Measured in docs/benchmarks.md.

Everything else is Django's: the request's own thread (ThreadSensitiveContext), reading the
body, the request_started and request_finished signals, disconnects, streaming responses.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """As django.core.asgi.get_asgi_application, with the handler above."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()

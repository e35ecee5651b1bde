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

Each request still runs in a thread of its own (ThreadSensitiveContext), but not a new one:
Django's handler started a thread for every request and joined it after, which under load was
a twentieth of the server's time; here a request takes a thread an earlier request finished
with, as a WSGI server's threads serve one request after another (Django closes or returns the
database connection at the end of each). Concurrent requests never share one.

Everything else is Django's: reading the body, the request_started and request_finished
signals, disconnects, streaming responses.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

# Request threads kept for the next requests; more idle than this are let go.
IDLE_THREADS_KEPT = 32


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """As Django's, except that the request's thread is one kept from an earlier request
        (as a WSGI server's threads are), not one started and joined for each."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self._idle.pop() if self._idle else ThreadPoolExecutor(1, "request")
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < IDLE_THREADS_KEPT:
                self._idle.append(thread)
            else:
                thread.shutdown(wait=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application() -> SyncChainASGIHandler:
    """As django.core.asgi.get_asgi_application, with the handler above."""
    import django

    django.setup(set_prefix=False)
    return SyncChainASGIHandler()

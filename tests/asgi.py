"""Requests through the ASGI application Daphne serves (`config.asgi.application`), in the
test's own event loop: what Daphne hands the application, without a socket."""

from __future__ import annotations

from typing import Any

from asgiref.testing import ApplicationCommunicator


async def request(
    path: str,
    method: str = "GET",
    body: bytes = b"",
    headers: Any = (),
    host: bytes = b"localhost",
) -> tuple[int, dict[bytes, bytes], bytes]:
    """The status, headers and body of the application's answer."""
    from config.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", host),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": body})
    start = await communicator.receive_output(timeout=10)
    content = b""
    while True:
        part = await communicator.receive_output(timeout=10)
        content += part.get("body", b"")
        if not part.get("more_body"):
            break
    await communicator.wait(timeout=10)
    return start["status"], dict(start["headers"]), content

"""HTTP through the ASGI application Daphne serves (`config.asgi`, `config.handler`): every
middleware still has its say, the request's origin reaches the audit log, files stream, and a
request crosses between the event loop and its thread three times, not once per middleware."""

import json

import pytest
from asgiref import sync
from channels.db import database_sync_to_async

from core.models import AuditEvent
from tests.asgi import request

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_page_gets_every_middleware_from_the_outermost_to_the_innermost():
    status, headers, body = await request("/login/")

    assert status == 200
    assert b"default-src 'self'" in headers[b"Content-Security-Policy"]  # ours, outermost
    assert headers[b"X-Frame-Options"] == b"DENY"  # Django's, innermost
    assert headers[b"Content-Language"] == b"nb"
    assert b"csrftoken=" in headers[b"Set-Cookie"]
    assert b"Logg inn" in body


async def test_an_api_write_is_stored_and_audited_with_its_origin():
    from rest_framework.authtoken.models import Token

    from henvendelser.models import Inquiry
    from tests.factories import ALWAYS_OPEN, SectionFactory, UserFactory

    section = await database_sync_to_async(SectionFactory)(opening_hours=ALWAYS_OPEN)
    user = await database_sync_to_async(UserFactory)(role="coordinator", sections=[section])
    token = await database_sync_to_async(Token.objects.create)(user=user)
    payload = {"section": section.pk, "channel": "phone", "caller_phone": "+4791234567"}

    status, headers, body = await request(
        "/api/inquiries/",
        method="POST",
        body=json.dumps(payload).encode(),
        headers=[
            (b"authorization", f"Token {token.key}".encode()),
            (b"content-type", b"application/json"),
        ],
    )

    assert status == 201, body
    assert headers[b"Cache-Control"] == b"no-store"
    inquiry = await Inquiry.objects.aget(pk=json.loads(body)["id"])
    assert inquiry.caller_phone == "+4791234567"
    record = await AuditEvent.objects.aget(action="inquiry.create", object_id=str(inquiry.pk))
    assert (record.channel, record.ip) == ("api", "127.0.0.1")


async def test_an_unknown_api_path_answers_in_json():
    status, _, body = await request("/api/no-such-thing/")

    assert status == 404
    assert json.loads(body)["error"]["code"] == "not_found"


async def test_a_static_file_streams_whole():
    status, headers, body = await request("/static/web/app.css")

    assert status == 200
    assert headers[b"Content-Type"].startswith(b"text/css")
    assert int(headers[b"Content-Length"]) == len(body) > 0


async def test_a_request_crosses_to_its_thread_three_times_and_never_back(monkeypatch):
    crossings = {"to_thread": 0, "to_loop": 0}
    to_thread, to_loop = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

    async def counted_to_thread(self, *args, **kwargs):
        crossings["to_thread"] += 1
        return await to_thread(self, *args, **kwargs)

    def counted_to_loop(self, *args, **kwargs):
        crossings["to_loop"] += 1
        return to_loop(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted_to_thread)
    monkeypatch.setattr(sync.AsyncToSync, "__call__", counted_to_loop)

    status, _, _ = await request("/login/")

    assert status == 200
    # request_started, the middleware chain with the view, and closing the response; Django's
    # own handler took nine, and one back to the loop, for the same page
    assert crossings == {"to_thread": 3, "to_loop": 0}


async def test_requests_at_once_run_in_threads_of_their_own_and_later_ones_reuse_them(
    monkeypatch,
):
    import asyncio
    import threading

    from config.handler import SyncChainASGIHandler

    both_inside = threading.Barrier(2, timeout=5)
    threads = []
    respond = SyncChainASGIHandler.get_response

    def noted(self, request):
        threads.append(threading.current_thread())  # kept: identity, not a reusable id
        if len(threads) <= 2:
            both_inside.wait()  # the first two only get on if they run at the same time
        return respond(self, request)

    monkeypatch.setattr(SyncChainASGIHandler, "get_response", noted)
    statuses = await asyncio.gather(request("/login/"), request("/login/"))
    assert [status for status, _, _ in statuses] == [200, 200]
    assert len(set(threads)) == 2
    assert threading.current_thread() not in threads  # never the event loop's

    for _ in range(3):
        assert (await request("/login/"))[0] == 200
    assert all(any(t is u for u in threads[:2]) for t in threads[2:])  # no new thread later

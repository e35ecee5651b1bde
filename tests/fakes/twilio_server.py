"""A local HTTP server that speaks the Messages part of Twilio's REST API (v2010), for the real
`twilio` client to talk to in tests. It keeps what it was sent, answers like Twilio (basic
auth, form parameters, JSON resources with the fields of Twilio's OpenAPI description, Twilio's
error shape), and can be told to fail, stall or hold the next requests. It also sends status
callbacks, signed as Twilio signs them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

SCHEMA = json.loads((Path(__file__).with_name("twilio_messages_schema.json")).read_text())
E164 = re.compile(r"\+[1-9]\d{6,14}\Z")
MESSAGES = re.compile(r"/2010-04-01/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json")


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, Any]] = []  # every message created, oldest first
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.callback_urls: dict[str, str] = {}
        self._script: deque[Callable[[], tuple[int, dict[str, Any]] | None]] = deque()
        self._lock = threading.Lock()
        self.after_create: Callable[[dict[str, Any]], None] | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- Life ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- What the tests tell it ------------------------------------------------------------

    def fail_next(self, status: int, code: int, message: str = "Error") -> None:
        """The next create answers with a Twilio error (and creates nothing)."""
        self._script.append(lambda: (status, self._error(status, code, message)))

    def stall_next(self, seconds: float) -> None:
        """The next create is accepted (the message exists) but answered only after `seconds`:
        a client with a shorter timeout gives up without knowing it was sent."""

        def stall() -> None:
            time.sleep(seconds)

        self._script.append(lambda: (0, {"stall": stall}))

    def sent_to(self, phone: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["to"] == phone]

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        with self._lock:
            for message in self.messages:
                if message["sid"] == sid:
                    message["status"] = status
                    message["error_code"] = error_code

    def callback_params(
        self, sid: str, status: str, error_code: int | None = None
    ) -> dict[str, str]:
        """The form Twilio posts to a StatusCallback URL."""
        self.set_status(sid, status, error_code)
        message = next(m for m in self.messages if m["sid"] == sid)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "From": message["from"],
            "To": message["to"],
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    def send_callback(self, sid: str, status: str, error_code: int | None = None) -> int:
        """POST a signed status callback to the URL the message was created with."""
        url = self.callback_urls[sid]
        params = self.callback_params(sid, status, error_code)
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        request = urllib.request.Request(
            url,
            data="&".join(
                f"{urllib.request.quote(k)}={urllib.request.quote(v)}" for k, v in params.items()
            ).encode(),
            headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)

    # --- Twilio's side --------------------------------------------------------------------

    def _error(self, status: int, code: int, message: str) -> dict[str, Any]:
        return {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }

    def _resource(self, params: dict[str, str]) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        sid = "SM" + secrets.token_hex(16)
        body = params.get("Body", "")
        resource = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": format_datetime(now),
            "date_sent": None,
            "date_updated": format_datetime(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": params["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        assert set(resource) == set(SCHEMA["message_properties"])
        return resource

    def _create(self, params: dict[str, str]) -> tuple[int, dict[str, Any], Callable[[], None]]:
        unknown = set(params) - set(SCHEMA["create_parameters"])
        if unknown:
            return 400, self._error(400, 21609, f"Unknown parameters {sorted(unknown)}"), _nothing
        if not params.get("To"):
            return 400, self._error(400, 21604, "A 'To' phone number is required."), _nothing
        if not (params.get("From") or params.get("MessagingServiceSid")):
            return 400, self._error(400, 21603, "A 'From' phone number is required."), _nothing
        if not (params.get("Body") or params.get("MediaUrl") or params.get("ContentSid")):
            return 400, self._error(400, 21602, "Message body is required."), _nothing
        then: Callable[[], None] = _nothing
        with self._lock:
            scripted = self._script.popleft()() if self._script else None
        if scripted is not None:
            status, payload = scripted
            if status:
                return status, payload, _nothing
            then = payload["stall"]
        if not E164.match(params["To"]):
            return 400, self._error(400, 21211, "Invalid 'To' Phone Number"), _nothing
        resource = self._resource(params)
        with self._lock:
            self.messages.append(resource)
            if params.get("StatusCallback"):
                self.callback_urls[resource["sid"]] = params["StatusCallback"]
        if self.after_create is not None:
            self.after_create(resource)
        return 201, resource, then

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        unknown = set(query) - set(SCHEMA["list_parameters"])
        assert not unknown, f"the client sent list parameters Twilio does not have: {unknown}"
        with self._lock:
            rows = [
                m
                for m in reversed(self.messages)  # newest first, as Twilio lists them
                if m["to"] == query.get("To", m["to"]) and m["from"] == query.get("From", m["from"])
            ]
        size = int(query.get("PageSize", "50"))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return {
            "end": min(size, len(rows)) - 1,
            "first_page_uri": uri + f"?PageSize={size}&Page=0",
            "messages": rows[:size],
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri + f"?PageSize={size}&Page=0",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _authorised(self) -> bool:
                expected = base64.b64encode(
                    f"{fake.account_sid}:{fake.auth_token}".encode()
                ).decode()
                return self.headers.get("Authorization", "") == f"Basic {expected}"

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a stalled answer)

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                params: dict[str, str] = {}
                if method == "POST":
                    length = int(self.headers.get("Content-Length", "0"))
                    raw = self.rfile.read(length).decode()
                    params = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                with fake._lock:
                    fake.requests.append((method, parts.path, {**query, **params}))
                match = MESSAGES.fullmatch(parts.path)
                if match is None or match["account"] != fake.account_sid:
                    self._answer(
                        404, fake._error(404, 20404, "The requested resource was not found")
                    )
                    return
                if not self._authorised():
                    self._answer(401, fake._error(401, 20003, "Authenticate"))
                    return
                if method == "POST" and match["sid"] is None:
                    status, payload, then = fake._create(params)
                    then()
                    self._answer(status, payload)
                elif method == "GET" and match["sid"] is None:
                    self._answer(200, fake._list(query))
                elif method == "GET":
                    found = [m for m in fake.messages if m["sid"] == match["sid"]]
                    if found:
                        self._answer(200, found[0])
                    else:
                        self._answer(404, fake._error(404, 20404, "Not found"))
                else:
                    self._answer(405, fake._error(405, 20004, "Method not allowed"))

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

        return Handler


def _nothing() -> None:
    return None

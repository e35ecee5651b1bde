"""`GET /metrics` in Prometheus' text format, for the operators: request latency, queue depth by
urgency, overdue escalations, messages by status and open websockets. Counts only, no personal
data. Served only with `Authorization: Bearer $METRICS_TOKEN` (404 without the setting), so
the figures are not public.

Request latency and open sockets are this process's (each Daphne is scraped on its own, as the
Kubernetes manifests and compose file run them); the rest is read from the database at scrape.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

_lock = threading.Lock()
_latency_counts = [0] * (len(BUCKETS) + 1)  # the last is +Inf
_latency_sum = 0.0
_sockets = 0


def observe_request(seconds: float) -> None:
    global _latency_sum
    with _lock:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                _latency_counts[i] += 1
                break
        else:
            _latency_counts[-1] += 1
        _latency_sum += seconds


def socket_opened() -> None:
    global _sockets
    with _lock:
        _sockets += 1


def socket_closed() -> None:
    global _sockets
    with _lock:
        _sockets = max(0, _sockets - 1)


class RequestTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        if request.path != "/metrics":
            observe_request(time.perf_counter() - started)
        return response


def _lines() -> list[str]:
    from eskalering.models import Escalation
    from eskalering.services import OPEN_STATES
    from meldinger.models import Message

    from henvendelser import selectors
    from henvendelser.models import InboundText
    from henvendelser.services.inbox import still_tried

    out = [
        "# HELP kontaktpunkt_request_seconds Time to answer an HTTP request (this process).",
        "# TYPE kontaktpunkt_request_seconds histogram",
    ]
    with _lock:
        counts, total, sockets = list(_latency_counts), _latency_sum, _sockets
    running = 0
    for bound, n in zip([*BUCKETS, "+Inf"], counts, strict=True):
        running += n
        out.append(f'kontaktpunkt_request_seconds_bucket{{le="{bound}"}} {running}')
    out += [
        f"kontaktpunkt_request_seconds_sum {total:.6f}",
        f"kontaktpunkt_request_seconds_count {running}",
    ]

    out += [
        "# HELP kontaktpunkt_queue_open Open inquiries by urgency.",
        "# TYPE kontaktpunkt_queue_open gauge",
    ]
    for key, n in selectors.open_counts_by_urgency().items():
        out.append(f'kontaktpunkt_queue_open{{urgency="{key}"}} {n}')

    now = timezone.now()
    overdue = Escalation.objects.filter(state__in=OPEN_STATES, answer_due_at__lt=now).count()
    out += [
        "# HELP kontaktpunkt_escalations_overdue Open escalations past the answer deadline.",
        "# TYPE kontaktpunkt_escalations_overdue gauge",
        f"kontaktpunkt_escalations_overdue {overdue}",
        "# HELP kontaktpunkt_messages Messages by delivery status.",
        "# TYPE kontaktpunkt_messages gauge",
    ]
    by_status = Message.objects.values("status").annotate(n=Count("pk")).order_by("status")
    out += [f'kontaktpunkt_messages{{status="{row["status"]}"}} {row["n"]}' for row in by_status]
    tried = still_tried()  # the inbox's own rule; the rest waiting are set aside
    waiting = InboundText.objects.filter(processed_at__isnull=True).aggregate(
        n=Count("pk", filter=tried),
        oldest=Min("received_at", filter=tried),
        failing=Count("pk", filter=tried & Q(failures__gt=0)),
        set_aside=Count("pk", filter=~tried),
    )
    age = (now - waiting["oldest"]).total_seconds() if waiting["oldest"] else 0.0
    out += [
        "# HELP kontaktpunkt_inbox_waiting Texts stored by the webhook, not yet on an inquiry.",
        "# TYPE kontaktpunkt_inbox_waiting gauge",
        f"kontaktpunkt_inbox_waiting {waiting['n']}",
        "# HELP kontaktpunkt_inbox_oldest_seconds Age of the oldest text waiting in the inbox.",
        "# TYPE kontaktpunkt_inbox_oldest_seconds gauge",
        f"kontaktpunkt_inbox_oldest_seconds {age:.3f}",
        "# HELP kontaktpunkt_inbox_failing Waiting texts that failed to go on an inquiry.",
        "# TYPE kontaktpunkt_inbox_failing gauge",
        f"kontaktpunkt_inbox_failing {waiting['failing']}",
        "# HELP kontaktpunkt_inbox_set_aside Texts set aside after INBOX_MAX_ATTEMPTS failures.",
        "# TYPE kontaktpunkt_inbox_set_aside gauge",
        f"kontaktpunkt_inbox_set_aside {waiting['set_aside']}",
    ]
    out += [
        "# HELP kontaktpunkt_websockets_open Open websockets (this process).",
        "# TYPE kontaktpunkt_websockets_open gauge",
        f"kontaktpunkt_websockets_open {sockets}",
    ]
    return out


def metrics(request: HttpRequest) -> HttpResponse:
    expected = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Http404()
    body = "\n".join(_lines()) + "\n"
    return HttpResponse(body, content_type="text/plain; version=0.0.4; charset=utf-8")

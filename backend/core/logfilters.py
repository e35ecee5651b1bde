"""Logging filters: what must never reach a log line."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

# A secure page's path carries its token, which opens a message about a child (with the date of
# birth). Django logs the path of a request that failed.
SECURE_PATH = re.compile(r"/m/[A-Za-z0-9_-]+")
REDACTED = "/m/[token]"


def redact(value: Any) -> Any:
    return SECURE_PATH.sub(REDACTED, value) if isinstance(value, str) else value


class RedactSecureLinks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: redact(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(redact(arg) for arg in record.args)
        if hasattr(record, "request"):
            record.request = None  # Django attaches the request (its path, GET, cookies)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json), for a log collector: time, level, logger,
    message, and the exception if any. What goes in is what the plain format shows (ids and
    codes, never names, numbers or message text); secure-link paths are masked here as well."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)

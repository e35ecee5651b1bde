"""Daphne, with an access log that masks secure-link tokens, settled before it serves.

`python -m config.serve` takes daphne's own arguments. Daphne writes its access log lines itself
(not through `logging`), and a secure page's path, `/m/<token>`, is the key to a message about a
child: the line keeps the request but not the token. Once the application is loaded and before
the first request, the process settles (`core.startup`: startup's objects set aside from the
garbage collector). Everything else is daphne's CLI unchanged.
"""

from __future__ import annotations

from typing import Any

from daphne import cli
from daphne.access import AccessLogGenerator
from daphne.server import Server

from core.logfilters import redact
from core.startup import settle


class RedactingAccessLog(AccessLogGenerator):
    def write_entry(self, host: Any, date: Any, request: str, *args: Any, **kwargs: Any) -> None:
        super().write_entry(host, date, redact(request), *args, **kwargs)


class SettledServer(Server):
    def run(self) -> None:
        settle()
        super().run()


def main() -> None:
    cli.AccessLogGenerator = RedactingAccessLog
    cli.CommandLineInterface.server_class = SettledServer
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()

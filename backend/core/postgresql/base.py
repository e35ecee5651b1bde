"""Django's PostgreSQL backend with one change: a connection taken from the pool is checked by
looking at its socket, not by a statement sent to the server.

Django has the pool check every connection it hands out (CONN_HEALTH_CHECKS) with an empty
statement: a round trip before every request's first query. Under load that was a quarter of
what an SMS webhook cost Daphne (docs/benchmarks.md): the request's thread waits for the
reply, lets go of the interpreter, and has to win it back from the event loop.

An idle connection whose server is alive has nothing to read. One the server dropped (a
restart, an administrator ending the session) has: the server's farewell, then the end of the
stream. So a connection with nothing to read is handed out as it is; one with something to read
is asked as the pool would ask it, and if it does not answer it goes back to the pool, which
discards it, and another is taken. A connection cut without a word (a cable, not a restart) is
not caught here, nor was it by the round trip before: that one waits for the network timeout.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base


def still_connected(connection: psycopg.Connection[Any]) -> bool:
    """Whether an idle pooled connection can be used: nothing to read (no round trip), or it
    answers an empty statement (a notice the server sent unasked, or a farewell)."""
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN)
        if not poller.poll(0):
            return True
        connection.execute("")  # what psycopg_pool's own check sends
    except (OSError, psycopg.Error):
        return False
    return True


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if not self.pool or self.settings_dict["CONN_HEALTH_CHECKS"]:
            return super().get_new_connection(conn_params)
        # Each connection the pool holds may have been dropped (a restart drops them all);
        # one more attempt than it holds reaches a new one, which the pool opens meanwhile.
        for _ in range(self.pool.max_size):
            connection = super().get_new_connection(conn_params)
            if still_connected(connection):
                return connection
            self.pool.putconn(connection)  # closed: the pool discards it and opens another
        return super().get_new_connection(conn_params)

"""The pooled PostgreSQL connection a request gets: one the server ended is never handed out,
and a healthy one is handed out without a statement sent to ask it (core/postgresql)."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pool():
    if connection.vendor != "postgresql" or connection.pool is None:
        pytest.skip("about the PostgreSQL connection pool (CI runs the suite on PostgreSQL)")
    return connection.pool


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_connections_the_server_ended_while_in_the_pool_are_not_handed_to_the_next_request(
    pool,
):
    backend_pid()
    connection.close()  # back to the pool, idle, with any others the pool holds
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        # Every session on the test database but this one: the pool's, whichever comes next.
        others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s"
        own = admin.info.backend_pid
        ended = [row[0] for row in admin.execute(f"SELECT pid {others}", [own])]
        assert ended
        admin.execute(f"SELECT pg_terminate_backend(pid) {others}", [own])

        def gone() -> bool:
            return not admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [ended]
            ).fetchone()

        wait_for(gone, 10, "the sessions to end")
    # The next request's first statement runs, on a connection opened since.
    assert backend_pid() not in ended


def test_a_healthy_pooled_connection_is_handed_out_without_asking_the_server(pool, monkeypatch):
    backend_pid()
    connection.close()
    sent: list[str] = []
    execute = psycopg.Connection.execute

    def counted(self, query, *args, **kwargs):
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", counted)
    connection.ensure_connection()
    assert sent == []
    monkeypatch.undo()
    assert backend_pid()

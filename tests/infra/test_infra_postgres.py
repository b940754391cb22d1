"""The private PostgreSQL server and the fixtures work: a fresh database per test, kill and
restart with committed data intact, no process or folder left behind, a clear error when the
server binaries are missing."""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.infra import postgres
from tests.infra.mosquitto import Broker
from tests.infra.postgres import PostgresNotFound, PostgresServer


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    server = PostgresServer.in_temp_folder()
    try:
        yield server.start()
    finally:
        server.remove()


def test_postgres_url_is_a_fresh_database_on_a_private_port(postgres_url: str) -> None:
    url = sa.make_url(postgres_url)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.username) == ("127.0.0.1", "postgres")
    assert url.port not in (None, 5432)
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar() == url.database
            tables = conn.execute(
                sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            )
            assert tables.scalar() == 0
            conn.execute(sa.text("CREATE TABLE ledger (id serial PRIMARY KEY, amount bigint)"))
            conn.execute(sa.text("INSERT INTO ledger (amount) VALUES (1290), (-300)"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT sum(amount) FROM ledger")).scalar() == 990
    finally:
        engine.dispose()


def test_server_uses_the_documented_test_settings(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.dsn()) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync', 'full_page_writes', 'synchronous_commit', 'listen_addresses')"
            ).fetchall()
        )
    assert settings == {
        "fsync": "off",
        "full_page_writes": "off",
        "synchronous_commit": "on",
        "listen_addresses": "127.0.0.1",
    }


def test_server_runs_as_postgres_when_the_tests_run_as_root(
    postgres_server: PostgresServer,
) -> None:
    assert postgres_server.process is not None
    owner = os.stat(f"/proc/{postgres_server.process.pid}").st_uid
    if os.geteuid() == 0:
        assert owner == pwd.getpwnam("postgres").pw_uid
    else:
        assert owner == os.geteuid()


def test_killed_server_restarts_with_every_committed_row(own_server: PostgresServer) -> None:
    url = own_server.create_database("crash")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE events (event_id text PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO events SELECT 'e' || n FROM generate_series(1, 500) n"))
    open_conn = psycopg.connect(own_server.dsn("crash"))
    try:
        own_server.kill()
        assert not own_server.running
        with pytest.raises(psycopg.OperationalError):
            open_conn.execute("SELECT 1")
    finally:
        open_conn.close()
    engine.dispose()

    own_server.start()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 500
    engine.dispose()
    assert "database system was interrupted" in own_server.log_path.read_text()


def test_restart_keeps_the_port_and_data(own_server: PostgresServer) -> None:
    port = own_server.port
    url = own_server.create_database("kept")
    own_server.restart()
    assert own_server.port == port
    with psycopg.connect(own_server.dsn("kept")) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("kept",)
    assert url.endswith(f":{port}/kept")


def test_remove_leaves_no_process_and_no_folder() -> None:
    server = PostgresServer.in_temp_folder().start()
    try:
        assert server.process is not None
        with psycopg.connect(server.dsn(), autocommit=True) as conn:  # a backend
            assert conn.execute("SELECT 1").fetchone() == (1,)
            processes = [server.process.pid, *server.children()]
            assert len(processes) > 2
            server.remove()
    finally:
        server.remove()
    assert [pid for pid in processes if Path(f"/proc/{pid}").exists()] == []
    assert not server.folder.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn(), connect_timeout=2)


def test_kill_takes_down_every_backend_at_once(own_server: PostgresServer) -> None:
    with psycopg.connect(own_server.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert own_server.process is not None
        processes = [own_server.process.pid, *own_server.children()]
        own_server.kill()
        assert [pid for pid in processes if Path(f"/proc/{pid}").exists()] == []


def test_drop_database_disconnects_its_clients(own_server: PostgresServer) -> None:
    own_server.create_database("busy")
    with psycopg.connect(own_server.dsn("busy")) as conn:
        own_server.drop_database("busy")
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    with psycopg.connect(own_server.dsn()) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = 'busy'"
        ).fetchone() == (0,)


@pytest.mark.parametrize("name", ["", "Upper", "semi;colon", "x" * 64, "1starts_with_digit"])
def test_database_names_must_be_plain_identifiers(
    postgres_server: PostgresServer, name: str
) -> None:
    with pytest.raises(ValueError, match="database name"):
        postgres_server.create_database(name)


def test_missing_server_binaries_name_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(postgres.shutil, "which", lambda _name: None)
    monkeypatch.setattr(postgres.glob, "glob", lambda _pattern: [])
    with pytest.raises(PostgresNotFound, match=r"package 'postgresql'.*install-deps\.sh"):
        postgres.find_bindir()


def test_pg_config_pointing_at_a_client_only_folder_falls_back_to_the_server_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "pg_config"
    fake.write_text(f"#!/bin/sh\necho {tmp_path}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(postgres.shutil, "which", lambda _name: str(fake))
    found = postgres.find_bindir()
    assert (found / "initdb").is_file() and (found / "postgres").is_file()
    assert found != tmp_path


def test_broker_factory_starts_private_brokers_and_kills_them(
    broker: Callable[..., Broker],
) -> None:
    first, second = broker(), broker("second")
    assert first.running and second.running
    assert len({first.port, second.port, 1883}) == 3
    assert first.folder != second.folder

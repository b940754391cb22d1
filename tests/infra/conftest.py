"""Fixtures for the private test servers; tests/conftest.py makes them visible to every folder.

- ``broker``: a factory, ``broker(name="broker", **Broker fields) -> Broker``, that starts a
  private Mosquitto in the test's tmp_path (one folder per name) and kills every broker it
  started when the test ends. Function-scoped: tests kill and restart brokers at will.
- ``postgres_server``: the session's one private PostgreSQL server (tests/infra/postgres.py),
  started on first use and removed at the end of the session.
- ``postgres_url``: a fresh database on that server for each test, as an SQLAlchemy URL
  ``postgresql+psycopg://postgres@127.0.0.1:{port}/{db}``; dropped after the test.

A test that kills or restarts PostgreSQL makes its own ``PostgresServer`` instead of touching
the shared one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.infra.mosquitto import Broker
from tests.infra.postgres import (
    PostgresServer,
    new_database_name,
    remove_shared_server,
    shared_server,
)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    started: list[Broker] = []

    def make(name: str = "broker", **fields: Any) -> Broker:
        instance = Broker(tmp_path / name, **fields)
        started.append(instance)
        return instance.start()

    yield make
    for instance in started:
        instance.kill()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    yield shared_server()
    remove_shared_server()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = new_database_name()
    yield postgres_server.create_database(name)
    if postgres_server.running:
        postgres_server.drop_database(name)

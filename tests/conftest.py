"""Fixtures shared by every test folder: the private Mosquitto and PostgreSQL servers
(defined in tests/infra/conftest.py, which documents them)."""

from tests.infra.conftest import broker, postgres_server, postgres_url

__all__ = ["broker", "postgres_server", "postgres_url"]

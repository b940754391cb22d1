"""Fixtures for the central tests: a database per backend (SQLite file, PostgreSQL server),
a kiosk chain of sealed events, and the pieces of a consumer wired to real storage."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from central.apply import Applier, Inbound
from central.config import FinanceConfig, InventoryConfig, KioskRegistry
from central.finance import FinanceHandler
from central.inventory import InventoryHandler
from central.storage import init_schema, make_engine
from tests.central.factory import KioskChain, payload_of, topic_of

HAVE_POSTGRES_FIXTURE = importlib.util.find_spec("tests.infra.postgres") is not None

BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not HAVE_POSTGRES_FIXTURE, reason="tests/infra/postgres.py is not in the tree yet"
        ),
    ),
]

REGISTRY = KioskRegistry(stores=frozenset({"s0001"}), known={"s0002-k01": "s0002"})


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'central.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    init_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def chain() -> KioskChain:
    return KioskChain()


def inbound(event: dict[str, object], mid: int = 0) -> Inbound:
    return Inbound(topic_of(event), payload_of(event), mid)


@pytest.fixture
def inventory_config() -> InventoryConfig:
    return InventoryConfig(low_stock={"SKU0001": Decimal(5)})


@pytest.fixture
def inventory(engine: Engine, inventory_config: InventoryConfig) -> Applier:
    return Applier(engine, InventoryHandler(inventory_config), REGISTRY, 64 * 1024, "test-inv")


@pytest.fixture
def finance(engine: Engine) -> Applier:
    return Applier(engine, FinanceHandler(FinanceConfig()), REGISTRY, 64 * 1024, "test-fin")

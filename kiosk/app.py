"""Composition root: reads the config file, builds the adapters and wires them to the lane.

The only module that imports both the core and the adapters (``kiosk.store``, ``kiosk.hw``,
``kiosk.sim``). Nothing happens at import time; the CLI calls these functions.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from kiosk.checkout import Lane, LaneDeps
from kiosk.config import Config, PathsConfig, parse_config
from kiosk.errors import ConfigError
from kiosk.hw.fake import FakeDrawer, FakeLight, FakePrinter
from kiosk.hw.payment_sim import SimCardTerminal, SimWalletGateway
from kiosk.hw.system import RandomIds, SystemClock
from kiosk.ports import Clock
from kiosk.sim.drivers import SimDrivers
from kiosk.store import (
    SqliteCatalog,
    SqliteLaneStore,
    SqliteMembers,
    SqliteStaffDirectory,
    migrate,
    open_catalog_reader,
    open_db,
)


def read_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Load and validate a config file. Relative paths in it (``[paths]``, ``*_file`` secrets)
    are relative to the file's own folder."""
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("(file)", f"cannot read {config_path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("(file)", f"{config_path} is not UTF-8 text (byte {exc.start})") from None
    base = config_path.resolve().parent

    def read_secret(name: str) -> str:
        path = base / name
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise OSError(f"{path} is not UTF-8 text") from None

    try:
        config = parse_config(text, os.environ if env is None else env, read_secret)
    except ConfigError as exc:
        if exc.key != "(file)":
            raise
        raise ConfigError("(file)", f"{config_path}: {exc.problem}") from None
    paths = config.paths
    resolved = PathsConfig(
        **{f.name: str(base / getattr(paths, f.name)) for f in dataclasses.fields(PathsConfig)}
    )
    return dataclasses.replace(config, paths=resolved)


def time_zone(config: Config) -> ZoneInfo:
    try:
        return ZoneInfo(config.store.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            "store.time_zone",
            f"{config.store.time_zone!r} is not in the time zone database (install tzdata)",
        ) from None


def open_store(config: Config) -> sqlite_utils.Database:
    """Open kiosk.db (creating it and its folder), bring the schema up to date."""
    db = open_db(config.paths.db)
    migrate(db)
    return db


def member_key(config: Config) -> bytes:
    key = config.members.phone_key
    if not key:
        raise ConfigError(
            "members.phone_key",
            "is needed to look up or import members (set phone_key_file or phone_key_env)",
        )
    return key.encode()


@dataclass
class HeadlessKiosk:
    """A lane with its store and simulated devices, as ``kiosk sim`` and tests use it."""

    config: Config
    db: sqlite_utils.Database
    store: SqliteLaneStore
    lane: Lane
    printer: FakePrinter
    drawer: FakeDrawer
    light: FakeLight
    terminal: SimCardTerminal
    wallet: SimWalletGateway
    drivers: SimDrivers
    catalog_db: sqlite_utils.Database

    def close(self) -> None:
        self.catalog_db.conn.close()
        self.db.conn.close()


def build_headless(config: Config, clock: Clock | None = None, sleep: Any = None) -> HeadlessKiosk:
    """Wire the lane to kiosk.db and the fake devices named in ``[devices]``."""
    clock = clock or SystemClock()
    db = open_store(config)
    store = SqliteLaneStore(db, config.kiosk.id)
    boot = store.boot()
    catalog_db = open_catalog_reader(config.paths.db)
    printer, drawer, light = FakePrinter(clock), FakeDrawer(clock), FakeLight(clock)
    extra = {"sleep": sleep} if sleep is not None else {}
    terminal, wallet = SimCardTerminal(clock, **extra), SimWalletGateway(clock, **extra)
    phone_key = member_key(config)
    deps = LaneDeps(
        config=config,
        tz=time_zone(config),
        clock=clock,
        ids=RandomIds(clock),
        catalog=SqliteCatalog(catalog_db),
        store=store,
        staff=SqliteStaffDirectory(db),
        members=SqliteMembers(db, phone_key),
        terminal=terminal,
        wallet=wallet,
        drawer=drawer,
        light=light,
        printer=printer,
        boot=boot,
    )
    drivers = SimDrivers(
        actions={
            "terminal.next": terminal.queue_outcome,
            "terminal.disconnect": terminal.disconnect,
            "terminal.reconnect": terminal.reconnect,
            "wallet.next": wallet.queue_outcome,
            "printer.paper_out": printer.run_out_of_paper,
            "printer.paper_near_end": printer.paper_near_end,
            "printer.refill": printer.refill,
            "printer.offline": printer.go_offline,
            "printer.online": printer.come_back,
            "drawer.close": drawer.drive_closed,
            "drawer.open": drawer.drive_open,
            "drawer.jam": drawer.jam,
            "drawer.unjam": drawer.unjam,
            "drawer.fail_next": drawer.fail_next,
        }
    )
    lane = Lane(deps)
    return HeadlessKiosk(
        config, db, store, lane, printer, drawer, light, terminal, wallet, drivers, catalog_db
    )

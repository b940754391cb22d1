"""The headless kiosk: the lane wired to kiosk.db, the configured devices and the payment
simulators, as ``kiosk sim``, the lane tests and the benchmarks use it.

``build_headless(config)`` opens the devices (``build_devices``: a device that cannot be opened
stops it with ``DeviceError``, nothing is opened in kiosk.db then), opens kiosk.db and builds the
``Lane`` with ``LaneDeps`` (pollers and device health from the devices). It starts no thread:
``kiosk sim`` puts the lane on a ``LaneRunner`` and then ``devices.connect(runner)`` and
``devices.start()``; tests may call ``lane.handle`` directly on their own thread.

``drivers`` is the table of ``{"cmd": "sim", "action": ...}`` actions (docs/lane-protocol.md,
"Sim device commands"). Actions on a device that is real in this configuration are refused
with ``invalid_command``: the sim drives only fakes.

Threads: built and closed on the main thread.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import sqlite_utils

from kiosk.app.device_open import DrawerAdapter, LightAdapter, PrinterAdapter
from kiosk.app.devices import Devices, Fakes, build_devices
from kiosk.app.loading import member_key, open_store, time_zone
from kiosk.checkout import Lane, LaneDeps
from kiosk.config import Config
from kiosk.errors import InvalidCommand
from kiosk.hw.payment_sim import SimCardTerminal, SimWalletGateway
from kiosk.hw.system import RandomIds, SystemClock
from kiosk.ports import Clock
from kiosk.sim.drivers import SimDrivers
from kiosk.store import (
    SqliteCatalog,
    SqliteLaneStore,
    SqliteMembers,
    SqlitePromotions,
    SqliteStaffDirectory,
    open_catalog_reader,
)
from kiosk.store.loyalty import SqliteMemberLedger


@dataclass
class HeadlessKiosk:
    """A lane with its store, devices and payment simulators."""

    config: Config
    db: sqlite_utils.Database
    store: SqliteLaneStore
    lane: Lane
    devices: Devices
    terminal: SimCardTerminal
    wallet: SimWalletGateway
    drivers: SimDrivers
    catalog_db: sqlite_utils.Database

    @property
    def printer(self) -> PrinterAdapter:
        return self.devices.printer

    @property
    def drawer(self) -> DrawerAdapter:
        return self.devices.drawer

    @property
    def light(self) -> LightAdapter:
        return self.devices.light

    def close(self) -> None:
        """Close the devices (stopping scanner threads), then the databases."""
        self.devices.close()
        self.catalog_db.conn.close()
        self.db.conn.close()


def build_headless(
    config: Config,
    clock: Clock | None = None,
    sleep: Callable[[float], None] | None = None,
    *,
    force_fakes: bool = False,
) -> HeadlessKiosk:
    """Wire the lane to kiosk.db and the devices named in ``[devices]`` (all fakes with
    ``force_fakes``). ``sleep`` is what the payment simulators wait with (tests pass a fake
    clock's). Raises ``ConfigError`` or ``DeviceError`` before kiosk.db is touched."""
    clock = clock or SystemClock()
    tz = time_zone(config)
    phone_key = member_key(config)
    devices = build_devices(config, clock, force_fakes=force_fakes)
    try:
        db = open_store(config)
    except BaseException:
        devices.close()
        raise
    try:
        store = SqliteLaneStore(db, config.kiosk.id)
        boot = store.boot()
        catalog_db = open_catalog_reader(config.paths.db)
    except BaseException:
        db.conn.close()
        devices.close()
        raise
    extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    terminal, wallet = SimCardTerminal(clock, **extra), SimWalletGateway(clock, **extra)
    deps = LaneDeps(
        config=config,
        tz=tz,
        clock=clock,
        ids=RandomIds(clock),
        catalog=SqliteCatalog(catalog_db, pictures_dir=config.paths.pictures),
        store=store,
        staff=SqliteStaffDirectory(db),
        members=SqliteMembers(db, phone_key),
        terminal=terminal,
        wallet=wallet,
        drawer=devices.drawer,
        light=devices.light,
        printer=devices.printer,
        boot=boot,
        pollers=devices.pollers,
        device_health=devices.health,
        ledger=SqliteMemberLedger(db),
        # A rule set is long-lived: freeze it (and all else alive) out of the collector's full
        # passes once loaded, so they do not walk thousands of rules during a re-pricing.
        promotions=SqlitePromotions(db, config.store.currency, on_load=gc.freeze),
    )
    drivers = sim_drivers(devices.fakes, terminal, wallet)
    return HeadlessKiosk(
        config, db, store, Lane(deps), devices, terminal, wallet, drivers, catalog_db
    )


def sim_drivers(fakes: Fakes, terminal: SimCardTerminal, wallet: SimWalletGateway) -> SimDrivers:
    """The sim's device actions; those of a device that is real here are refused."""
    p, d, s = fakes.printer, fakes.drawer, fakes.scanner
    return SimDrivers(
        actions={
            "terminal.next": terminal.queue_outcome,
            "terminal.disconnect": terminal.disconnect,
            "terminal.reconnect": terminal.reconnect,
            "wallet.next": wallet.queue_outcome,
            "printer.paper_out": p.run_out_of_paper if p else _real("printer"),
            "printer.paper_near_end": p.paper_near_end if p else _real("printer"),
            "printer.refill": p.refill if p else _real("printer"),
            "printer.offline": p.go_offline if p else _real("printer"),
            "printer.online": p.come_back if p else _real("printer"),
            "printer.cover_open": p.open_cover if p else _real("printer"),
            "printer.cover_close": p.close_cover if p else _real("printer"),
            "drawer.close": d.drive_closed if d else _real("drawer"),
            "drawer.open": d.drive_open if d else _real("drawer"),
            "drawer.jam": d.jam if d else _real("drawer"),
            "drawer.unjam": d.unjam if d else _real("drawer"),
            "drawer.fail_next": d.fail_next if d else _real("drawer"),
            "light.break_down": fakes.light.break_down if fakes.light else _real("light"),
            "light.repair": fakes.light.repair if fakes.light else _real("light"),
            "scanner.scan": s.scan if s else _real("scanner"),
            "scanner.unplug": s.unplug if s else _real("scanner"),
            "scanner.plug_in": s.plug_in if s else _real("scanner"),
        }
    )


def _real(device: str) -> Callable[..., NoReturn]:
    def refuse(**_arguments: Any) -> NoReturn:
        raise InvalidCommand(
            f"the {device} is a real device in this configuration; sim actions drive only the "
            "fakes (run kiosk sim --fake-devices)"
        )

    return refuse

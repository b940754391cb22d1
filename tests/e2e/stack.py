"""The end-to-end harness: real processes around private Mosquitto brokers.

A ``Stack`` (one per test, in the test's tmp_path) starts and owns everything a test runs:

- brokers (``tests.infra.mosquitto.Broker``: free port, persistence, SIGKILL and restart);
- kiosks (``tests.e2e.lane``): copies of one demo kiosk (``kiosk demo init``, built once per
  session) whose kiosk.toml is edited for the test (kiosk id, ``[broker]``, ``[sync]``);
- per kiosk, ``kiosk sim --json`` driven line by line (``Sim``: scripted baskets paid by card,
  wallet, or split) and ``kiosk sync`` (a ``Proc``);
- ``kiosk-central inventory|finance`` consumers on one central database (SQLite file or a
  PostgreSQL URL), initialised with ``kiosk-central db init``; ``Central`` writes their config;
- MQTT watchers (state messages) and raw publishers (``tests.e2e.mqtt_clients``).

``deploy`` sets up the usual picture in one call. Every child process is started by the test's
thread and killed (SIGKILL, by its own pid) when the stack closes; ``tests/e2e/invariant.py``
checks the outcome. This module also re-exports what the tests use from the modules above.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tests.e2e.lane import BACKLOG_SYNC, SYNC_FAST, Burst, Kiosk, Sim, toml_value
from tests.e2e.mqtt_clients import RawClient, Watcher
from tests.e2e.procs import Proc, central_cli, kiosk_cli, run_cli, wait_until
from tests.infra.mosquitto import Broker

__all__ = [
    "BACKLOG_SYNC",
    "CONSUMER_FAST",
    "GROUPS",
    "KIOSKS",
    "STORE",
    "SYNC_FAST",
    "Burst",
    "Central",
    "Deployment",
    "Kiosk",
    "Proc",
    "RawClient",
    "Sim",
    "Stack",
    "Watcher",
    "central_cli",
    "deploy",
    "kiosk_cli",
    "run_cli",
    "wait_until",
]

STORE = "s0001"
GROUPS = ("inventory", "finance")
KIOSKS = ("s0001-k01", "s0001-k02")

# central.toml [consumer] for tests: small batches, gaps asked for after half a second.
CONSUMER_FAST: dict[str, Any] = {
    "batch_size": 200,
    "batch_ms": 20,
    "reorder_timeout_s": 0.5,
    "resend_interval_s": 1.0,
    "resend_max_interval_s": 4.0,
    "max_payload_bytes": 64 * 1024,
}


@dataclass
class Central:
    """One central database and the consumers' config files for it."""

    folder: Path
    url: str
    configs: dict[str, Path] = field(default_factory=dict)

    def write_config(
        self,
        name: str,
        broker_ports: list[int],
        *,
        username: str = "",
        password: str = "",
        **consumer: Any,
    ) -> Path:
        """central.toml ``name`` (the database, the brokers in order, ``CONSUMER_FAST`` +
        ``consumer``) that accepts every kiosk of store s0001."""
        settings = {**CONSUMER_FAST, **consumer}
        brokers = [f'[[broker]]\nhost = "127.0.0.1"\nport = {port}' for port in broker_ports]
        mqtt_keys = ["keepalive_s = 5", "reconnect_min_s = 0.05", "reconnect_max_s = 0.5"]
        if username:
            mqtt_keys += [f'username = "{username}"', f'password = "{password}"']
        text = "\n".join(
            [
                "[database]",
                f'url = "{self.url}"',
                *brokers,
                "[mqtt]",
                *mqtt_keys,
                "[consumer]",
                *(f"{key} = {toml_value(value)}" for key, value in settings.items()),
                "[kiosks]",
                f'stores = ["{STORE}"]',
            ]
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.toml"
        path.write_text(text + "\n", encoding="utf-8")
        self.configs[name] = path
        return path

    def init_db(self, config: Path) -> None:
        run_cli(central_cli("db", "init", "--config", str(config)))

    def report(self, kind: str, config: Path, first_day: str, last_day: str) -> list[Any]:
        """``kiosk-central report KIND --format json --by kiosk``: its rows."""
        out = run_cli(
            central_cli(
                "report", kind, "--config", str(config), "--store", STORE,
                "--from", first_day, "--to", last_day, "--by", "kiosk", "--format", "json",
            )
        )  # fmt: skip
        rows: list[Any] = json.loads(out)["rows"]
        return rows


class Stack:
    """Everything one test runs; ``close()`` kills what is still running."""

    def __init__(self, folder: Path, template: Path) -> None:
        self.folder = folder
        self.template = template
        self.brokers: list[Broker] = []
        self.procs: list[Proc] = []
        self.sims: list[Sim] = []
        self.watchers: list[Watcher] = []
        self.kiosks: list[Kiosk] = []
        self.central: Central | None = None
        self.consumers: dict[str, Proc] = {}

    # ------------------------------------------------------------------ parts
    def broker(self, name: str = "broker", **fields: Any) -> Broker:
        broker = Broker(self.folder / name, **fields)
        self.brokers.append(broker)
        return broker.start()

    def add_broker(self, broker: Broker) -> Broker:
        """Own a broker made elsewhere (e.g. with the production config)."""
        self.brokers.append(broker)
        return broker

    def kiosk(self, kiosk_id: str, broker_port: int, **configure: Any) -> Kiosk:
        folder = self.folder / kiosk_id
        shutil.copytree(self.template, folder)
        kiosk = Kiosk(kiosk_id, folder, sale_offset=1_000_000 * (len(self.kiosks) + 1))
        kiosk.configure(broker_port, **configure)
        self.kiosks.append(kiosk)
        return kiosk

    def sim(self, kiosk: Kiosk) -> Sim:
        sim = Sim(kiosk, kiosk.folder / "sim.log")
        self.sims.append(sim)
        return sim.start()

    def agent(self, kiosk: Kiosk) -> Proc:
        proc = Proc(
            f"sync-{kiosk.kiosk_id}",
            kiosk_cli("sync", "--config", str(kiosk.config), "--log-level", "INFO"),
            kiosk.folder / "sync.log",
        )
        self.procs.append(proc)
        return proc.start()

    def watcher(
        self, port: int, username: str | None = None, password: str | None = None
    ) -> Watcher:
        watcher = Watcher(port, username, password)
        self.watchers.append(watcher)
        return watcher

    def make_central(self, url: str) -> Central:
        self.central = Central(self.folder / "central", url)
        return self.central

    def consumer(self, which: str, client_id: str, config: Path) -> Proc:
        proc = Proc(
            client_id,
            central_cli(
                "--log-level", "INFO", which, "--config", str(config), "--client-id", client_id
            ),
            config.parent / f"{client_id}.log",
        )
        self.procs.append(proc)
        self.consumers[client_id] = proc
        return proc.start()

    def start_consumers(
        self,
        watcher: Watcher,
        config: Path | Mapping[str, Path],
        instances: Mapping[str, str] | None = None,
    ) -> None:
        """Start consumers (client id -> group; default one per group), with ``config`` or
        their own (client id -> config), and wait until each announced itself online (it
        subscribed before that publish)."""
        instances = instances or {f"{group}-1": group for group in GROUPS}
        before = {
            cid: watcher.live(f"pos/v1/central/state/{group}", True)
            for cid, group in instances.items()
        }
        for cid, group in instances.items():
            self.consumer(group, cid, config if isinstance(config, Path) else config[cid])
        for group in set(instances.values()):
            ids = [cid for cid, g in instances.items() if g == group]
            topic = f"pos/v1/central/state/{group}"
            wanted = before[ids[0]] + len(ids)
            wait_until(
                partial(watcher.reached, topic, True, wanted),
                30,
                f"the {group} consumers online",
                self.diagnostics,
            )

    # ------------------------------------------------------------------ diagnostics
    def diagnostics(self) -> str:
        """Outbox states and the tails of every log, for failure messages."""
        parts = [f"{k.kiosk_id} outbox: {k.outbox_states()}" for k in self.kiosks]
        for proc in self.procs:
            state = "running" if proc.running else "stopped"
            parts.append(f"--- {proc.name} ({state}) log tail:\n{proc.log()[-1500:]}")
        return "\n".join(parts)

    def close(self) -> None:
        for sim in self.sims:
            sim.kill()
        for proc in reversed(self.procs):
            proc.kill()
        for watcher in self.watchers:
            watcher.close()
        for broker in self.brokers:
            with suppress(OSError, TimeoutError, subprocess.TimeoutExpired):
                broker.kill()


@dataclass
class Deployment:
    """The usual picture: one broker, a central database with one consumer per group, and
    kiosks each with a ``kiosk sync`` (``agents``, by kiosk id)."""

    broker: Broker
    watcher: Watcher
    central: Central
    config: Path
    kiosks: list[Kiosk]
    agents: dict[str, Proc]


def deploy(
    stack: Stack,
    url: str,
    kiosk_ids: tuple[str, ...] = KIOSKS,
    *,
    agents: bool = True,
    consumers: bool = True,
    sync: Mapping[str, Any] | None = None,
    consumer: Mapping[str, Any] | None = None,
) -> Deployment:
    broker = stack.broker()
    watcher = stack.watcher(broker.port)
    central = stack.make_central(url)
    config = central.write_config("central", [broker.port], **(consumer or {}))
    central.init_db(config)
    if consumers:
        stack.start_consumers(watcher, config)
    kiosks = [stack.kiosk(k, broker.port, **(sync or {})) for k in kiosk_ids]
    started = {k.kiosk_id: stack.agent(k) for k in kiosks} if agents else {}
    return Deployment(broker, watcher, central, config, kiosks, started)

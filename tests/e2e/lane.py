"""The kiosk side of the end-to-end tests: demo kiosk folders, `kiosk sim --json`, bulk sales.

``Kiosk`` is a copy of the demo kiosk with its own id, broker and ``[sync]`` table;
``Sim`` drives ``kiosk sim --json`` one command at a time with a script of baskets; ``Burst``
runs scripted sales on a thread of its own; ``Kiosk.bulk_sales`` writes many sales through
the kiosk's store when the lane would be too slow. Used from the test's thread (and Burst's).
"""

from __future__ import annotations

import itertools
import json
import queue
import re
import signal
import subprocess
import threading
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.procs import ROOT, child_env, kiosk_cli

# `kiosk sync` settings for tests: quick reconnects, a short ack timeout (a row not acked
# within 2 s is published again), a short keepalive so a dead link is noticed in seconds.
SYNC_FAST: dict[str, Any] = {
    "reconnect_min_s": 0.05,
    "reconnect_max_s": 0.5,
    "retry_min_s": 0.05,
    "retry_max_s": 0.5,
    "connect_timeout_s": 2.0,
    "keepalive_s": 5,
    "telemetry_s": 30.0,
    "ack_timeout_s": 2.0,
    "stop_timeout_s": 3.0,
    "nice": 0,  # same CPU priority as the consumers: these tests time faults, not priorities
}
# For tests that queue thousands of sales: with a backlog the consumers need more than 2 s
# to ack (far more on a loaded machine), and republishing rows that are merely queued would
# double their work. Nothing in those tests needs a republish to recover.
BACKLOG_SYNC: dict[str, Any] = {"ack_timeout_s": 10.0}

# Demo catalog entries (docs/operations.md): none needs an attendant.
WATER, MILK, CHIPS, TOAST, EGGS = (
    "6921168509256",
    "6950318800233",
    "6918473200565",
    "6908876500195",
    "6926007701082",
)
BANANA_1250G = "2110001012501"  # a scale label: 1.250 kg of bananas
WALLET_CODE = "134567890123456789"
BASKETS = (
    (WATER, MILK),
    (CHIPS, BANANA_1250G),
    (TOAST, WATER, WATER),
    (EGGS, MILK, CHIPS, BANANA_1250G),
)


class SimError(AssertionError):
    """`kiosk sim` answered a command with an error, or did not answer."""


class Sim:
    """``kiosk sim --json`` on one kiosk, driven one command at a time (JSON lines)."""

    def __init__(self, kiosk: Kiosk, log_path: Path) -> None:
        self.kiosk = kiosk
        self.log_path = log_path
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.process: subprocess.Popen[str] | None = None
        self._ids = itertools.count(1)
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> Sim:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                kiosk_cli("sim", "--json", "--config", str(self.kiosk.config)),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                encoding="utf-8",
                bufsize=1,
                env=child_env(),
                cwd=ROOT,
            )
        self._reader = threading.Thread(target=self._read, name="sim-reader", daemon=True)
        self._reader.start()
        while True:
            line = self._next(timeout)
            if line.get("event") == "out_of_service":
                raise SimError(f"{self.kiosk.kiosk_id} started out of service: {line}")
            if line.get("event") == "ready":
                return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for text in self.process.stdout:
            if text.strip():
                self.lines.put(json.loads(text))
        self.lines.put(None)

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise SimError(f"{self.kiosk.kiosk_id}: no answer within {timeout} s") from None
        if line is None:
            raise SimError(f"{self.kiosk.kiosk_id}: kiosk sim exited")
        return line

    def command(self, cmd: Mapping[str, Any], timeout: float = 30.0) -> list[dict[str, Any]]:
        """Send one command; its events (the closing view left out). Device news is skipped."""
        assert self.process is not None and self.process.stdin is not None
        ident = next(self._ids)
        self.process.stdin.write(json.dumps({**cmd, "id": ident}) + "\n")
        self.process.stdin.flush()
        events: list[dict[str, Any]] = []
        while True:
            line = self._next(timeout)
            if line.get("id") != ident:
                continue
            if line.get("event") == "view":
                return events
            if line.get("event") == "error":
                raise SimError(f"{self.kiosk.kiosk_id}: {cmd} failed: {line}")
            events.append(line)

    def sell(self, n: int) -> dict[str, Any]:
        """Sale number ``n`` of the script: basket ``n % 4``; paid by card (n % 3 == 0), by
        wallet (1) or split, 1.00 by card and the rest by wallet (2). Its ``sale_completed``."""
        self.command({"cmd": "start"})
        for code in BASKETS[n % len(BASKETS)]:
            self.command({"cmd": "scan", "code": code})
        plan = n % 3
        if plan == 2:
            self.command({"cmd": "pay", "method": "card", "amount": 100})
        if plan == 0:
            events = self.command({"cmd": "pay", "method": "card"})
        else:
            events = self.command({"cmd": "pay", "method": "wallet", "code": WALLET_CODE})
        done = [e for e in events if e["event"] == "sale_completed"]
        if not done:
            raise SimError(f"{self.kiosk.kiosk_id}: sale {n} did not complete: {events}")
        return done[0]

    def sell_many(self, count: int, first: int = 0) -> list[dict[str, Any]]:
        return [self.sell(n) for n in range(first, first + count)]

    def close(self, timeout: float = 20.0) -> None:
        """End of stdin: the sim stops by itself."""
        if self.process is None:
            return
        if self.process.stdin is not None:
            with suppress(BrokenPipeError):
                self.process.stdin.close()
        self.process.wait(timeout)
        self._release()

    def kill(self) -> None:
        """SIGKILL: the kiosk's power cut."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(20)
        self._release()

    def _release(self) -> None:
        assert self.process is not None
        if self._reader is not None:
            self._reader.join(10)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with suppress(BrokenPipeError):
                    pipe.close()
        self.process = None


class Burst:
    """``count`` scripted sales through a ``Sim`` on a thread: ``done`` counts completed
    sales, ``join()`` re-raises what went wrong."""

    def __init__(self, sim: Sim, count: int, first: int = 0) -> None:
        self.sim = sim
        self.count = count
        self.first = first
        self.done = 0
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, name="burst", daemon=True)

    def _run(self) -> None:
        try:
            for n in range(self.first, self.first + self.count):
                self.sim.sell(n)
                self.done += 1
        except (AssertionError, OSError, ValueError, KeyError) as exc:  # raised again by join()
            self.error = exc

    def start(self) -> Burst:
        self.thread.start()
        return self

    def join(self, timeout: float = 90.0) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"the burst still runs after {timeout} s"
        if self.error is not None:
            raise self.error


# --------------------------------------------------------------------------------- kiosks
def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # strings, numbers and lists of them are valid TOML this way


def set_toml_keys(text: str, section: str, values: Mapping[str, Any]) -> str:
    """``text`` with ``key = value`` set in ``[section]`` (replaced where the key is, else
    appended to the section); comments and other sections are kept."""
    lines = text.splitlines()
    header = re.compile(rf"^\[{re.escape(section)}\]\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        raise ValueError(f"no [{section}] section")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    missing = dict(values)
    for i in range(start + 1, end):
        match = re.match(r"^\s*([A-Za-z0-9_]+)\s*=", lines[i])
        if match and match.group(1) in missing:
            lines[i] = f"{match.group(1)} = {toml_value(missing.pop(match.group(1)))}"
    added = [f"{key} = {toml_value(value)}" for key, value in missing.items()]
    return "\n".join([*lines[:end], *added, *lines[end:]]) + "\n"


@dataclass
class Kiosk:
    """A demo kiosk folder (kiosk.toml, kiosk.db) with its own kiosk id."""

    kiosk_id: str
    folder: Path
    sale_offset: int  # bulk sales' ids start here, so no two kiosks share an id

    @property
    def config(self) -> Path:
        return self.folder / "kiosk.toml"

    @property
    def db_path(self) -> Path:
        return self.folder / "kiosk.db"

    def configure(
        self,
        broker_port: int,
        *,
        brokers: list[str] | None = None,
        username: str = "",
        password: str = "",
        **sync: Any,
    ) -> None:
        """Point the kiosk at a broker and set its ``[sync]`` table (``SYNC_FAST`` + ``sync``)."""
        text = self.config.read_text(encoding="utf-8")
        text = set_toml_keys(text, "kiosk", {"id": self.kiosk_id})
        text = set_toml_keys(
            text, "broker", {"port": broker_port, "username": username, "password": password}
        )
        table = {**SYNC_FAST, **sync}
        if brokers is not None:
            table["brokers"] = brokers
        text = set_toml_keys(text, "sync", table)
        self.config.write_text(text, encoding="utf-8")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import sqlite3

        conn = sqlite3.connect(self.db_path, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def outbox_states(self) -> dict[str, int]:
        return dict(self.query("SELECT state, count(*) FROM outbox GROUP BY state"))

    def settled_at_least(self, count: int) -> bool:
        return self.outbox_states().get("settled", 0) >= count

    def last_seq(self) -> int:
        return int(self.query("SELECT coalesce(max(seq), 0) FROM journal")[0][0])

    def bulk_sales(self, count: int, batch: int = 1000) -> None:
        """``count`` completed sales written by the kiosk's store (``SqliteLaneStore.
        complete_sale``: journal, sales, lines, tenders and outbox, one transaction per sale)
        from hand-built sales (1-3 lines, every third in cash with a rounding, every fifth with
        a discount). The lane snapshot is kept as it is; the sim must not run meanwhile (it
        owns the snapshot). This connection commits with synchronous=NORMAL (no fsync per
        commit in WAL mode: a power cut could lose the last ones, which no test makes) so a
        busy disk does not turn 10 000 sales into minutes; the rows are the same."""
        from kiosk.lane_state import LaneState
        from kiosk.store.db import open_db
        from kiosk.store.lane_store import SqliteLaneStore
        from tests.integration.conftest import SaleFactory

        factory = SaleFactory(kiosk_id=self.kiosk_id, counter=itertools.count(self.sale_offset))
        self.sale_offset += count * 10
        db = open_db(self.db_path)
        try:
            db.conn.execute("PRAGMA synchronous = NORMAL")
            raw = db.conn.execute("SELECT snapshot FROM lane").fetchone()
            snapshot = json.loads(raw[0]) if raw and raw[0] else LaneState().to_snapshot()
            store = SqliteLaneStore(db, self.kiosk_id, min_free_disk_bytes=0)
            for n in range(count):
                cash = n % 3 == 0
                sale = factory.make(
                    lines=1 + n % 3,
                    cash=cash,
                    cash_rounding=-3 if cash else 0,
                    discount=-100 if n % 5 == 0 else 0,
                )
                store.complete_sale(sale, snapshot)
        finally:
            db.conn.close()

"""Issue 4 benchmark: how many events per second one central consumer applies.

Main thread. The events: ``apply_events`` sealed ``pos.sale.completed/1`` events of four kiosks
of store s0001 (``bench.fixtures.SaleMaker``: 1..5 lines, ~3 on average, two VAT rates, a
fourth paid in cash), each kiosk a gap-free hash chain, interleaved kiosk by kiosk as they
arrive at a store server; as MQTT messages (topic and canonical payload bytes, exactly what
``kiosk sync`` publishes).

- **Figures, direct**: ``central.apply.Applier.apply`` (validation, dedup, the group's effect,
  ``processed_events``, seq progress, one transaction per batch) of the inventory and of the
  finance handler, each on its own fresh database, in batches of ``consumer.batch_size`` (500,
  the default), on SQLite (a file beside the bench's scratch: WAL, ``synchronous=FULL``,
  ``central.storage.make_engine``) and on PostgreSQL (a private server from
  ``tests/infra/postgres.py``, run here with ``fsync`` and ``full_page_writes`` ON, unlike the
  tests; skipped in ``--quick``).
- **Figure, end to end** (SQLite, finance, reported): the real consumer process
  (``python -m central.cli finance``) on a private Mosquitto, the same events published by a
  raw paho QoS 1 publisher (``python -m bench.sync_drain publish``, window 100): from the first
  publish to every event recorded in ``processed_events`` (polled every 10 ms).
- **Floor**, per database: SQLAlchemy ``conn.execute(table.insert(), rows)`` (an executemany)
  of the same ``processed_events`` rows into a plain table without keys or indexes, one
  transaction per batch of the same size, on the same kind of engine.

Floor and figures are interleaved batch by batch (floor, inventory, finance, next batch). Each
rate is events over the summed batch times; ``cpu_rows_per_s`` over the bench process's CPU
time (for PostgreSQL the server's CPU is not in it).

Goal (issue 4): ≥ 5 000 events/s into SQLite with batching, per consumer process (taken on the
slower group); PostgreSQL reported.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen
from typing import Any, Final

from sqlalchemy import Column, Engine, MetaData, Table

from bench.fixtures import Context, Mosquitto, SaleMaker
from bench.harness import ratio, result
from bench.sync_drain import TIMEOUT_S, WINDOW, child, finish, reap
from central.apply import APPLIED, Applier, Inbound
from central.config import ConsumerConfig, FinanceConfig, InventoryConfig, KioskRegistry
from central.finance import FinanceHandler
from central.inventory import InventoryHandler
from central.storage import init_schema, make_engine
from central.storage.schema import processed_events
from kiosk.protocol import GENESIS_HASH, canonical_json, sale_completed_event, seal
from kiosk.protocol.mqtt import event_topic

NAME: Final = "consumer_apply"
GOAL_RATE: Final = 5000.0
STORE_ID: Final = "s0001"
KIOSKS: Final = tuple(f"{STORE_ID}-k{i:02d}" for i in range(1, 5))
BATCH: Final = ConsumerConfig().batch_size
MAX_PAYLOAD: Final = ConsumerConfig().max_payload_bytes
REGISTRY: Final = KioskRegistry(stores=frozenset({STORE_ID}))
GROUPS: Final = ("inventory", "finance")

_floor_metadata = MetaData()
FLOOR_TABLE: Final = Table(
    "floor_events", _floor_metadata, *(Column(c.name, c.type) for c in processed_events.columns)
)


def make_events(n: int) -> list[dict[str, Any]]:
    """``n`` sealed sale events of ``KIOSKS``, round-robin, each kiosk's chain gap-free."""
    makers = [SaleMaker(k, STORE_ID, seed=9) for k in KIOSKS]
    links = [(0, GENESIS_HASH) for _ in KIOSKS]
    events = []
    for i in range(n):
        k = i % len(KIOSKS)
        seq, prev = links[k]
        sealed = seal(sale_completed_event(makers[k].make(), seq + 1, prev))
        links[k] = (seq + 1, sealed["hash"])
        events.append(sealed)
    return events


def floor_row(event: dict[str, Any]) -> dict[str, Any]:
    """The ``processed_events`` row the applier records for ``event``."""
    return {
        "consumer_group": "floor",
        "event_id": event["event_id"],
        "kiosk_id": event["kiosk_id"],
        "store_id": event["store_id"],
        "seq": event["seq"],
        "schema": event["schema"],
        "business_day": event["business_day"],
        "hash": event["hash"],
        "prev_hash": event["prev_hash"],
        "applied_at": "2026-11-27T09:15:03.000Z",
        "applied_by": "bench",
    }


class Target:
    """One thing timed batch by batch: total seconds, CPU seconds, events done."""

    def __init__(self, name: str, step: Callable[[Sequence[int]], None]) -> None:
        self.name = name
        self.step = step
        self.seconds = 0.0
        self.cpu = 0.0
        self.rows = 0

    def __call__(self, batch: Sequence[int]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.step(batch)
        self.seconds += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self.rows += len(batch)

    def stat(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rows_per_s": round(self.rows / self.seconds),
            "seconds": round(self.seconds, 3),
            "cpu_rows_per_s": round(self.rows / max(self.cpu, 1e-9)),
        }


def _applier(engine: Engine, group: str, inbound: list[Inbound]) -> Callable[[Sequence[int]], None]:
    """Apply the messages of a batch of indexes into ``inbound``; every one must be applied."""
    handler = (
        InventoryHandler(InventoryConfig())
        if group == "inventory"
        else FinanceHandler(FinanceConfig())
    )
    applier = Applier(engine, handler, REGISTRY, MAX_PAYLOAD, f"bench-{group}")

    def apply(batch: Sequence[int]) -> None:
        outcome = applier.apply([inbound[i] for i in batch])
        if outcome.count(APPLIED) != len(batch):
            raise RuntimeError(f"{group}: not every event applied: {set(outcome.outcomes)}")

    return apply


def measure(urls: dict[str, str], events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Floor and both groups, interleaved batch by batch; ``urls`` has one database per key."""
    inbound = [
        Inbound(event_topic(e["kiosk_id"], "sale.completed"), canonical_json(e), i)
        for i, e in enumerate(events)
    ]
    rows = [floor_row(e) for e in events]
    engines = {key: make_engine(url) for key, url in urls.items()}
    try:
        _floor_metadata.create_all(engines["floor"])
        for group in GROUPS:
            init_schema(engines[group])
        floor_engine = engines["floor"]

        def floor(batch: Sequence[int]) -> None:
            with floor_engine.begin() as conn:
                conn.execute(FLOOR_TABLE.insert(), [rows[i] for i in batch])

        targets = [Target("floor", floor)] + [
            Target(g, _applier(engines[g], g, inbound)) for g in GROUPS
        ]
        for start in range(0, len(events), BATCH):
            batch = range(start, min(start + BATCH, len(events)))
            for target in targets:
                target(batch)
    finally:
        for engine in engines.values():
            engine.dispose()
    return {t.name: t.stat() for t in targets}


@contextmanager
def postgres() -> Iterator[Callable[[str], str]]:
    """A private PostgreSQL server (fsync on) for the run; yields ``new_database(name)``."""
    from tests.infra.postgres import PostgresServer

    class DurablePostgres(PostgresServer):
        """The test server with the durability the tests turn off put back on."""

        def _popen(self, args: list[str], **kwargs: object) -> Any:
            kept: list[str] = []
            for arg in args:
                if arg in ("fsync=off", "full_page_writes=off") and kept[-1:] == ["-c"]:
                    kept.pop()
                else:
                    kept.append(arg)
            return super()._popen(kept, **kwargs)

    server = DurablePostgres.in_temp_folder()
    try:
        server.start()
        yield server.create_database
    finally:
        server.remove()


def end_to_end(folder: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The finance consumer process fed through a private broker (see the module docstring)."""
    db = folder / "central.db"
    engine = make_engine(f"sqlite:///{db}")
    init_schema(engine)
    engine.dispose()
    payloads = folder / "payloads.jsonl"
    with payloads.open("w", encoding="utf-8") as f:
        for e in events:
            row = {
                "seq": e["seq"],
                "event_id": e["event_id"],
                "topic": event_topic(e["kiosk_id"], "sale.completed"),
                "payload": canonical_json(e).decode("utf-8"),
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with Mosquitto(folder / "broker") as broker:
        config = folder / "central.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{db}"\n[[broker]]\nhost = "127.0.0.1"\n'
            f'port = {broker.port}\n[mqtt]\nclient_id = "bench-finance"\n'
            f'[kiosks]\nstores = ["{STORE_ID}"]\n',
            encoding="utf-8",
        )
        consumer = child(
            ["central.cli", "finance", "--config", str(config)], folder / "c.log", answers=False
        )
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            _wait(lambda: _online(folder), "the consumer's connection", consumer)
            args = ["--port", str(broker.port), "--payloads", str(payloads)]
            publisher = child(
                ["bench.sync_drain", "publish", *args, "--window", str(WINDOW)], folder / "p.log"
            )
            text, _cpu = finish(publisher)
            if publisher.returncode != 0 or not text:
                raise RuntimeError(f"the publisher failed: {(folder / 'p.log').read_text()}")
            report = json.loads(text)
            applied = len(events)
            _wait(lambda: _count(conn, "processed_events") >= applied, "every event", consumer)
            done = time.monotonic()
        finally:
            conn.close()
            consumer.terminate()
            cpu = reap(consumer)
    seconds = done - report["first_publish"]
    return {
        "rows": len(events),
        "rows_per_s": round(len(events) / seconds),
        "seconds": round(seconds, 3),
        "cpu_rows_per_s": round(len(events) / max(cpu, 1e-9)),
    }


def _online(folder: Path) -> bool:
    """The consumer logged its connection (its subscription is made in the same callback)."""
    return "connected" in (folder / "c.log").read_text(errors="replace")


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _wait(condition: Callable[[], bool], what: str, process: Popen[str]) -> None:
    """Poll ``condition`` every 10 ms; fail when ``process`` exits or after ``TIMEOUT_S``."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the consumer process ended or stalled waiting for {what}")
        time.sleep(0.01)


def _vs_floor(database: str, stats: dict[str, dict[str, Any]]) -> dict[str, float]:
    floor = stats["floor"]["rows_per_s"]
    return {f"{database}_{g}_vs_executemany": ratio(stats[g]["rows_per_s"], floor) for g in GROUPS}


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    events = make_events(sizes.apply_events)
    folder = ctx.folder("consumer-apply")
    keys = ("floor", *GROUPS)
    sqlite = measure({k: f"sqlite:///{folder / f'{k}.db'}" for k in keys}, events)
    figures: dict[str, Any] = {f"sqlite_{g}": sqlite[g] for g in GROUPS}
    floor = {"sqlite_executemany": sqlite["floor"]}
    ratios = _vs_floor("sqlite", sqlite)
    if sizes.apply_postgres:
        with postgres() as new_database:
            pg = measure({k: new_database(f"bench_{k}") for k in keys}, events)
        figures.update({f"postgresql_{g}": pg[g] for g in GROUPS})
        floor["postgresql_executemany"] = pg["floor"]
        ratios.update(_vs_floor("postgresql", pg))
    e2e = ctx.folder("consumer-e2e")
    figures["sqlite_finance_through_broker"] = end_to_end(e2e, events)
    slower = min(sqlite[g]["rows_per_s"] for g in GROUPS)
    primary = "sqlite_slower_group_vs_goal"
    ratios[primary] = ratio(slower, GOAL_RATE)
    return result(
        NAME,
        figures=figures,
        floor=floor,
        ratios=ratios,
        primary=primary,
        goal=f"apply >= {GOAL_RATE:g} events/s per consumer into SQLite (batches of {BATCH})",
        met=slower >= GOAL_RATE,
        params={
            "events": len(events),
            "kiosks": len(KIOSKS),
            "batch": BATCH,
            "lines_per_event_mean": round(sum(len(e["lines"]) for e in events) / len(events), 2),
            "postgresql": sizes.apply_postgres,
        },
    )

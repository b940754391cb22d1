"""Issue 4 benchmark: how fast ``kiosk sync`` drains a 10 000-sale outbox backlog.

Main thread; the agent, the raw publisher and the stand-in consumer each run in their own
process (``python -m kiosk.sync`` as deployed; ``python -m bench.sync_drain publish|ack`` for
the other two), so none of them shares a GIL with another or with the bench's poller. All
timestamps are ``time.monotonic()``: CLOCK_MONOTONIC, one clock for every process of the
machine.

Set-up (untimed): a kiosk.db whose outbox holds ``drain_sales`` sealed sale events, recorded
through ``SqliteLaneStore.complete_sale`` (``bench.fixtures.fill_outbox``: 1..5 lines each,
~1.1 KB payloads), kept as a template and copied for every round; each measurement gets a
fresh private Mosquitto with the production store config's limits (``bench.fixtures.Mosquitto``)
and a fresh stand-in consumer (``ack``): it subscribes ``pos/v1/{kiosk}/evt/#`` at QoS 1 and,
every 50 ms, acks ``{"up_to_seq": n}`` for ``inventory`` and ``finance`` (the contiguous seq it
received), as a consumer does after a batch commit.

- **Figure**: ``python -m kiosk.sync`` on the copy (window 100, the default). From its birth
  message reaching the consumer (published on connect, in the same loop round as its first
  events) to kiosk.db showing no ``pending`` row, every row PUBACKed and recorded as ``sent``
  (``drain_to_sent``), and to no unsettled row, both groups' acks recorded
  (``drain_to_settled``). kiosk.db is polled every 10 ms from the bench (WAL reads).
- **Floor**: raw paho (its loop thread, QoS 1, ``max_inflight_messages`` = the same window, no
  queue limit, at the agent's CPU niceness: ``[sync] nice``, default 10) publishing the same
  payloads with the same topic and properties (built per message with paho's ``Properties``;
  the agent packs its own) to the same kind of broker with the same consumer attached: from
  its first ``publish`` call to its last PUBACK.

Floor and figure alternate over ``drain_rounds`` rounds (floor first in even rounds, agent
first in odd ones). The goal's ratio is the median over rounds of (raw time / agent time) of
the two runs made side by side, which share the machine's weather; the rates are medians.
``fdatasync`` (50 samples after each run, on the same file system) says how slow the disk under
kiosk.db was: every commit of the agent waits for one. CPU seconds of the agent and of the raw
publisher (``os.wait4``) are reported per 1 000 events.

Goals (issue 4): drain to sent ≥ 0.7 × the raw rate, and ≥ 1 000 sales/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from statistics import median
from typing import IO, Any, Final

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.fixtures import Context, Mosquitto, fill_outbox, sync_config
from bench.harness import FsyncFloor, latency_ms, ratio, result
from kiosk.protocol.mqtt import CONSUMER_GROUPS, ack_payload, ack_topic, state_topic
from kiosk.sync.settings import SyncSettings

NAME: Final = "sync_drain"
GOAL_RATIO: Final = 0.7
GOAL_RATE: Final = 1000.0
KIOSK_ID: Final = "s0001-k01"
STORE_ID: Final = "s0001"
WINDOW: Final = 100
POLL_S: Final = 0.01
ACK_EVERY_S: Final = 0.05
TIMEOUT_S: Final = 600.0
FSYNC_SAMPLES: Final = 50
ROOT: Final = Path(__file__).resolve().parent.parent
# The agent lowers its own CPU priority ([sync] nice); the raw floor runs at the same one, so
# the ratio compares the code, not the priorities, when other processes want the CPU too.
AGENT_NICE: Final = next(f.default for f in fields(SyncSettings) if f.name == "nice")


# ------------------------------------------------------------------------ child processes
def child(args: list[str], log: Path, *, answers: bool = True) -> subprocess.Popen[str]:
    """``python -m ...`` from the repository root, stderr to ``log``; stdout a pipe (text) when
    the child ``answers`` (read it with ``finish``), else to ``log`` too."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("a", encoding="utf-8") as err:
        return subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=subprocess.PIPE if answers else err,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=env,
        )


def reap(process: subprocess.Popen[str], timeout: float = 30.0) -> float:
    """Wait for ``process`` (SIGKILL after ``timeout``); its CPU seconds (user + system)."""
    if process.returncode is not None:  # already reaped by poll(): its CPU time is gone
        return 0.0
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return float(usage.ru_utime + usage.ru_stime)
        if time.monotonic() > deadline:
            process.kill()
            deadline = float("inf")
        time.sleep(0.01)


def finish(process: subprocess.Popen[str], timeout: float = TIMEOUT_S) -> tuple[str, float]:
    """What ``process`` still wrote to stdout once it exited (killed after ``timeout``), and its
    CPU seconds. Children here write one short JSON line, well within a pipe's buffer."""
    cpu = reap(process, timeout)
    text = process.stdout.read() if process.stdout is not None else ""
    if process.stdout is not None:
        process.stdout.close()
    return text, cpu


def read_line(stream: IO[str] | None, what: str) -> str:
    line = stream.readline() if stream is not None else ""
    if not line:
        raise RuntimeError(f"the {what} process ended without answering")
    return line.strip()


class Acker:
    """The stand-in consumer process (``python -m bench.sync_drain ack``); a context manager
    that starts it, waits for its subscription and, on ``summary()``, for its report."""

    def __init__(self, port: int, kiosk_id: str, expect: int, log: Path) -> None:
        args = ["--port", str(port), "--kiosk", kiosk_id, "--expect", str(expect)]
        self.process = child(["bench.sync_drain", "ack", *args], log)
        self.log = log
        try:
            if read_line(self.process.stdout, "consumer") != "ready":
                raise RuntimeError("it answered something else than 'ready'")
        except RuntimeError as exc:
            self.__exit__()
            raise RuntimeError(
                f"the stand-in consumer did not subscribe ({exc}): {log.read_text()[-2000:]}"
            ) from None

    def summary(self, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        """Its report once it received and acked ``expect`` events (SIGTERM: what it has)."""
        text, _cpu = finish(self.process, timeout)
        if self.process.returncode != 0 or not text:
            raise RuntimeError(f"the stand-in consumer failed: {self.log.read_text()[-2000:]}")
        report: dict[str, Any] = json.loads(text)
        return report

    def __enter__(self) -> Acker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            finish(self.process, 10)


def _publish_props(event_id: str, seq: int) -> Properties:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.ContentType = "application/json"
    props.PayloadFormatIndicator = 1
    props.UserProperty = [("event_id", event_id), ("seq", str(seq))]
    return props


def _client(name: str) -> paho.Client:
    return paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{name}-{os.getpid()}", protocol=paho.MQTTv5
    )


def publish_main(port: int, payloads: Path, window: int, nice: int = 0) -> int:
    """The raw floor: every payload of ``payloads`` (JSON lines) at QoS 1, ``window`` in
    flight, at CPU niceness ``nice`` (the agent's); prints ``{"first_publish", "last_puback",
    "n", "codes", ...}`` as one JSON line."""
    os.nice(max(0, nice - os.getpriority(os.PRIO_PROCESS, 0)))
    rows = [json.loads(line) for line in payloads.read_text(encoding="utf-8").splitlines()]
    client = _client("bench-raw")
    client.max_inflight_messages_set(window)
    client.max_queued_messages_set(0)
    done = threading.Condition()
    state: dict[str, Any] = {"acked": 0, "last": 0.0, "codes": Counter(), "rm": None}

    def on_connect(_c: Any, _u: Any, _f: Any, _rc: Any, props: Any) -> None:
        with done:
            state["rm"] = int(getattr(props, "ReceiveMaximum", 65535))
            done.notify_all()

    def on_publish(_c: Any, _u: Any, _mid: int, rc: Any, _p: Any) -> None:
        with done:
            state["acked"] += 1
            state["last"] = time.monotonic()
            state["codes"][int(rc.value)] += 1
            done.notify_all()

    client.on_connect = on_connect
    client.on_publish = on_publish
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    with done:
        if not done.wait_for(lambda: state["rm"] is not None, 10):
            raise RuntimeError("no CONNACK")
    started = time.monotonic()
    for r in rows:
        props = _publish_props(r["event_id"], r["seq"])  # built per message, as the agent does
        client.publish(r["topic"], r["payload"].encode("utf-8"), qos=1, properties=props)
    with done:
        if not done.wait_for(lambda: state["acked"] >= len(rows), TIMEOUT_S):
            raise RuntimeError(f"only {state['acked']} of {len(rows)} PUBACKs")
    client.disconnect()
    client.loop_stop()
    report = {
        "n": len(rows),
        "window": window,
        "receive_maximum": state["rm"],
        "first_publish": started,
        "last_puback": state["last"],
        "codes": {f"0x{k:02x}": v for k, v in sorted(state["codes"].items())},
    }
    print(json.dumps(report), flush=True)
    return 0


def ack_main(port: int, kiosk_id: str, expect: int) -> int:
    """The stand-in consumer (see the module docstring); prints ``ready``, then, once it has
    acked ``expect`` contiguous events (or on SIGTERM), one JSON line of what it received."""
    lock = threading.Lock()
    ready = threading.Event()
    stop = threading.Event()
    seen: set[int] = set()
    got: dict[str, Any] = {"contiguous": 0, "received": 0, "last_rx": None, "birth_rx": None}

    def on_message(_c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        now = time.monotonic()
        if msg.topic == state_topic(kiosk_id):
            if got["birth_rx"] is None and json.loads(msg.payload).get("online") is True:
                got["birth_rx"] = now
            return
        props = dict(getattr(msg.properties, "UserProperty", None) or [])
        seq = int(props["seq"]) if "seq" in props else int(json.loads(msg.payload)["seq"])
        with lock:
            got["received"] += 1
            got["last_rx"] = now
            seen.add(seq)
            while got["contiguous"] + 1 in seen:
                got["contiguous"] += 1

    client = _client("bench-acker")
    topics = [(f"pos/v1/{kiosk_id}/evt/#", 1), (state_topic(kiosk_id), 1)]
    client.on_connect = lambda c, *_a: c.subscribe(topics)
    client.on_subscribe = lambda *_a: ready.set()
    client.on_message = on_message
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    if not ready.wait(10):
        raise RuntimeError("no SUBACK")
    print("ready", flush=True)
    acked = 0
    while not stop.wait(ACK_EVERY_S):
        with lock:
            upto = got["contiguous"]
        if upto <= acked:
            continue
        infos = [
            client.publish(ack_topic(kiosk_id, g), json.dumps(ack_payload(upto)), qos=1)
            for g in CONSUMER_GROUPS
        ]
        acked = upto
        if 0 < expect <= acked:
            for info in infos:
                info.wait_for_publish(10)
            break
    client.disconnect()
    client.loop_stop()
    with lock:
        print(json.dumps({**got, "distinct": len(seen), "acked_up_to": acked}), flush=True)
    return 0


# ------------------------------------------------------------------------------ the bench
@dataclass(frozen=True)
class Outbox:
    """Counts in a kiosk.db's outbox, read on the bench's own connection (WAL: no blocking)."""

    conn: sqlite3.Connection

    @classmethod
    def open(cls, path: Path) -> Outbox:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return cls(conn)

    def counts(self) -> tuple[int, int]:
        """(pending, unsettled) through the outbox_unsettled partial index."""
        pending, unsettled = self.conn.execute(
            "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending' AND state != 'settled'),"
            " (SELECT count(*) FROM outbox WHERE state != 'settled')"
        ).fetchone()
        return int(pending), int(unsettled)

    def published(self) -> int:
        """Rows no longer pending (sent or settled); nothing is purged in a benchmark."""
        (done,) = self.conn.execute(
            "SELECT (SELECT count(*) FROM outbox)"
            " - (SELECT count(*) FROM outbox WHERE state = 'pending' AND state != 'settled')"
        ).fetchone()
        return int(done)

    def close(self) -> None:
        self.conn.close()


def export_payloads(db_path: Path, out: Path) -> int:
    """The outbox rows of ``db_path`` as JSON lines (topic, payload, event_id, seq)."""
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute("SELECT seq, event_id, topic, payload FROM outbox ORDER BY seq")
        with out.open("w", encoding="utf-8") as f:
            n = 0
            for seq, event_id, topic, payload in rows:
                row = {"seq": seq, "event_id": event_id, "topic": topic, "payload": payload}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
    finally:
        conn.close()
    return n


def start_agent(folder: Path, db_path: Path, port: int) -> subprocess.Popen[str]:
    """``python -m kiosk.sync`` on ``db_path`` against the broker on ``port`` (its config and
    log in ``folder``)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = sync_config(folder, db_path, KIOSK_ID, STORE_ID, port, WINDOW)
    return child(["kiosk.sync", "--config", str(config)], folder / "sync.log", answers=False)


def _agent_round(folder: Path, template: Path, n: int) -> dict[str, float]:
    db_path = folder / "kiosk.db"
    folder.mkdir(parents=True)
    shutil.copyfile(template, db_path)
    outbox = Outbox.open(db_path)
    with (
        Mosquitto(folder / "broker") as broker,
        Acker(broker.port, KIOSK_ID, n, folder / "acker.log") as acker,
    ):
        agent = start_agent(folder, db_path, broker.port)
        sent_at = settled_at = None
        deadline = time.monotonic() + TIMEOUT_S
        try:
            while settled_at is None:
                pending, unsettled = outbox.counts()
                now = time.monotonic()
                if pending == 0 and sent_at is None:
                    sent_at = now
                if unsettled == 0:
                    settled_at = now
                    break
                if agent.poll() is not None or now > deadline:
                    log = (folder / "sync.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"the agent stopped or stalled ({pending} pending): {log}")
                time.sleep(POLL_S)
            report = acker.summary()
        finally:
            agent.terminate()
            cpu = reap(agent)
            outbox.close()
    assert sent_at is not None
    return {
        "birth_rx": report["birth_rx"],
        "last_rx": report["last_rx"],
        "sent_at": sent_at,
        "settled_at": settled_at,
        "received": report["received"],
        "cpu_s": cpu,
    }


def _raw_round(folder: Path, payloads: Path, n: int) -> dict[str, Any]:
    folder.mkdir(parents=True)
    with (
        Mosquitto(folder / "broker") as broker,
        Acker(broker.port, KIOSK_ID, n, folder / "acker.log") as acker,
    ):
        args = ["--port", str(broker.port), "--payloads", str(payloads), "--window", str(WINDOW)]
        args += ["--nice", str(AGENT_NICE)]
        publisher = child(["bench.sync_drain", "publish", *args], folder / "raw.log")
        text, cpu = finish(publisher)
        if publisher.returncode != 0 or not text:
            raise RuntimeError(f"the raw publisher failed: {(folder / 'raw.log').read_text()}")
        report = acker.summary()
    published: dict[str, Any] = json.loads(text)
    seen = {k: report[k] for k in ("last_rx", "received")}
    return {**published, **seen, "cpu_s": cpu}


def _rate(n: int, seconds: list[float]) -> dict[str, Any]:
    """Median rate over rounds; ``rows`` events, ``seconds`` the median duration."""
    rates = [n / s for s in seconds]
    return {
        "rows": n,
        "rows_per_s": round(median(rates)),
        "seconds": round(median(seconds), 3),
        "rounds_rows_per_s": [round(r) for r in rates],
    }


def run(ctx: Context) -> dict[str, Any]:
    n = ctx.sizes.drain_sales
    base = ctx.folder("sync-drain")
    template = base / "template" / "kiosk.db"
    fill_outbox(template, KIOSK_ID, STORE_ID, n)
    payloads = base / "payloads.jsonl"
    if export_payloads(template, payloads) != n:
        raise RuntimeError("the backlog does not hold the sales just recorded")
    agents: list[dict[str, float]] = []
    raws: list[dict[str, Any]] = []
    with FsyncFloor(base) as disk:
        for r in range(ctx.sizes.drain_rounds):
            for kind in ("raw", "agent") if r % 2 == 0 else ("agent", "raw"):
                if kind == "raw":
                    raws.append(_raw_round(base / f"raw-{r}", payloads, n))
                else:
                    agents.append(_agent_round(base / f"agent-{r}", template, n))
                for _ in range(FSYNC_SAMPLES):
                    disk()
        fsyncs = disk.samples
    sent_s = [a["sent_at"] - a["birth_rx"] for a in agents]
    raw_s = [r["last_puback"] - r["first_publish"] for r in raws]
    sent = _rate(n, sent_s)
    settled = _rate(n, [a["settled_at"] - a["birth_rx"] for a in agents])
    agent_rx = _rate(n, [a["last_rx"] - a["birth_rx"] for a in agents])
    raw = _rate(n, raw_s)
    raw_rx = _rate(n, [r["last_rx"] - r["first_publish"] for r in raws])
    # Each agent round against the raw round run right beside it: the same machine weather.
    paired = [raw_t / sent_t for raw_t, sent_t in zip(raw_s, sent_s, strict=True)]
    ratios = {
        "sent_vs_raw_paired_median": round(median(paired), 2),
        "sent_rate_vs_raw_rate": ratio(sent["rows_per_s"], raw["rows_per_s"]),
        "settled_rate_vs_raw_rate": ratio(settled["rows_per_s"], raw["rows_per_s"]),
        "received_rate_vs_raw_received_rate": ratio(agent_rx["rows_per_s"], raw_rx["rows_per_s"]),
    }
    primary = "sent_vs_raw_paired_median"
    per_1000 = 1000 / n
    return result(
        NAME,
        figures={
            "drain_to_sent": sent,
            "drain_to_settled": settled,
            "agent_consumer_received": agent_rx,
            "agent_cpu_s_per_1000": round(median(a["cpu_s"] for a in agents) * per_1000, 3),
            "redeliveries": max(int(a["received"]) - n for a in agents),
        },
        floor={
            "raw_paho_qos1": raw,
            "raw_consumer_received": raw_rx,
            "fdatasync": latency_ms(fsyncs),
        },
        ratios=ratios,
        primary=primary,
        goal=f"drain rate >= {GOAL_RATIO:g}x raw paho QoS 1 rate and >= {GOAL_RATE:g} sales/s",
        met=ratios[primary] >= GOAL_RATIO and sent["rows_per_s"] >= GOAL_RATE,
        params={
            "sales": n,
            "rounds": ctx.sizes.drain_rounds,
            "paired_ratios": [round(x, 2) for x in paired],
            "window": WINDOW,
            "nice": AGENT_NICE,
            "raw_cpu_s_per_1000": round(median(r["cpu_s"] for r in raws) * per_1000, 3),
            "raw_puback_codes": raws[-1]["codes"],
            "broker_receive_maximum": raws[-1]["receive_maximum"],
        },
    )


def main(argv: list[str] | None = None) -> int:
    """The child processes: ``publish`` (the raw floor) and ``ack`` (the stand-in consumer)."""
    parser = argparse.ArgumentParser(prog="python -m bench.sync_drain")
    sub = parser.add_subparsers(dest="role", required=True)
    pub = sub.add_parser("publish")
    pub.add_argument("--port", type=int, required=True)
    pub.add_argument("--payloads", type=Path, required=True)
    pub.add_argument("--window", type=int, required=True)
    pub.add_argument("--nice", type=int, default=0)
    ack = sub.add_parser("ack")
    ack.add_argument("--port", type=int, required=True)
    ack.add_argument("--kiosk", required=True)
    ack.add_argument("--expect", type=int, default=0)
    args = parser.parse_args(argv)
    if args.role == "publish":
        return publish_main(args.port, args.payloads, args.window, args.nice)
    return ack_main(args.port, args.kiosk, args.expect)


if __name__ == "__main__":
    sys.exit(main())

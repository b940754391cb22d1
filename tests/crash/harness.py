"""Crash harness for the headless lane: SIGKILL ``kiosk sim --json`` at random moments, restart
it and check that nothing it acknowledged was lost, doubled or invented.

Runs in the calling thread (the pytest thread or its pool threads, the soak CLI's main thread).
A ``CrashRun`` owns at most one child process at a time, so several runs can go side by side in
threads; every child is killed and reaped on the way out, also when a check or the harness
itself fails (``LaneProcess.close`` in ``finally``).

One *life* of the lane: start ``kiosk sim``, read its restore events and ``ready``, ask for the
view and check the restored state, send a few commands chosen by a seeded ``Shopper`` (reading
each answer up to its ``view`` line), then SIGKILL it in one of three ways:

- ``between``: after a whole answer, after a random delay of 0 to 5 ms;
- ``mid``: write one more command, wait a random delay (log-uniform 20 µs to 30 ms, or uniform
  over that command's measured duration) and kill without reading the answer;
- ``start``: during start-up, shortly before its first output (where restore writes).

After a kill the pipe is drained: every complete line the lane had written counts as
acknowledged, a partial last line does not.

After each kill, on the files as the kill left them (read-only connection): ``check_db``
(integrity_check, gap-free seq from 1, hash chain, outbox and sales rows per journal entry),
``verify_chain`` over the outbox events, every sale reported complete present exactly once with
the reported seq, receipt number and hash and its outbox row, every recorded sale one the
shopper made with exactly the lines acknowledged for it, and the payments: each intent in at
most one tender, tenders adding up to what was due, every approved intent counted in its sale
or in the open basket.

After each restart, on the first view: the basket acknowledged before the kill is there (lines,
quantities, tenders, interventions), changed at most by the one command that was in flight, or
that command completed the sale; no line that was never scanned; totals add up; every intent
whose outcome is unknown (interrupted mid-charge) is exactly one payment_unknown intervention;
no basket is left fully paid but unrecorded.

A failed check is a ``Violation``: the run records it with the seed, the in-flight command and
the recent command log, starts a fresh copy of the database and goes on, so one run reports
every kind of problem it meets.

``check_kill_point`` is the deterministic companion: a scripted sale in a lane that SIGKILLs
itself just before or just after its N-th lane-store write, then the same checks.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import kiosk
from kiosk.errors import StoreError
from kiosk.protocol import verify_chain
from kiosk.store import check_db, open_db

Event = dict[str, Any]

READY_TIMEOUT_S = 30.0
ANSWER_TIMEOUT_S = 20.0
TERMINAL_TIMEOUT_S = "0.02"
ATTENDANT_BADGE = "ST0001"
WALLET_CODE = "134567890123456789"
WEIGHED = {"2110001012501": "100003", "2110002008503": "100011", "2010001008736": "100003"}
PLAIN = ("6921168509256", "6918473200565", "6918473201579", "6950318800233", "6931189000410")
PLAIN_MORE = ("6908876500195", "6926007701082", "6926007702072")
AGE_RESTRICTED = ("6935284410013", "6942103700125")
NO_LINE = ("6904552100369", "6900000000007")  # not for sale; unknown
# In-flight commands that change nothing the lane saves (staff sessions are not saved).
NEUTRAL = frozenset({"view", "sim", "staff_login", "staff_logout"})
MODE_CHANGERS = frozenset(
    {"scan", "new_sale", "pay", "cash", "clear", "cancel_sale", "cancel_payment"}
)
CLOSERS = frozenset({"clear", "cash", "cancel_sale", "cancel_payment", "void_line", "remove_line"})
PAYERS = frozenset({"pay", "cash", "clear"})


class LaneFault(Exception):
    """The lane died, hung or wrote something that is not a JSON event. ``events`` holds what
    was read of the answer before that."""

    def __init__(self, message: str, events: Sequence[Event] = ()) -> None:
        super().__init__(message)
        self.events = list(events)


class Violation(Exception):
    """One or more checks failed; ``problems`` says which."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def kiosk_argv() -> list[str]:
    """The installed ``kiosk`` console script beside this Python, else ``python -m kiosk.cli``."""
    script = Path(sys.executable).with_name("kiosk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kiosk.cli"]


def make_template(folder: Path) -> Path:
    """``kiosk demo init --dir folder`` with a 20 ms terminal timeout; returns the config path."""
    done = subprocess.run(
        [*kiosk_argv(), "demo", "init", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kiosk demo init failed ({done.returncode}): {done.stderr}")
    config = folder / "kiosk.toml"
    text, count = re.subn(
        r"(?m)^terminal_timeout_s\s*=.*$",
        f"terminal_timeout_s = {TERMINAL_TIMEOUT_S}",
        config.read_text(encoding="utf-8"),
    )
    if count != 1:
        raise RuntimeError(f"{config} has no single terminal_timeout_s line to shorten")
    config.write_text(text, encoding="utf-8")
    return config


# --------------------------------------------------------------------------- the process
class LaneProcess:
    """One ``kiosk sim --json`` child: JSON lines in and out, SIGKILL, always reaped."""

    def __init__(self, argv: Sequence[str], stderr_path: Path) -> None:
        self._stderr = stderr_path.open("ab")
        try:
            self.proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                start_new_session=True,
                bufsize=0,
            )
        except BaseException:
            self._stderr.close()
            raise
        self.started = time.monotonic()
        self.first_output: float | None = None  # seconds from spawn to its first byte
        self._buf = bytearray()
        self._eof = False

    def _read_more(self, deadline: float) -> bool:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise LaneFault(f"the lane (pid {self.proc.pid}) did not answer in time")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self._eof = True
            return False
        if self.first_output is None:
            self.first_output = time.monotonic() - self.started
        self._buf += chunk
        return True

    def read_event(self, timeout: float) -> Event | None:
        """The next complete line as an event; None at end of output."""
        deadline = time.monotonic() + timeout
        while True:
            end = self._buf.find(b"\n")
            if end >= 0:
                line = bytes(self._buf[:end])
                del self._buf[: end + 1]
                try:
                    event = json.loads(line)
                except ValueError:
                    raise LaneFault(f"the lane wrote a line that is not JSON: {line!r}") from None
                if not isinstance(event, dict) or "event" not in event:
                    raise LaneFault(f"the lane wrote a line that is not an event: {line!r}")
                return event
            if self._eof or not self._read_more(deadline):
                return None

    def read_through(self, kind: str, timeout: float) -> list[Event]:
        """Events up to and including the first ``kind`` event."""
        deadline = time.monotonic() + timeout
        events: list[Event] = []
        while True:
            try:
                event = self.read_event(max(0.0, deadline - time.monotonic()))
            except LaneFault as exc:
                raise LaneFault(str(exc), events) from None
            if event is None:
                raise LaneFault(
                    f"the lane exited (code {self.proc.poll()}) before its {kind!r} line "
                    f"after {[e['event'] for e in events]}",
                    events,
                )
            events.append(event)
            if event["event"] == kind:
                return events

    def send(self, command: Mapping[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(command) + "\n").encode())
        except BrokenPipeError:
            raise LaneFault(f"the lane (code {self.proc.poll()}) closed its input") from None

    def kill(self) -> list[Event]:
        """SIGKILL (unless it already exited), reap, and return every complete line it had
        written that was not read yet; a partial last line is dropped."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return self._drain()

    def finish(self, timeout: float) -> int:
        """Close its input (a clean stop), wait for it, return its exit code."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise LaneFault(f"the lane did not stop within {timeout} s of end of input") from None
        self._drain()
        return code

    def _drain(self) -> list[Event]:
        events: list[Event] = []
        while (event := self.read_event(ANSWER_TIMEOUT_S)) is not None:
            events.append(event)
        self._buf.clear()
        return events

    def close(self) -> None:
        """Kill if still running, reap, close the pipes. Safe to call twice."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


# --------------------------------------------------------------------------- the shopper
@dataclass(frozen=True)
class Codes:
    """What to scan, from the demo catalog; ``sku_of`` maps a code to the sku it adds."""

    sku_of: Mapping[str, str]
    catalog: tuple[str, ...]

    @classmethod
    def load(cls) -> Codes:
        path = Path(kiosk.__file__).parent / "demo" / "catalog.csv"
        sku_of: dict[str, str] = dict(WEIGHED)
        catalog: list[str] = []
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                gtins = [g for g in row["gtins"].split("|") if g]
                if row["not_for_sale"] == "1" or not gtins:
                    continue
                sku_of.update(dict.fromkeys(gtins, row["sku"]))
                if row["age_limit"] == "0" and row["quantity_limit"] == "0":
                    catalog.append(gtins[0])
        missing = [c for c in (*PLAIN, *PLAIN_MORE, *AGE_RESTRICTED) if c not in sku_of]
        if missing:
            raise RuntimeError(f"{path} no longer sells the well-known codes {missing}")
        return cls(sku_of, tuple(catalog))


class Shopper:
    """Chooses the next command from the last acknowledged view, as a customer and an attendant
    would. Seeded. What it told the payment simulator lasts one life (a killed lane forgets)."""

    def __init__(self, rng: random.Random, codes: Codes) -> None:
        self.rng = rng
        self.codes = codes
        self.queue: list[Event] = []
        self.target = 1
        self.told: dict[str, str] = {}  # intent id -> what the simulator was scripted to do
        self._scripted: str | None = None
        self._refs = 0

    def new_life(self) -> None:
        self.queue.clear()
        self._scripted = None

    def saw(self, events: Sequence[Event]) -> None:
        for event in events:
            if event["event"] == "payment_processing":
                self.told[event["intent"]] = self._scripted or "approved"
                self._scripted = None

    def next(self, view: Event) -> Event:
        if self.queue:
            return self.queue.pop(0)
        rng = self.rng
        mode = view["mode"]
        staff = view["attendant"] is not None
        login: Event = {"cmd": "staff_login", "badge": ATTENDANT_BADGE}
        opened = view["interventions"]
        waiting = [i for i in opened if i["blocking"] and i["reason"] != "cash_payment"]
        if mode == "out_of_service":
            return {"cmd": "view"}
        if waiting:
            return self._clear(waiting[0]) if staff else login
        if mode == "paying":
            if any(i["reason"] == "cash_payment" for i in opened):
                if not staff:
                    return login
                return {"cmd": "cash", "tendered": self._tender(view["totals"]["remaining"])}
            if not view["tenders"] and rng.random() < 0.1:
                return {"cmd": "cancel_payment"}
            return self._pay()
        if mode == "scanning":
            active = [ln for ln in view["lines"] if not ln["voided"]]
            roll = rng.random()
            if active and roll < 0.03:
                return {"cmd": "remove_line", "line": rng.choice(active)["line"]}
            if active and roll < 0.06:
                return {"cmd": "void_line", "line": rng.choice(active)["line"]} if staff else login
            if roll < 0.08 and not view["tenders"]:
                return {"cmd": "cancel_sale"} if staff else login
            return self._scan() if len(active) < self.target else self._pay()
        if mode == "complete" and rng.random() < 0.4:
            return {"cmd": "new_sale"}
        self.target = rng.randint(1, 5)
        return self._scan()

    def _scan(self) -> Event:
        roll = self.rng.random()
        if roll < 0.45:
            pool: Sequence[str] = PLAIN
        elif roll < 0.55:
            pool = PLAIN_MORE
        elif roll < 0.75:
            pool = self.codes.catalog
        elif roll < 0.87:
            pool = AGE_RESTRICTED
        elif roll < 0.96:
            pool = tuple(WEIGHED)
        else:
            pool = NO_LINE
        return {"cmd": "scan", "code": self.rng.choice(pool)}

    def _clear(self, item: Event) -> Event:
        rng = self.rng
        command: Event = {"cmd": "clear", "intervention": item["intervention"]}
        reason = item["reason"]
        if reason == "age_check":
            approve = rng.random() < 0.85
        elif reason == "void":
            approve = True
        elif reason == "payment_unknown":
            told = self.told.get(str(item["detail"].get("intent")))
            # An honest attendant: approve what the terminal did charge. After a kill nobody
            # knows (the simulator forgot), so either answer is fair.
            approve = told == "late" if told else rng.random() < 0.5
            if approve:
                self._refs += 1
                command["ref"] = f"T-H{self._refs:06d}"
        else:
            approve = False
        command["resolution"] = "approve" if approve else "reject"
        return command

    def _pay(self) -> Event:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return {"cmd": "pay", "method": "cash"}
        if roll < 0.42:
            pay: Event = {"cmd": "pay", "method": "wallet", "code": WALLET_CODE}
            if rng.random() < 0.8:
                self._scripted = "approved"
                return pay
            self._scripted = "declined"
            self.queue = [pay]
            return {"cmd": "sim", "action": "wallet.next", "outcome": "declined"}
        pay = {"cmd": "pay", "method": "card"}
        roll = rng.random()
        if roll < 0.4:
            self._scripted = "approved"
            return pay
        script: Event = {"cmd": "sim", "action": "terminal.next"}
        if roll < 0.55:  # the terminal takes 10 ms: a wider window to be killed mid-charge
            self._scripted, script["outcome"], script["delay_s"] = "approved", "approved", 0.01
        elif roll < 0.67:
            self._scripted, script["outcome"] = "declined", "declined"
        elif roll < 0.8:
            self._scripted, script["outcome"], script["delay_s"] = "timeout", "timeout", 0
        elif roll < 0.92:  # approved at the terminal after the kiosk gave up waiting
            self._scripted, script["outcome"], script["delay_s"] = "late", "approved", 0.05
        else:
            self._scripted, script["outcome"] = "disconnected", "disconnected"
        self.queue = [pay]
        return script

    def _tender(self, remaining: int) -> int:
        roll = self.rng.random()
        if roll < 0.1 and remaining >= 20:
            return remaining // 2  # split tender: the rest is paid another way
        if roll < 0.5:
            return -(-remaining // 10) * 10  # exact after cash rounding
        return (remaining // 10000 + 1) * 10000  # a banknote


# --------------------------------------------------------------------------- the store
@dataclass(frozen=True)
class Intent:
    sale_id: str
    method: str
    amount: int
    status: str


@dataclass
class StoreFacts:
    """What kiosk.db holds, read on a read-only connection."""

    problems: list[str]
    sales: dict[str, tuple[int, str, int, int]]  # sale_id -> (seq, receipt_no, due, paid)
    sales_per_id: Counter[str]
    lines: dict[int, list[tuple[int, str, Decimal, int]]]  # seq -> (line, sku, qty, amount)
    tenders: list[tuple[int, str, str, int]]  # (seq, type, intent_id, amount)
    intents: dict[str, Intent]
    journal: dict[int, str]  # seq -> hash
    outbox: set[int]
    snapshot: Mapping[str, Any]


def read_store(path: Path, *, full: bool) -> StoreFacts:
    """Read kiosk.db; with ``full`` also run check_db and verify_chain over the outbox. A file
    that cannot be read is a Violation."""
    try:
        return _read_store(path, full)
    except (StoreError, sqlite3.Error, ValueError) as exc:
        raise Violation([f"{path} cannot be read: {exc}"]) from exc


def _read_store(path: Path, full: bool) -> StoreFacts:
    db = open_db(path, read_only=True)
    conn = db.conn
    try:
        problems: list[str] = []
        if full:
            report = check_db(db)
            problems += [f"kiosk db check: {p}" for p in report.problems]
            payloads = [
                json.loads(p) for (p,) in conn.execute("SELECT payload FROM outbox ORDER BY seq")
            ]
            problems += [f"verify_chain: {p}" for p in verify_chain(payloads)]
        rows = conn.execute("SELECT sale_id, seq, receipt_no, due, paid FROM sales").fetchall()
        lines: dict[int, list[tuple[int, str, Decimal, int]]] = defaultdict(list)
        for seq, line_no, sku, qty, amount in conn.execute(
            "SELECT seq, line_no, sku, qty, amount FROM sale_lines ORDER BY seq, line_no"
        ):
            lines[seq].append((line_no, sku, Decimal(qty), amount))
        (snapshot,) = conn.execute("SELECT snapshot FROM lane WHERE id = 1").fetchone()
        return StoreFacts(
            problems=problems,
            sales={r[0]: (r[1], r[2], r[3], r[4]) for r in rows},
            sales_per_id=Counter(r[0] for r in rows),
            lines=dict(lines),
            tenders=conn.execute(
                "SELECT seq, type, intent_id, amount FROM sale_tenders"
            ).fetchall(),
            intents={
                r[0]: Intent(*r[1:])
                for r in conn.execute(
                    "SELECT intent_id, sale_id, method, amount, status FROM payment_intents"
                )
            },
            journal=dict(conn.execute("SELECT seq, hash FROM journal").fetchall()),
            outbox={r[0] for r in conn.execute("SELECT seq FROM outbox")},
            snapshot=json.loads(snapshot) if snapshot else {},
        )
    finally:
        conn.close()


# --------------------------------------------------------------------------- what was acknowledged
@dataclass
class Ledger:
    """What the lane acknowledged over one database's lifetime."""

    ack: Event | None = None  # the last view the lane answered with
    inflight: Event | None = None  # the command written when it was killed, answer not seen
    inflight_events: list[Event] = field(default_factory=list)  # what it wrote of that answer
    reported: dict[str, Event] = field(default_factory=dict)  # sale_id -> sale_completed
    baskets: dict[str, list[Event]] = field(default_factory=dict)  # sale_id -> last lines seen

    def note(self, events: Sequence[Event]) -> list[str]:
        """Record the sales among acknowledged events; a sale reported twice is a problem."""
        problems = []
        for event in events:
            if event["event"] == "sale_completed":
                earlier = self.reported.get(event["sale_id"])
                if earlier is not None:
                    problems.append(
                        f"sale {event['sale_id']} reported complete twice (seq {earlier['seq']} "
                        f"and {event['seq']})"
                    )
                self.reported[event["sale_id"]] = event
        return problems

    def killed(self, drained: Sequence[Event], at_start: bool = False) -> list[str]:
        """Take in what a killed lane had written: the in-flight command's answer when its view
        line is there, else the part of it that was written (or, ``at_start``, restore output)."""
        if (
            not at_start
            and self.inflight is not None
            and any(e["event"] == "view" for e in drained)
        ):
            return self.accept(drained)
        if self.inflight is not None and not at_start:
            self.inflight_events = list(drained)
        return self.note(drained)

    def accept(self, events: Sequence[Event]) -> list[str]:
        """A whole answer (ending with its view) was acknowledged."""
        problems = self.note(events)
        view = events[-1]
        self.ack, self.inflight, self.inflight_events = view, None, []
        if view["sale_id"]:
            self.baskets[view["sale_id"]] = view["lines"]
        return problems


def sold_lines(lines: Sequence[Event]) -> list[tuple[int, str, Decimal, int]]:
    return [
        (ln["line"], ln["sku"], Decimal(ln["qty"]), ln["amount"])
        for ln in lines
        if not ln["voided"]
    ]


def view_problems(view: Event, where: str) -> list[str]:
    """Totals agree with the lines and tenders (tax-inclusive demo store)."""
    totals = view["totals"]
    active = [ln for ln in view["lines"] if not ln["voided"]]
    figures = {
        "gross": (sum(ln["gross"] for ln in active), totals["gross"]),
        "due": (sum(ln["amount"] for ln in active) + totals["cash_rounding"], totals["due"]),
        "paid": (sum(t["amount"] for t in view["tenders"]), totals["paid"]),
        "remaining": (totals["due"] - totals["paid"], totals["remaining"]),
    }
    return [
        f"{where}: totals.{name} is {shown} but the lines and tenders give {summed}"
        for name, (summed, shown) in figures.items()
        if summed != shown
    ]


def store_problems(facts: StoreFacts, ledger: Ledger) -> list[str]:
    """Sales and payments in kiosk.db against what the lane acknowledged."""
    problems = list(facts.problems)
    problems += [
        f"sale {sid} is in the sales table {n} times"
        for sid, n in facts.sales_per_id.items()
        if n > 1
    ]
    for sid, event in ledger.reported.items():
        row = facts.sales.get(sid)
        if row is None:
            problems.append(
                f"sale {sid} was reported complete (seq {event['seq']}, {event['receipt_no']}) "
                "but is not in the sales table"
            )
            continue
        seq, receipt_no, _, _ = row
        if (seq, receipt_no) != (event["seq"], event["receipt_no"]):
            problems.append(
                f"sale {sid} was reported as seq {event['seq']} {event['receipt_no']} but is "
                f"recorded as seq {seq} {receipt_no}"
            )
        if facts.journal.get(seq) != event["hash"]:
            problems.append(f"seq {seq}: journal hash differs from the reported {event['hash']}")
        if seq not in facts.outbox:
            problems.append(f"seq {seq}: reported sale has no outbox row")
    for sid, (seq, _, _, _) in facts.sales.items():
        basket = ledger.baskets.get(sid)
        if basket is None:
            problems.append(f"seq {seq} records sale {sid}, which the lane never showed")
        elif sold_lines(basket) != facts.lines.get(seq, []):
            problems.append(
                f"seq {seq}: recorded lines {facts.lines.get(seq, [])} are not the acknowledged "
                f"basket {sold_lines(basket)}"
            )
    return problems + payment_problems(facts)


def payment_problems(facts: StoreFacts) -> list[str]:
    """No payment counted twice, none taken without being counted."""
    problems = [
        f"intent {intent} is a tender {n} times"
        for intent, n in Counter(t[2] for t in facts.tenders).items()
        if n > 1
    ]
    sale_of_seq = {row[0]: sid for sid, row in facts.sales.items()}
    counted: dict[str, set[str]] = defaultdict(set)
    paid: Counter[int] = Counter()
    for seq, kind, intent_id, amount in facts.tenders:
        sid = sale_of_seq.get(seq, "?")
        counted[sid].add(intent_id)
        paid[seq] += amount
        intent = facts.intents.get(intent_id)
        if intent != Intent(sid, kind, amount, "approved"):
            problems.append(
                f"seq {seq}: tender {kind} {amount} of intent {intent_id} does not match its "
                f"recorded intent {intent}"
            )
    for seq, _, due, sale_paid in facts.sales.values():
        if not paid[seq] == sale_paid == due:
            problems.append(f"seq {seq}: tenders {paid[seq]}, paid {sale_paid}, due {due}")
    snap = facts.snapshot
    basket_intents = {t["intent_id"]: t for t in snap.get("tenders", [])}
    for intent_id, intent in facts.intents.items():
        if intent.status != "approved":
            continue
        if intent.sale_id in facts.sales:
            if intent_id not in counted[intent.sale_id]:
                problems.append(
                    f"approved intent {intent_id} ({intent.method} {intent.amount}) is not a "
                    f"tender of its sale seq {facts.sales[intent.sale_id][0]}"
                )
        elif snap.get("sale_id") != intent.sale_id or intent_id not in basket_intents:
            problems.append(
                f"approved intent {intent_id} ({intent.method} {intent.amount}) belongs to sale "
                f"{intent.sale_id}, which is neither recorded nor the open basket: money taken "
                "for no sale"
            )
    for intent_id in basket_intents:
        intent = facts.intents.get(intent_id)
        if intent is None or intent.status != "approved" or intent.sale_id != snap.get("sale_id"):
            problems.append(f"the open basket counts intent {intent_id}, recorded as {intent}")
    return problems


def restore_problems(ledger: Ledger, view: Event, facts: StoreFacts, codes: Codes) -> list[str]:
    """The view after a restart against the view acknowledged before the kill."""
    before, command = ledger.ack, ledger.inflight
    cmd = command["cmd"] if command and command["cmd"] not in NEUTRAL else None
    problems = view_problems(view, "restored view")
    if view["mode"] == "out_of_service":
        problems.append(f"restored lane is out of service: {view['out_of_service']}")
    problems += unknown_payment_problems(view, facts)
    if view["mode"] == "paying" and view["totals"]["remaining"] <= 0:
        problems.append(
            f"restored sale {view['sale_id']} is fully paid ({view['totals']['paid']}) but not "
            "recorded, and the lane offers no way to complete it"
        )
    for event in ledger.inflight_events:
        if event["event"] == "item_added" and not any(
            ln["line"] == event["line"] and ln["sku"] == event["sku"] for ln in view["lines"]
        ):
            problems.append(f"line {event['line']} ({event['sku']}) was reported added but is lost")
    if before is not None and cmd not in MODE_CHANGERS and view["mode"] != before["mode"]:
        problems.append(f"mode {before['mode']} became {view['mode']} with {cmd} in flight")
    if before is None or before["mode"] not in ("scanning", "paying"):
        if view["sale_id"] is not None:
            problems += new_sale_problems(view, facts, command, codes)
        elif view["lines"]:
            problems.append(f"lines {view['lines']} appeared without a sale")
        return problems
    open_sale = before["sale_id"]
    if open_sale in facts.sales:
        if cmd not in PAYERS:
            problems.append(f"sale {open_sale} was recorded with {cmd} in flight")
        if view["mode"] != "complete" or view["lines"]:
            problems.append(f"sale {open_sale} is recorded but the lane shows {view['mode']}")
        return problems
    if view["sale_id"] != open_sale:
        if not (cmd == "cancel_sale" and view["sale_id"] is None and not view["lines"]):
            problems.append(f"open sale {open_sale} came back as {view['sale_id']}")
        return problems
    problems += line_problems(before["lines"], view["lines"], command, codes)
    kept = Counter((t["type"], t["amount"]) for t in before["tenders"])
    now = Counter((t["type"], t["amount"]) for t in view["tenders"])
    if kept - now:
        problems.append(f"acknowledged tenders {dict(kept - now)} lost")
    if now - kept and cmd not in PAYERS:
        problems.append(f"tenders {dict(now - kept)} appeared with {cmd} in flight")
    if cmd not in CLOSERS:
        still = {i["intervention"] for i in view["interventions"]}
        lost = [i["reason"] for i in before["interventions"] if i["intervention"] not in still]
        if lost:
            problems.append(f"open interventions {lost} lost with {cmd} in flight")
    return problems


def unknown_payment_problems(view: Event, facts: StoreFacts) -> list[str]:
    """Each intent of unknown outcome is shown once as payment_unknown, and only those are."""
    shown = Counter(
        str(i["detail"].get("intent"))
        for i in view["interventions"]
        if i["reason"] == "payment_unknown"
    )
    problems = []
    for intent_id, intent in facts.intents.items():
        if intent.status in ("pending", "unknown") and shown[intent_id] != 1:
            problems.append(
                f"intent {intent_id} ({intent.method} {intent.amount}) is {intent.status} after "
                f"restart but shown {shown[intent_id]} times as payment_unknown"
            )
    for intent_id in shown:
        found = facts.intents.get(intent_id)
        if found is None or found.status not in ("pending", "unknown"):
            problems.append(
                f"payment_unknown is open for intent {intent_id} recorded as "
                f"{found.status if found else 'missing'}: resolving it again could count it twice"
            )
    return problems


def expected_sku(command: Event | None, codes: Codes) -> str | None:
    if command is None or command["cmd"] != "scan":
        return None
    return codes.sku_of.get(command["code"])


def new_sale_problems(
    view: Event, facts: StoreFacts, command: Event | None, codes: Codes
) -> list[str]:
    sku = expected_sku(command, codes)
    if command is None or command["cmd"] != "scan":
        return [f"sale {view['sale_id']} appeared with {command} in flight"]
    if view["sale_id"] in facts.sales:
        return [f"a sale started by a scan in flight is already recorded: {view['sale_id']}"]
    lines = [(ln["line"], ln["sku"]) for ln in view["lines"]]
    if lines not in ([], [(1, sku)]):
        return [f"a new sale started by scanning {command['code']} holds {lines}"]
    return []


def line_problems(
    before: Sequence[Event], after: Sequence[Event], command: Event | None, codes: Codes
) -> list[str]:
    """Acknowledged lines all kept; changed or added only as the in-flight command could."""
    cmd = command["cmd"] if command else None
    sku = expected_sku(command, codes)
    old = {ln["line"]: ln for ln in before}
    new = {ln["line"]: ln for ln in after}
    problems = [f"acknowledged line {n} ({old[n]['sku']}) lost" for n in old if n not in new]
    scan_effects = 0
    for n in sorted(set(old) & set(new)):
        a, b = old[n], new[n]
        if (a["sku"], a["unit_price"]) != (b["sku"], b["unit_price"]) or (
            a["voided"] and not b["voided"]
        ):
            problems.append(f"line {n} changed from {a} to {b}")
            continue
        if Decimal(b["qty"]) != Decimal(a["qty"]):
            if sku == a["sku"] and Decimal(b["qty"]) == Decimal(a["qty"]) + 1:
                scan_effects += 1
            else:
                problems.append(
                    f"line {n} qty {a['qty']} came back as {b['qty']} with {cmd} in flight"
                )
        if b["voided"] and not a["voided"] and cmd not in ("void_line", "remove_line", "clear"):
            problems.append(f"line {n} ({a['sku']}) came back voided with {cmd} in flight")
    for n in sorted(set(new) - set(old)):
        if sku is None or new[n]["sku"] != sku or n != max(old, default=0) + 1:
            problems.append(
                f"line {n} ({new[n]['sku']}) was never acknowledged and {command} could not add it"
            )
        scan_effects += 1
    if scan_effects > 1:
        problems.append(f"one scan in flight ({command}) changed {scan_effects} lines")
    return problems


def stderr_tail(folder: Path, lines: int = 4) -> list[str]:
    """The last lines the lane wrote to its stderr log in ``folder``."""
    log = folder / "lane-stderr.log"
    text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
    return [f"stderr: {line}" for line in text]


# --------------------------------------------------------------------------- the run
@dataclass
class Summary:
    """Counts of one crash run; ``violations`` must be empty."""

    seeds: list[int]
    kills: int = 0
    kills_by_kind: Counter[str] = field(default_factory=Counter)
    lives: int = 0
    commands: int = 0
    sales_reported: int = 0
    sales_recorded: int = 0
    baskets_restored: int = 0
    unknown_payments: int = 0
    databases: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def combine(cls, parts: Sequence[Summary]) -> Summary:
        """Several runs (side by side) as one: counts added, the longest time."""
        total = cls([])
        for part in parts:
            for name in ("kills", "lives", "commands", "sales_reported", "sales_recorded"):
                setattr(total, name, getattr(total, name) + getattr(part, name))
            total.seeds += part.seeds
            total.baskets_restored += part.baskets_restored
            total.unknown_payments += part.unknown_payments
            total.databases += part.databases
            total.kills_by_kind += part.kills_by_kind
            total.errors += part.errors
            total.violations += part.violations
            total.seconds = max(total.seconds, part.seconds)
        return total

    def line(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.kills_by_kind.items()))
        seeds = ", ".join(map(str, self.seeds))
        return (
            f"crash run, seed {seeds}: {self.kills} kills ({kinds}) in {self.seconds:.1f} s; "
            f"{self.lives} lives, {self.commands} commands answered, {self.sales_reported} sales "
            f"reported ({self.sales_recorded} recorded), {self.baskets_restored} baskets "
            f"restored, {self.unknown_payments} unknown payments surfaced, {self.databases} "
            f"database(s), {len(self.violations)} violation(s)"
            + (f"; error answers {dict(self.errors)}" if self.errors else "")
        )


class CrashRun:
    """Kill the lane ``kills`` times and check each time (see the module docstring).

    ``template`` is a folder made by ``make_template``; each database lifetime works on a copy
    of it under ``work``. ``kills_per_db`` starts a fresh copy after that many kills (bounds the
    cost of the full check in long soaks). ``max_violations`` stops a run that keeps failing.
    """

    def __init__(
        self,
        template: Path,
        work: Path,
        *,
        seed: int,
        kills: int,
        kills_per_db: int | None = None,
        max_violations: int = 20,
        progress: Callable[[Summary], None] | None = None,
    ) -> None:
        self.template = template
        self.work = work
        self.kills = kills
        self.kills_per_db = kills_per_db
        self.max_violations = max_violations
        self.progress = progress
        self.rng = random.Random(seed)
        self.codes = Codes.load()
        self.shopper = Shopper(self.rng, self.codes)
        self.seed = seed
        self.summary = Summary([seed])
        self.argv = kiosk_argv()
        self.latency: dict[str, float] = {}
        self.first_output: float | None = None
        self.proc: LaneProcess | None = None
        self.folder = work
        self.ledger = Ledger()
        self.log: list[Event] = []
        self.db_kills = 0
        self.db_recorded = 0
        self.db_lives = 0
        self.broken = False
        self.dead = False

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> Summary:
        started = time.monotonic()
        try:
            self._new_database()
            while self.summary.kills < self.kills and not self._too_many():
                full = bool(self.kills_per_db and self.db_kills >= self.kills_per_db)
                if full and not self.broken:
                    self._guarded(self._final_life)
                if full or self.broken:
                    self._new_database()
                self._guarded(self._life)
                if self.progress is not None:
                    self.summary.seconds = time.monotonic() - started
                    self.progress(self.current())
            if not self.broken:
                self._guarded(self._final_life)
            self._account()
        finally:
            self._close()
            self.summary.seconds = time.monotonic() - started
        return self.summary

    def _too_many(self) -> bool:
        """Enough failures, or the lane cannot even start on a fresh database."""
        return len(self.summary.violations) >= self.max_violations or self.dead

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except (Violation, LaneFault) as exc:
            if isinstance(exc, Violation):
                problems = exc.problems
            else:
                problems = [f"lane fault: {exc}", *stderr_tail(self.folder)]
                self.dead = self.db_lives <= 1
            self.summary.violations.append(self._describe(problems))
            self._close()
            self.broken = True  # the next life starts on a fresh copy

    def _describe(self, problems: Sequence[str]) -> str:
        recent = "\n    ".join(json.dumps(c, ensure_ascii=False) for c in self.log[-12:])
        drained = [e["event"] for e in self.ledger.inflight_events]
        return (
            f"seed {self.seed}, database {self.folder.name}, life {self.summary.lives}, "
            f"kill {self.summary.kills}:\n  - "
            + "\n  - ".join(problems)
            + f"\n  in flight: {json.dumps(self.ledger.inflight, ensure_ascii=False)}"
            f" (answer lines seen: {drained})\n  last commands:\n    {recent}"
        )

    def _new_database(self) -> None:
        self._account()
        self.summary.databases += 1
        self.folder = self.work / f"db-{self.summary.databases:04d}"
        shutil.copytree(self.template, self.folder)
        self.ledger = Ledger()
        self.db_kills = 0
        self.db_lives = 0
        self.broken = False

    def _account(self) -> None:
        """Add the finished database's sales to the summary."""
        self.summary = self.current()
        self.ledger.reported.clear()
        self.db_recorded = 0

    def current(self) -> Summary:
        """The summary so far, with the sales of the database in use."""
        return replace(
            self.summary,
            sales_reported=self.summary.sales_reported + len(self.ledger.reported),
            sales_recorded=self.summary.sales_recorded + self.db_recorded,
        )

    def _full_check(self) -> list[str]:
        facts = read_store(self.folder / "kiosk.db", full=True)
        self.db_recorded = len(facts.sales)
        return store_problems(facts, self.ledger)

    def _close(self) -> None:
        if self.proc is not None:
            self.proc.close()
            self.proc = None

    # -- one life ---------------------------------------------------------------------------
    def _spawn(self) -> LaneProcess:
        self.summary.lives += 1
        self.db_lives += 1
        self.shopper.new_life()
        self.proc = LaneProcess(
            [*self.argv, "sim", "--config", str(self.folder / "kiosk.toml"), "--json"],
            self.folder / "lane-stderr.log",
        )
        return self.proc

    def _restart(self) -> LaneProcess:
        """Start the lane, read its restore events and first view, check them."""
        proc = self._spawn()
        restored = proc.read_through("ready", READY_TIMEOUT_S)
        if proc.first_output is not None:
            self.first_output = (
                proc.first_output
                if self.first_output is None
                else 0.8 * self.first_output + 0.2 * proc.first_output
            )
        proc.send({"cmd": "view"})
        view = proc.read_through("view", ANSWER_TIMEOUT_S)[-1]
        facts = read_store(self.folder / "kiosk.db", full=False)
        problems = self.ledger.note(restored)
        problems += restore_problems(self.ledger, view, facts, self.codes)
        if any(e["event"] == "basket_restored" for e in restored):
            self.summary.baskets_restored += 1
        self.summary.unknown_payments += sum(
            1
            for e in restored
            if e["event"] == "intervention_opened" and e["reason"] == "payment_unknown"
        )
        if problems:
            raise Violation(problems)
        self.ledger.accept([view])
        return proc

    def _life(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.08 and self.first_output is not None:
            proc = self._spawn()
            time.sleep(max(0.0, self.first_output - rng.uniform(0.0, 0.03)))
            self._kill(proc, "start")
            return
        proc = self._restart()
        for _ in range(rng.randint(0, 7)):
            self._do(proc, self.shopper.next(self.ledger.ack or {}))
        if roll < 0.65:
            command = self.shopper.next(self.ledger.ack or {})
            self.log.append(command)
            self.ledger.inflight = command
            proc.send(command)
            time.sleep(self._mid_delay(command["cmd"]))
            self._kill(proc, "mid-command")
        else:
            time.sleep(rng.choice((0.0, rng.uniform(0.0, 0.005))))
            self._kill(proc, "between")

    def _final_life(self) -> None:
        """Restart once more after the last kill, check, stop cleanly, check again."""
        proc = self._restart()
        code = proc.finish(ANSWER_TIMEOUT_S)
        self._close()
        problems = [f"the lane exited with code {code} at end of input"] if code else []
        problems += self._full_check()
        if problems:
            raise Violation(problems)

    def _mid_delay(self, name: str) -> float:
        took = self.latency.get(name)
        if took is not None and self.rng.random() < 0.5:
            return self.rng.uniform(0.0, 1.2 * took)
        return 10 ** self.rng.uniform(math.log10(2e-5), math.log10(3e-2))

    def _do(self, proc: LaneProcess, command: Event) -> None:
        self.log.append(command)
        sent = time.monotonic()
        proc.send(command)
        events = proc.read_through("view", ANSWER_TIMEOUT_S)
        took = time.monotonic() - sent
        name = command["cmd"]
        self.latency[name] = (
            took if name not in self.latency else 0.8 * self.latency[name] + 0.2 * took
        )
        self.summary.commands += 1
        self.shopper.saw(events)
        problems = []
        for event in events:
            if event["event"] == "error":
                self.summary.errors[event["code"]] += 1
                if event["code"] == "storage":
                    problems.append(f"{name} answered a storage error: {event['message']}")
        problems += self.ledger.accept(events)
        problems += view_problems(events[-1], f"view after {name}")
        if problems:
            raise Violation(problems)

    def _kill(self, proc: LaneProcess, kind: str) -> None:
        drained = proc.kill()
        code = proc.proc.returncode
        self._close()
        self.summary.kills += 1
        self.summary.kills_by_kind[kind] += 1
        self.db_kills += 1
        problems = [] if code == -signal.SIGKILL else [f"the lane exited by itself ({code})"]
        self.shopper.saw(drained)
        problems += self.ledger.killed(drained, at_start=kind == "start")
        problems += self._full_check()
        if problems:
            raise Violation(problems)


# --------------------------------------------------------------------------- kill points
# ``python -c KILL_AT_WRITE N before|after sim ...``: the kiosk CLI, with every write method of
# the lane store counted; the process SIGKILLs itself just before or just after the N-th call.
KILL_AT_WRITE = """
import os, signal, sys
from kiosk.cli import main
from kiosk.store.lane_store import SqliteLaneStore
target, when = int(sys.argv[1]), sys.argv[2]
calls = [0]
def counted(original):
    def write(self, *args, **kwargs):
        calls[0] += 1
        mine = calls[0]
        if mine == target and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(self, *args, **kwargs)
        if mine == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return result
    return write
for name in WRITES:
    setattr(SqliteLaneStore, name, counted(getattr(SqliteLaneStore, name)))
sys.argv = ["kiosk", *sys.argv[3:]]
sys.exit(main())
"""
WRITES = ("boot", "save_lane", "record_intent", "update_intent", "complete_sale", "record_audit")


def check_kill_point(
    template: Path, folder: Path, script: Sequence[Event], call: int, when: str
) -> tuple[bool, list[str]]:
    """Run ``script`` on a copy of ``template`` in a lane that kills itself just ``when``
    ("before" or "after") its ``call``-th lane-store write, restart it and run every check.
    Returns (whether it was killed, problems); not killed means the script has fewer writes."""
    shutil.copytree(template, folder)
    config = str(folder / "kiosk.toml")
    ledger = Ledger()
    code = KILL_AT_WRITE.replace("WRITES", repr(WRITES))
    proc = LaneProcess(
        [sys.executable, "-c", code, str(call), when, "sim", "--config", config, "--json"],
        folder / "lane-stderr.log",
    )
    try:
        try:
            ledger.note(proc.read_through("ready", READY_TIMEOUT_S))
            for command in [{"cmd": "view"}, *script]:
                ledger.inflight = command
                proc.send(command)
                ledger.accept(proc.read_through("view", ANSWER_TIMEOUT_S))
            proc.finish(ANSWER_TIMEOUT_S)
            return False, []
        except LaneFault as exc:
            drained = exc.events + proc.kill()
        if proc.proc.returncode != -signal.SIGKILL:
            exit_code = proc.proc.returncode
            return True, [f"the lane exited with {exit_code}, not SIGKILL", *stderr_tail(folder)]
    finally:
        proc.close()
    problems = ledger.killed(drained)
    problems += store_problems(read_store(folder / "kiosk.db", full=True), ledger)
    lane = LaneProcess(
        [*kiosk_argv(), "sim", "--config", config, "--json"], folder / "lane-stderr.log"
    )
    try:
        problems += ledger.note(lane.read_through("ready", READY_TIMEOUT_S))
        lane.send({"cmd": "view"})
        view = lane.read_through("view", ANSWER_TIMEOUT_S)[-1]
        facts = read_store(folder / "kiosk.db", full=False)
        problems += restore_problems(ledger, view, facts, Codes.load())
        ledger.accept([view])
        if lane.finish(ANSWER_TIMEOUT_S) != 0:
            problems.append("the restarted lane did not stop cleanly")
    except LaneFault as exc:
        return True, [*problems, f"lane fault after restart: {exc}", *stderr_tail(folder)]
    finally:
        lane.close()
    problems += store_problems(read_store(folder / "kiosk.db", full=True), ledger)
    return True, problems

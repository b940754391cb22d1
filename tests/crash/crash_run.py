"""``CrashRun``: SIGKILL ``kiosk sim --json`` again and again at random moments, restart it and
check each time; ``Summary`` counts what one or several runs did.

One *life* of the lane: start it, read its restore events and ``ready``, ask for the view and
check the restored state, send a few commands chosen by the seeded ``Shopper`` (reading each
answer up to its ``view`` line), then SIGKILL it in one of three ways:

- ``between``: after a whole answer, after a random delay of 0 to 5 ms;
- ``mid``: write one more command, wait a random delay (log-uniform 20 µs to 30 ms, or uniform
  over that command's measured duration) and kill without reading the answer;
- ``start``: during start-up, shortly before its first output (where restore writes).

After a kill the pipe is drained: every complete line the lane had written counts as
acknowledged, a partial last line does not. Then the store checks run on the files as the kill
left them, and after the restart the restore checks (tests/crash/checks.py).

A failed check is a ``Violation``: the run records it with the seed, the in-flight command and
the recent command log, starts a fresh copy of the database and goes on, so one run reports
every kind of problem it meets.

Runs in the calling thread (the pytest thread or its pool threads, the soak CLI's main thread).
A ``CrashRun`` owns at most one child process at a time, so several runs can go side by side in
threads; every child is killed and reaped on the way out, also when a check or the harness
itself fails.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.crash.checks import restore_problems, store_problems, view_problems
from tests.crash.faults import Event, LaneFault, Violation
from tests.crash.lane_process import (
    ANSWER_TIMEOUT_S,
    READY_TIMEOUT_S,
    LaneProcess,
    kiosk_argv,
    stderr_tail,
)
from tests.crash.ledger import Ledger
from tests.crash.shopper import Codes, Shopper
from tests.crash.store_facts import read_store


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

"""Crash test (issue 2): SIGKILL ``kiosk sim --json`` 200 times at random moments, restart it and
check that everything it acknowledged survived (tests/crash/harness.py says what is checked).

- 200 random kills: two lanes side by side (one per core), 100 kills each, on their own copies
  of the demo database; a summary line is printed.
- Kill points: a scripted sale (age check, an unknown card payment rejected, a late approval
  confirmed, cash) killed just before and just after each of its lane-store writes in turn,
  restarted and checked the same way: every durable step boundary, deterministically.
- The harness's own checks catch what they are meant to catch, on real lane output and real
  kiosk.db files, so that a passing crash run means something.

Seed: ``KIOSK_CRASH_SEED`` (default below); the summary line names it. Kill delays are real time,
so a seed fixes the shopper's choices, not the exact kill points.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.crash import soak
from tests.crash.harness import (
    ANSWER_TIMEOUT_S,
    READY_TIMEOUT_S,
    Codes,
    CrashRun,
    LaneProcess,
    Ledger,
    Summary,
    check_kill_point,
    kiosk_argv,
    make_template,
    read_store,
    restore_problems,
    store_problems,
)

KILLS = 200
SEED = int(os.environ.get("KIOSK_CRASH_SEED", "20240602"))
LANES = 2
WATER, CHIPS, BEER = "6921168509256", "6918473200565", "6935284410013"
SCRIPT: list[dict[str, Any]] = [
    {"cmd": "scan", "code": WATER},
    {"cmd": "scan", "code": BEER},
    {"cmd": "staff_login", "badge": "ST0001"},
    {"cmd": "clear", "intervention": "age_check", "resolution": "approve"},
    {"cmd": "sim", "action": "terminal.next", "outcome": "timeout", "delay_s": 0},
    {"cmd": "pay", "method": "card"},
    {"cmd": "clear", "intervention": "payment_unknown", "resolution": "reject"},
    {"cmd": "sim", "action": "terminal.next", "outcome": "approved", "delay_s": 0.05},
    {"cmd": "pay", "method": "card"},
    {"cmd": "clear", "intervention": "payment_unknown", "resolution": "approve", "ref": "T-1"},
    {"cmd": "scan", "code": CHIPS},
    {"cmd": "pay", "method": "cash"},
    {"cmd": "cash", "tendered": 10000},
]


@pytest.fixture(scope="session")
def lane_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``kiosk demo init`` once per session, with a 20 ms terminal timeout."""
    folder = tmp_path_factory.mktemp("crash") / "template"
    make_template(folder)
    return folder


@pytest.fixture
def lane_copy(lane_template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "lane"
    shutil.copytree(lane_template, folder)
    return folder


@pytest.fixture
def lane(lane_copy: Path) -> Iterator[LaneProcess]:
    proc = LaneProcess(
        [*kiosk_argv(), "sim", "--config", str(lane_copy / "kiosk.toml"), "--json"],
        lane_copy / "lane-stderr.log",
    )
    try:
        proc.read_through("ready", READY_TIMEOUT_S)
        yield proc
    finally:
        proc.close()


def ask(proc: LaneProcess, command: dict[str, Any]) -> list[dict[str, Any]]:
    proc.send(command)
    return proc.read_through("view", ANSWER_TIMEOUT_S)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_loses_nothing_acknowledged_at_200_random_moments(
    lane_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = [
        CrashRun(lane_template, tmp_path / f"lane-{n}", seed=SEED + n, kills=KILLS // LANES)
        for n in range(LANES)
    ]
    with ThreadPoolExecutor(LANES) as pool:
        summary = Summary.combine(list(pool.map(CrashRun.run, runs)))
    with capsys.disabled():
        print(f"\n{summary.line()}")
    assert not summary.violations, "\n\n".join(summary.violations)
    assert summary.kills == KILLS
    kinds = summary.kills_by_kind
    assert kinds["mid-command"] >= 80 and kinds["between"] >= 30 and kinds["start"] >= 3, kinds
    assert summary.sales_reported >= 20, summary.line()
    assert summary.baskets_restored >= 20, summary.line()
    assert summary.errors["storage"] == 0, summary.errors


def test_kill_reaps_the_lane_mid_answer(lane: LaneProcess) -> None:
    ask(lane, {"cmd": "scan", "code": WATER})
    lane.send({"cmd": "scan", "code": CHIPS})
    first = lane.read_event(ANSWER_TIMEOUT_S)
    drained = lane.kill()  # the view line may or may not have been written yet
    assert first is not None and first["event"] == "item_added"
    assert [e["event"] for e in drained] in ([], ["view"])
    assert lane.proc.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(lane.proc.pid, 0)  # reaped: not even a zombie is left


def test_kill_returns_every_line_written_before_it(lane: LaneProcess) -> None:
    lane.send({"cmd": "scan", "code": CHIPS})
    assert lane.proc.stdin is not None
    lane.proc.stdin.close()  # the lane answers, then stops at end of input
    assert lane.proc.wait(ANSWER_TIMEOUT_S) == 0
    events = [e["event"] for e in lane.kill()]
    assert events == ["sale_started", "item_added", "view"]


def test_restart_check_flags_a_lost_line_and_a_line_never_scanned(
    lane: LaneProcess, lane_copy: Path
) -> None:
    ledger = Ledger()
    ask(lane, {"cmd": "scan", "code": WATER})
    ledger.accept(ask(lane, {"cmd": "scan", "code": CHIPS}))
    db = lane_copy / "kiosk.db"
    view = ask(lane, {"cmd": "view"})[-1]
    facts = read_store(db, full=False)
    codes = Codes.load()
    assert restore_problems(ledger, view, facts, codes) == []
    lost = {**view, "lines": view["lines"][:1]}
    lost["totals"] = {**view["totals"], "gross": 200, "due": 200, "remaining": 200}
    assert any("line 2" in p and "lost" in p for p in restore_problems(ledger, lost, facts, codes))
    extra_line = {**view["lines"][0], "line": 3}
    invented = {**view, "lines": [*view["lines"], extra_line]}
    found = restore_problems(ledger, invented, facts, codes)
    assert any("line 3" in p and "never acknowledged" in p for p in found)
    ledger.inflight = {"cmd": "scan", "code": WATER}  # a scan in flight may add that line
    totals = {**view["totals"], "gross": 1050, "due": 1050, "remaining": 1050}
    scanned = {**view, "lines": [*view["lines"], extra_line], "totals": totals}
    assert restore_problems(ledger, scanned, facts, codes) == []


def test_store_check_flags_a_reported_sale_that_is_gone(lane: LaneProcess, lane_copy: Path) -> None:
    ledger = Ledger()
    ledger.accept(ask(lane, {"cmd": "scan", "code": WATER}))
    answer = ask(lane, {"cmd": "pay", "method": "card"})
    assert any(e["event"] == "sale_completed" for e in answer)
    ledger.accept(answer)
    lane.finish(ANSWER_TIMEOUT_S)
    db = lane_copy / "kiosk.db"
    assert store_problems(read_store(db, full=True), ledger) == []
    with sqlite3.connect(db) as conn:  # what a lost commit would look like
        for table in ("sale_tenders", "sale_lines", "sales", "outbox", "journal"):
            conn.execute(f"DELETE FROM {table}")
    conn.close()
    problems = store_problems(read_store(db, full=True), ledger)
    assert any("reported complete" in p and "not in the sales table" in p for p in problems)
    assert any("neither recorded nor the open basket" in p for p in problems)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_restart_loses_nothing_when_killed_around_each_store_write(
    lane_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def point(call: int, when: str) -> tuple[bool, list[str]]:
        return check_kill_point(lane_template, tmp_path / f"{call}-{when}", SCRIPT, call, when)

    failures: list[str] = []
    points = 0
    with ThreadPoolExecutor(LANES) as pool:
        for call in itertools.count(1):
            before, after = pool.map(point, [call, call], ["before", "after"])
            if not before[0]:
                break
            for when, (_, problems) in zip(("before", "after"), (before, after), strict=True):
                points += 1
                failures += [f"killed {when} lane-store write {call}: {p}" for p in problems]
    with capsys.disabled():
        print(f"\nkill points: {points} (before and after {points // 2} store writes)")
    assert points >= 30, "the scripted sale should make at least 15 lane-store writes"
    assert not failures, "\n".join(failures)


def test_soak_runs_kills_and_keeps_nothing_when_all_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "soak"
    assert soak.main(["--kills", "3", "--seed", "5", "--dir", str(work)]) == 0
    out = capsys.readouterr().out
    assert "crash run, seed 5: 3 kills" in out and "0 violation(s)" in out
    assert not work.exists()


@pytest.mark.parametrize("option", ["--kills", "--kills-per-db", "--max-violations", "--progress"])
def test_soak_refuses_a_count_below_one(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        soak.main([option, "0"])
    assert exited.value.code == 2
    assert f"{option} must be 1 or more" in capsys.readouterr().err

"""``check_kill_point``: the deterministic companion of ``CrashRun``. A scripted sale runs in a
lane that SIGKILLs itself just before or just after its N-th lane-store write; then the lane is
restarted and the same store and restore checks run (tests/crash/checks.py).

Called from the pytest thread or its pool threads; each call owns its lane processes.
"""

from __future__ import annotations

import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.crash.checks import restore_problems, store_problems
from tests.crash.faults import Event, LaneFault
from tests.crash.lane_process import (
    ANSWER_TIMEOUT_S,
    READY_TIMEOUT_S,
    LaneProcess,
    kiosk_argv,
    stderr_tail,
)
from tests.crash.ledger import Ledger
from tests.crash.shopper import Codes
from tests.crash.store_facts import read_store

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

"""Crash harness for the headless lane: SIGKILL ``kiosk sim --json`` at random moments, restart
it and check that nothing it acknowledged was lost, doubled or invented.

This module is the harness's front door: it says what is checked and re-exports the public names
of the modules that do it, so ``from tests.crash.harness import ...`` keeps working.

- ``faults``: ``Event`` (one JSON line), ``LaneFault`` (the lane process misbehaved),
  ``Violation`` (a check failed);
- ``lane_process``: ``LaneProcess`` (one ``kiosk sim --json`` child: JSON lines in and out,
  SIGKILL, always reaped), ``kiosk_argv``, ``make_template``, ``stderr_tail``, the timeouts;
- ``shopper``: ``Codes`` (what can be scanned) and the seeded ``Shopper``;
- ``store_facts``: ``read_store`` and ``StoreFacts``, what kiosk.db holds after a kill;
- ``ledger``: ``Ledger``, what the lane acknowledged and what was in flight;
- ``checks``: ``store_problems``, ``payment_problems``, ``restore_problems``,
  ``view_problems``, ``unknown_payment_problems`` and their helpers;
- ``crash_run``: ``CrashRun`` (the random-kill loop) and ``Summary``;
- ``kill_points``: ``check_kill_point``, the deterministic kill before or after the N-th
  lane-store write.

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

Runs in the calling thread (the pytest thread or its pool threads, the soak CLI's main thread);
see each module for its own threading note.
"""

from __future__ import annotations

from tests.crash.checks import (
    CLOSERS,
    MODE_CHANGERS,
    NEUTRAL,
    PAYERS,
    expected_sku,
    line_problems,
    new_sale_problems,
    payment_problems,
    restore_problems,
    sold_lines,
    store_problems,
    unknown_payment_problems,
    view_problems,
)
from tests.crash.crash_run import CrashRun, Summary
from tests.crash.faults import Event, LaneFault, Violation
from tests.crash.kill_points import KILL_AT_WRITE, WRITES, check_kill_point
from tests.crash.lane_process import (
    ANSWER_TIMEOUT_S,
    READY_TIMEOUT_S,
    TERMINAL_TIMEOUT_S,
    LaneProcess,
    kiosk_argv,
    make_template,
    stderr_tail,
)
from tests.crash.ledger import Ledger
from tests.crash.shopper import (
    AGE_RESTRICTED,
    ATTENDANT_BADGE,
    NO_LINE,
    PLAIN,
    PLAIN_MORE,
    WALLET_CODE,
    WEIGHED,
    Codes,
    Shopper,
)
from tests.crash.store_facts import Intent, StoreFacts, read_store

__all__ = [
    "AGE_RESTRICTED",
    "ANSWER_TIMEOUT_S",
    "ATTENDANT_BADGE",
    "CLOSERS",
    "KILL_AT_WRITE",
    "MODE_CHANGERS",
    "NEUTRAL",
    "NO_LINE",
    "PAYERS",
    "PLAIN",
    "PLAIN_MORE",
    "READY_TIMEOUT_S",
    "TERMINAL_TIMEOUT_S",
    "WALLET_CODE",
    "WEIGHED",
    "WRITES",
    "Codes",
    "CrashRun",
    "Event",
    "Intent",
    "LaneFault",
    "LaneProcess",
    "Ledger",
    "Shopper",
    "StoreFacts",
    "Summary",
    "Violation",
    "check_kill_point",
    "expected_sku",
    "kiosk_argv",
    "line_problems",
    "make_template",
    "new_sale_problems",
    "payment_problems",
    "read_store",
    "restore_problems",
    "sold_lines",
    "stderr_tail",
    "store_problems",
    "unknown_payment_problems",
    "view_problems",
]

"""Soak run of the crash harness: the crash test of ``make test`` (200 SIGKILLs), many times over.

Run from the repository root::

    .venv/bin/python -m tests.crash.soak --kills 5000 --seed 7
    .venv/bin/python -m tests.crash.soak --kills 20000 --dir /var/tmp/kiosk-soak --keep

Options:

``--kills N``           how many times to SIGKILL the lane (default 5000)
``--seed N``            seeds the shopper's choices and the kill delays (default: random; printed)
``--kills-per-db N``    start a fresh copy of the demo database after N kills (default 1000): the
                        full check after each kill reads the whole journal, so this bounds its cost
``--dir DIR``           work folder (default: a new temporary folder); each database copy lives in
                        DIR/db-NNNN with the lane's stderr in lane-stderr.log
``--keep``              keep the work folder (it is always kept when a check failed)
``--max-violations N``  stop after N failed checks (default 20)
``--progress N``        print a progress line every N kills (default 250)

Every kill is followed by the checks described in tests/crash/harness.py. The last line is the
summary (kills by kind, sales, restored baskets, unknown payments, time); every failed check is
printed in full before it with the in-flight command and the last commands sent.

Exit status: 0 when every check held, 1 when any failed, 2 on a usage error.
Time: about 0.3 s per kill on one core of a small machine (5000 kills: about 25 minutes).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from pathlib import Path

from tests.crash.harness import CrashRun, Summary, make_template


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.crash.soak", description="SIGKILL soak of the headless lane"
    )
    parser.add_argument("--kills", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--kills-per-db", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--max-violations", type=int, default=20)
    parser.add_argument("--progress", type=int, default=250)
    args = parser.parse_args(argv)
    for name in ("kills", "kills_per_db", "max_violations", "progress"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    work = args.dir or Path(tempfile.mkdtemp(prefix="kiosk-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"soak: {args.kills} kills, seed {seed}, work folder {work}", flush=True)
    last = [0]

    def progress(summary: Summary) -> None:
        if summary.kills - last[0] >= args.progress:
            last[0] = summary.kills
            print(summary.line(), flush=True)

    template = work / "template"
    if not (template / "kiosk.toml").exists():
        make_template(template)
    run = CrashRun(
        template,
        work,
        seed=seed,
        kills=args.kills,
        kills_per_db=args.kills_per_db,
        max_violations=args.max_violations,
        progress=progress,
    )
    summary = run.run()
    for violation in summary.violations:
        print(f"\nVIOLATION {violation}")
    print(summary.line(), flush=True)
    if summary.violations or args.keep:
        print(f"work folder kept: {work}")
    else:
        shutil.rmtree(work)
    return 1 if summary.violations else 0


if __name__ == "__main__":
    sys.exit(main())

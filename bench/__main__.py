"""``python -m bench`` (``make bench``): run the benchmarks, print JSON, keep latest.json.

    python -m bench [--quick] [--only NAME]... [--dir DIR] [--keep] [--out FILE] [--strict]

The JSON document goes to stdout and to ``bench/results/latest.json`` (or ``--out``); a short
table goes to stderr. Scratch kiosks are made in a new folder under ``--dir`` (default: the
repository's ``var/``, the file system the demo kiosk lives on; a tmpfs would make every fsync
free and the floors meaningless) and removed afterwards unless ``--keep``. Exit status 0 when
the benchmarks ran (1 with ``--strict`` when a goal was missed), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.fixtures import Context, Sizes
from bench.report import dumps, print_table, stderr_console, write_document
from bench.suite import BENCHMARKS, run_suite

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI, smoke runs)")
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHMARKS),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--dir", type=Path, default=ROOT / "var", help="where scratch goes")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = stderr_console()
    sizes = Sizes.quick() if args.quick else Sizes.full()
    args.dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="kiosk-bench-", dir=args.dir))
    try:
        document = run_suite(
            Context(sizes, scratch),
            args.only or (),
            progress=lambda name: console.print(f"[bold]running {name}[/] …"),
        )
    finally:
        if args.keep:
            console.print(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch)
    document["mode"] = "quick" if args.quick else "full"
    write_document(document, args.out)
    sys.stdout.write(dumps(document))
    sys.stdout.flush()
    print_table(document, console)
    console.print(f"results written to {args.out}")
    return 1 if args.strict and not document["all_met"] else 0


if __name__ == "__main__":
    sys.exit(main())

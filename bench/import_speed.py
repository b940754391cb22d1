"""Benchmark 5: catalog import of 250 000 rows, in rows per second.

Main thread. ``kiosk.store.import_catalog`` reads a generated catalog CSV into a demo kiosk.db
(validation, staging, the new tables with their FTS index, the atomic swap), timed end to end.

Floor, same run, same file system, same CSV: ``csv.reader`` over the file and one
``executemany`` of its rows, as text, into a plain table of a fresh database (WAL,
synchronous=FULL), committed once. Issue 2 sets no ratio for this one; the goal is that the
whole file is imported, every product and GTIN live, and rows/s is reported beside the floor.
The imported kiosk is handed to the start-up benchmark, which needs one of this size.
"""

from __future__ import annotations

import csv
import sqlite3
import time
from pathlib import Path
from typing import Any, Final

from bench.fixtures import CATALOG_HEADER, Context
from bench.harness import ratio, result
from kiosk.app import open_store, read_config
from kiosk.money import exponent
from kiosk.store import import_catalog

NAME: Final = "catalog_import"


def raw_insert_seconds(csv_path: Path, db_path: Path) -> tuple[int, float]:
    """Rows inserted and seconds taken by the floor (see the module docstring)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        columns = ", ".join(f"{name} TEXT" for name in CATALOG_HEADER)
        conn.execute(f"CREATE TABLE rows ({columns})")
        marks = ", ".join("?" for _ in CATALOG_HEADER)
        started = time.perf_counter()
        with csv_path.open(encoding="utf-8", newline="") as source:
            reader = csv.reader(source)
            next(reader)
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO rows VALUES ({marks})", reader)
            conn.execute("COMMIT")
        seconds = time.perf_counter() - started
        rows = int(conn.execute("SELECT count(*) FROM rows").fetchone()[0])
    finally:
        conn.close()
    return rows, seconds


def run(ctx: Context) -> dict[str, Any]:
    rows = ctx.sizes.import_rows
    csv_path, _ = ctx.catalog(rows)
    config_path = ctx.demo_kiosk(f"import-{rows}")
    floor_rows, floor_seconds = raw_insert_seconds(csv_path, config_path.parent / "floor.db")
    config = read_config(config_path)
    db = open_store(config)
    try:
        started = time.perf_counter()
        report = import_catalog(
            db, str(csv_path), exponent(config.store.currency), set(config.tax.codes)
        )
        seconds = time.perf_counter() - started
    finally:
        db.conn.close()
    ctx.kiosks.setdefault(rows, config_path)
    import_rate = report.products / seconds
    floor_rate = floor_rows / floor_seconds
    ratios = {"floor_rows_per_s_vs_import_rows_per_s": ratio(floor_rate, import_rate)}
    return result(
        NAME,
        figures={
            "import_catalog": {
                "rows": report.products,
                "gtins": report.gtins,
                "seconds": round(seconds, 2),
                "rows_per_s": round(import_rate),
            }
        },
        floor={
            "raw_executemany": {
                "rows": floor_rows,
                "seconds": round(floor_seconds, 2),
                "rows_per_s": round(floor_rate),
            }
        },
        ratios=ratios,
        primary="floor_rows_per_s_vs_import_rows_per_s",
        goal=(
            f"all {rows} rows imported, every GTIN live (issue 2 sets no ratio: "
            "rows/s reported beside the raw insert floor)"
        ),
        met=report.products == rows and report.gtins == rows and floor_rows == rows,
        params={"rows": rows, "csv_bytes": csv_path.stat().st_size},
    )

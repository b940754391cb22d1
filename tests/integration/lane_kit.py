"""A demo kiosk on a real kiosk.db in tmp_path, for the lane tests.

``make_kiosk(tmp_path, **overrides)`` gives a ``LaneKit``: the headless kiosk that ``kiosk sim``
runs (``kiosk.app.build_headless``: the real store, the fake devices, the payment simulators)
on the shipped demo catalog, staff and members, with a ``FakeClock`` that payment waits move
instead of blocking. The lane has been ``restore()``-d, as at a real start.

Config overrides are per section: ``make_kiosk(tmp_path, lane={"remove_line_needs_attendant":
False}, cash={"rounding_increment": 10})``.

Building the demo database (300 products, three scrypt-hashed PINs) takes a fraction of a
second, so it is built once per test session and copied into each test's folder.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from kiosk.app import HeadlessKiosk, build_headless, member_key, open_store, read_config
from kiosk.checkout import Lane
from kiosk.config import Config
from kiosk.hw.fake import FakeClock
from kiosk.money import exponent
from kiosk.store import import_catalog, import_members, import_promotions, import_staff

Event = dict[str, Any]

# 2026-03-02 11:00 in Shanghai: a Monday, well inside business day 2026-03-02.
START = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
TODAY = "2026-03-02"

# Well-known demo entries (docs/operations.md).
WATER = "6921168509256"  # sku 100001, 2.00, VAT13
BEER = "6935284410013"  # sku 100002, 5.50, age 18
BANANA_PLU = "10001"  # sku 100003, 6.98/kg, VAT9
BANANA_WEIGHT_LABEL = "2110001012501"  # 1.250 kg -> 8.73
BANANA_PRICE_LABEL = "2010001008736"  # price 8.73
CIGARETTES = "6942103700125"  # sku 100004, 15.00, age 18
CHIPS = ("6918473200565", "6918473201579")  # sku 100005, 6.50, two GTINs
MILK = "6950318800233"  # sku 100006, 12.90, VAT9
EGGS = "6926007701082"  # sku 100007, 9.90, quantity limit 2
JELLY_RECALLED = "6904552100369"  # sku 100008, not for sale
TOAST = "6908876500195"  # sku 100010, 7.99
UNKNOWN_GTIN = "4006381333931"  # valid EAN-13, not in the demo catalog
MEMBER_GOLD = "M000123"  # C0001
WALLET_CODE = "134567890123456789"  # 18 digits starting 13: a WeChat Pay style code

_TEMPLATE_NAME = "lane-kit-template"


def _template(tmp_path: Path) -> Path:
    """The demo kiosk folder built once per session beside the test's own tmp_path."""
    folder = tmp_path.parent / _TEMPLATE_NAME
    if (folder / "ready").exists():
        return folder
    folder.mkdir(exist_ok=True)
    demo = resources.files("kiosk") / "demo"
    (folder / "secrets").mkdir(exist_ok=True)
    (folder / "secrets" / "member-phone.key").write_text("0123456789abcdef" * 4 + "\n")
    # The shipped config as it is: its relative [paths] resolve inside ``folder``.
    text = (demo / "kiosk.toml").read_text(encoding="utf-8")
    (folder / "kiosk.toml").write_text(text, encoding="utf-8")
    config = read_config(folder / "kiosk.toml")
    db = open_store(config)
    try:
        with resources.as_file(demo / "catalog.csv") as catalog:
            import_catalog(db, str(catalog), exponent(config.store.currency), set(config.tax.codes))
        with resources.as_file(demo / "staff.csv") as staff:
            import_staff(db, str(staff))
        with resources.as_file(demo / "members.csv") as members:
            import_members(db, str(members), member_key(config))
    finally:
        db.conn.close()  # the last connection: SQLite checkpoints and removes the WAL
    (folder / "ready").write_text("")
    return folder


def _override(config: Config, overrides: dict[str, dict[str, Any]]) -> Config:
    for section, values in overrides.items():
        current = getattr(config, section)
        config = dataclasses.replace(config, **{section: dataclasses.replace(current, **values)})
    return config


class LaneKit:
    """One kiosk under test, restored as at a start. ``kiosk`` is rebuilt by ``restart()``;
    the folder, config and clock stay."""

    def __init__(self, folder: Path, config: Config, clock: FakeClock) -> None:
        self.folder = folder
        self.config = config
        self.clock = clock
        # Called before the clock moves when a payment simulator waits: set it to crash
        # mid-charge, or to break the storage while the terminal works.
        self.on_payment_wait: Callable[[float], None] | None = None
        # Job ids the fake printers of earlier kiosks put on paper (``restart`` keeps them).
        self.printed_before: list[str] = []
        self.kiosk = self.build()
        self.restored: list[Event] = self.kiosk.lane.restore()

    def payment_wait(self, seconds: float) -> None:
        if self.on_payment_wait is not None:
            self.on_payment_wait(seconds)
        self.clock.sleep(seconds)

    @property
    def lane(self) -> Lane:
        return self.kiosk.lane

    @property
    def db_path(self) -> Path:
        return Path(self.config.paths.db)

    def cmd(self, name: str, **args: Any) -> list[Event]:
        """Send one lane-protocol command."""
        events: list[Event] = self.kiosk.lane.handle({"cmd": name, **args})
        return events

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = self.kiosk.lane.view()
        return view

    def login(self, badge: str = "ST0001") -> None:
        """Log an attendant in with a badge (E01 attendant; ST0002 is E02, supervisor)."""
        events = self.cmd("staff_login", badge=badge)
        assert names(events) == ["staff_logged_in"], events

    def logout(self) -> None:
        assert names(self.cmd("staff_logout")) == ["staff_logged_out"]

    def device(self, device: str, kind: str, **detail: Any) -> list[Event]:
        """A device's report, run on the lane as the lane runner's ``post`` runs it."""
        events: list[Event] = self.kiosk.lane.run_internal(
            lambda lane: lane.device_event(device, kind, detail)
        )
        return events

    def tick(self) -> list[Event]:
        events: list[Event] = self.kiosk.lane.tick()
        return events

    @property
    def printed(self) -> list[str]:
        """Every job id a fake printer put on paper, across restarts, oldest first."""
        return [*self.printed_before, *(job.job_id for job in self.kiosk.printer.jobs)]

    def print_jobs(self) -> list[dict[str, Any]]:
        """The print_jobs rows as committed, oldest first."""
        keys = ("job_id", "kind", "seq", "state", "attempts", "error", "requested_by")
        found = self.rows(f"SELECT {', '.join(keys)} FROM print_jobs ORDER BY created_at, rowid")
        return [dict(zip(keys, row, strict=True)) for row in found]

    def restart(self) -> list[Event]:
        """Simulate a crash and restart: drop this kiosk, build a new one on the same db."""
        self.printed_before.extend(job.job_id for job in self.kiosk.printer.jobs)
        self.kiosk.close()
        self.kiosk = self.build()
        self.restored = self.kiosk.lane.restore()
        return self.restored

    def build(self) -> HeadlessKiosk:
        """A new kiosk on this kit's db (not yet restored)."""
        return build_headless(self.config, clock=self.clock, sleep=self.payment_wait)

    def close(self) -> None:
        self.kiosk.close()

    # -- what was committed (read on a separate connection) ---------------------------------
    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(self.db_path)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def count(self, table: str) -> int:
        return int(self.rows(f"SELECT count(*) FROM {table}")[0][0])

    def committed(self) -> dict[str, int]:
        """Row counts of everything a sale or a payment commits."""
        tables = ("sales", "sale_lines", "sale_tenders", "journal", "outbox", "payment_intents")
        return {t: self.count(t) for t in tables}

    def snapshot(self) -> dict[str, Any]:
        """The lane snapshot as committed in kiosk.db."""
        data: dict[str, Any] = json.loads(self.rows("SELECT snapshot FROM lane")[0][0])
        return data

    def import_promotions(self, rules: dict[str, Any], name: str = "promotions.json") -> Path:
        """Write ``rules`` as a JSON promotion file and import it, as ``kiosk promo import``."""
        path = self.folder / name
        path.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
        db = open_store(self.config)
        try:
            import_promotions(db, str(path), self.config.store.currency)
        finally:
            db.conn.close()
        return path

    def audit(self, kind: str) -> list[dict[str, Any]]:
        found = self.rows("SELECT detail FROM audit WHERE kind = ? ORDER BY id", (kind,))
        return [json.loads(row[0]) for row in found]

    def sale_events(self) -> list[dict[str, Any]]:
        """The sealed ``pos.sale.completed`` events of the recorded sales, in seq order."""
        return [json.loads(row[0]) for row in self.rows("SELECT body FROM sales ORDER BY seq")]

    def intents(self) -> list[dict[str, Any]]:
        found = self.rows(
            "SELECT intent_id, sale_id, method, amount, status, ref FROM payment_intents "
            "ORDER BY created_at, intent_id"
        )
        keys = ("intent_id", "sale_id", "method", "amount", "status", "ref")
        return [dict(zip(keys, row, strict=True)) for row in found]


def _add_products(config: Config, rows: list[str]) -> None:
    """Re-import the demo catalog with ``rows`` (CSV lines in its columns) appended; a row
    with fewer fields (no category columns) is padded with empty ones."""
    demo = resources.files("kiosk") / "demo" / "catalog.csv"
    text = demo.read_text(encoding="utf-8").rstrip("\n")
    width = len(next(csv.reader([text.splitlines()[0]])))
    padded = [",".join([row, *[""] * (width - len(next(csv.reader([row]))))]) for row in rows]
    text += "\n" + "\n".join(padded) + "\n"
    extra = Path(config.paths.data_dir) / "catalog-extra.csv"
    extra.write_text(text, encoding="utf-8")
    db = open_store(config)
    try:
        import_catalog(db, str(extra), exponent(config.store.currency), set(config.tax.codes))
    finally:
        db.conn.close()


def make_kiosk(
    tmp_path: Path, extra_products: list[str] | None = None, **overrides: dict[str, Any]
) -> LaneKit:
    """A restored demo kiosk in ``tmp_path`` (see the module docstring). ``extra_products``
    are catalog CSV lines added to the demo catalog (for cases it does not hold)."""
    template = _template(tmp_path)
    folder = tmp_path / "kiosk"
    shutil.copytree(template, folder)
    config = _override(read_config(folder / "kiosk.toml"), overrides)
    if extra_products:
        _add_products(config, extra_products)
    return LaneKit(folder, config, FakeClock(START))


def names(events: list[Event]) -> list[str]:
    return [str(e["event"]) for e in events]


def only(events: list[Event], name: str) -> Event:
    """The one event called ``name``."""
    found = [e for e in events if e["event"] == name]
    assert len(found) == 1, f"expected one {name!r} in {names(events)}"
    return found[0]


def error_of(events: list[Event]) -> Event:
    """The command's error event (a failed command answers with exactly one event)."""
    assert names(events) == ["error"], events
    return events[0]


def line_view(view: dict[str, Any], line: int) -> dict[str, Any]:
    for entry in view["lines"]:
        if entry["line"] == line:
            found: dict[str, Any] = entry
            return found
    raise AssertionError(f"no line {line} in the view")


def basket_of(view: dict[str, Any]) -> dict[str, Any]:
    """What a restart must restore: lines, totals, tenders, interventions, mode, sale."""
    return {
        key: view[key]
        for key in (
            "mode",
            "language",
            "sale_id",
            "lines",
            "totals",
            "taxes",
            "tenders",
            "interventions",
            "member",
            "awaiting_wallet",
            "out_of_service",
        )
    }

"""What the benchmarks run against: sizes, a scratch folder, generated catalogs, demo kiosks.

Main thread only. ``Context`` owns one scratch folder per run (``--dir`` chooses where it is made:
it must be on the file system you want measured) and caches what is costly to build, so that a
250 000-product kiosk is imported once and shared by the benchmarks that need it.

Generated catalogs are deterministic: product ``i`` has SKU ``B{i:07d}``, one EAN-13 GTIN
``69`` + ``i`` on 10 digits + its GS1 check digit (stored by the kiosk as 14 digits, a leading
``0``), a Chinese and an English name, and sells by the each at a price from 0.50 to 99.99 CNY
under VAT13 or VAT9. Nothing is age-restricted, not for sale or limited, so scanning any of them
adds a line without an intervention.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Final

from kiosk import cli
from kiosk.barcodes import check_digit
from kiosk.basket import Line
from kiosk.payments import Tender
from kiosk.pricing import PricedLine, TaxLine, Totals
from kiosk.protocol.ids import uuid7
from kiosk.sale import CompletedSale
from kiosk.store import SqliteLaneStore, migrate, open_db

MAX_GENERATED: Final[int] = 10**10 - 1
CATALOG_HEADER: Final[tuple[str, ...]] = (
    "sku",
    "gtins",
    "plu",
    "category",
    "unit",
    "price",
    "tax_code",
    "age_limit",
    "not_for_sale",
    "quantity_limit",
    "name_zh_CN",
    "name_en",
)
_KINDS: Final[tuple[tuple[str, str, str], ...]] = (
    ("饮料/Drinks", "饮料", "drink"),
    ("零食/Snacks", "零食", "snack"),
    ("乳制品/Dairy", "牛奶", "milk"),
    ("日用品/Household", "日用品", "household item"),
    ("粮油/Staples", "大米", "rice"),
    ("调味品/Condiments", "酱油", "soy sauce"),
    ("面包/Bakery", "面包", "bread"),
)
_SIZES: Final[tuple[str, ...]] = ("250ml", "500ml", "1L", "100g", "400g", "1kg", "6x330ml")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each benchmark does. ``full`` is ``make bench``; ``quick`` is for CI."""

    scans: int  # timed scans (benchmark 1)
    block: int  # samples per interleaved block (figure, then each floor)
    max_lines: int  # sales hold 1..max_lines lines (benchmarks 1 and 3)
    sales: int  # timed sale completions (benchmark 3)
    lookup_products: tuple[int, int]  # small and large catalog (benchmark 2)
    lookup_calls: int  # timed lookups per catalog (benchmark 2)
    lookup_batch: int  # calls per perf_counter_ns reading
    sim_products: tuple[int, int]  # small and large catalog (benchmark 4)
    sim_runs: int  # starts per catalog (benchmark 4)
    import_rows: int  # rows imported (benchmark 5)
    scanner_codes: int = 2000  # codes through the pty per figure (scanner_latency)
    payments: int = 60  # card sales and cash sales each (payment_devices)
    drain_sales: int = 10_000  # outbox backlog drained per round (sync_drain)
    drain_rounds: int = 5  # rounds of the raw floor and the agent, alternating (sync_drain)
    apply_events: int = 10_000  # events applied per group and database (consumer_apply)
    apply_postgres: bool = True  # also measure PostgreSQL (consumer_apply; off in --quick)
    lane_drain_backlog: int = 10_000  # backlog the agent drains under the lane (lane_under_drain)
    lane_drain_scans: int = 1_500  # timed scans while it drains, and as many idle
    ui_products: int = 1_000  # catalog of the touchscreen's scan and scroll kiosks (ui_*)
    ui_lines: int = 200  # basket lines before timing scans, and while scrolling
    ui_scans: int = 100  # timed scans per round (ui_scan)
    ui_frames: int = 300  # timed frames per scroll (ui_frames)
    ui_rounds: int = 3  # figure/floor pairs, interleaved (ui_scan, ui_frames)
    ui_drain_backlog: int = 10_000  # outbox backlog drained under the scrolling (ui_frames)
    ui_start_runs: int = 5  # starts per catalog (ui_start)
    ui_sales: tuple[int, int] = (100, 1_000)  # memory checkpoints (ui_memory)
    ui_memory_products: int = 100_000  # catalog of the memory kiosk (ui_memory)

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            scans=5000,
            block=25,
            max_lines=50,
            sales=500,
            lookup_products=(1_000, 1_000_000),
            lookup_calls=200_000,
            lookup_batch=1000,
            sim_products=(1_000, 250_000),
            sim_runs=15,
            import_rows=250_000,
            scanner_codes=2000,
            payments=60,
            drain_sales=10_000,
            drain_rounds=5,
            apply_events=10_000,
            apply_postgres=True,
            lane_drain_backlog=10_000,
            lane_drain_scans=1_500,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            scans=400,
            block=20,
            max_lines=50,
            sales=30,
            lookup_products=(1_000, 10_000),
            lookup_calls=20_000,
            lookup_batch=500,
            sim_products=(1_000, 10_000),
            sim_runs=3,
            import_rows=10_000,
            scanner_codes=150,
            payments=6,
            drain_sales=1_000,
            drain_rounds=1,
            apply_events=1_000,
            apply_postgres=False,
            lane_drain_backlog=1_000,
            lane_drain_scans=150,
            ui_lines=50,
            ui_scans=30,
            ui_frames=100,
            ui_rounds=1,
            ui_drain_backlog=1_000,
            ui_start_runs=2,
            ui_sales=(10, 50),
            ui_memory_products=10_000,
        )


def gtin13(index: int) -> str:
    """The EAN-13 of generated product ``index`` (0 .. 10**10-1)."""
    if not 0 <= index <= MAX_GENERATED:
        raise ValueError(f"product index must be 0..{MAX_GENERATED}, got {index}")
    body = f"69{index:010d}"
    return body + check_digit(body)


def write_catalog_csv(path: Path, products: int, seed: int = 2) -> list[str]:
    """Write a catalog CSV of ``products`` rows; return their GTINs as 14 digits."""
    if products < 1:
        raise ValueError(f"a catalog needs at least 1 product, got {products}")
    rng = random.Random(seed)
    gtins: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CATALOG_HEADER)
        for i in range(products):
            category, zh, en = _KINDS[i % len(_KINDS)]
            size = _SIZES[i % len(_SIZES)]
            code = gtin13(i)
            gtins.append("0" + code)
            price = rng.randrange(50, 10_000)
            writer.writerow(
                (
                    f"B{i:07d}",
                    code,
                    "",
                    category,
                    "ea",
                    f"{price // 100}.{price % 100:02d}",
                    "VAT9" if i % 5 == 0 else "VAT13",
                    "0",
                    "0",
                    "0",
                    f"示例{zh} {i} {size}",
                    f"Sample {en} {i} {size}",
                )
            )
    return gtins


@contextlib.contextmanager
def _quiet_cli() -> Iterator[io.StringIO]:
    """Run ``kiosk.cli.main`` in-process: capture its stdout, keep our logging set-up."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            yield captured
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def demo_init(folder: Path, catalog: Path | None = None) -> Path:
    """``kiosk demo init --dir folder [--catalog catalog]``; returns the config path."""
    argv = ["demo", "init", "--dir", str(folder)]
    if catalog is not None:
        argv += ["--catalog", str(catalog)]
    with _quiet_cli() as captured:
        status = cli.main(argv)
    if status != 0:
        raise RuntimeError(f"kiosk demo init failed with status {status}: {captured.getvalue()}")
    return folder / "kiosk.toml"


@dataclass
class Context:
    """One benchmark run: its sizes, scratch folder and the fixtures built so far."""

    sizes: Sizes
    scratch: Path
    catalogs: dict[int, tuple[Path, list[str]]] = field(default_factory=dict)
    kiosks: dict[int, Path] = field(default_factory=dict)

    def folder(self, name: str) -> Path:
        """A fresh sub-folder of the scratch folder (``name``, ``name-2``, ...)."""
        candidate, n = self.scratch / name, 1
        while candidate.exists():
            n += 1
            candidate = self.scratch / f"{name}-{n}"
        candidate.mkdir(parents=True)
        return candidate

    def catalog(self, products: int) -> tuple[Path, list[str]]:
        """A generated catalog CSV of ``products`` rows and its 14-digit GTINs (cached)."""
        if products not in self.catalogs:
            path = self.folder("catalogs") / f"catalog-{products}.csv"
            self.catalogs[products] = (path, write_catalog_csv(path, products))
        return self.catalogs[products]

    def kiosk(self, products: int) -> Path:
        """Config path of a demo kiosk whose catalog is ``products`` generated rows (cached)."""
        if products not in self.kiosks:
            csv_path, _ = self.catalog(products)
            self.kiosks[products] = demo_init(self.folder(f"kiosk-{products}"), csv_path)
        return self.kiosks[products]

    def demo_kiosk(self, name: str) -> Path:
        """Config path of a fresh demo kiosk with the shipped demo catalog (never shared)."""
        return demo_init(self.folder(name))


# -- issue 4: sales for the outbox and the consumers, a private broker ------------------------
@dataclass
class SaleMaker:
    """Consistent paid sales of one kiosk, built from kiosk types (no lane, no pricing engine).

    Seeded: 1..``max_lines`` lines of SKUs ``B0000000``.. (``skus`` of them) at 0.50-99.99,
    VAT13 or VAT9, tax-inclusive; paid by card, every fourth sale in cash with change. Every
    figure adds up the way ``central.validation`` checks it (Σ lines = totals, Σ tenders = due).
    """

    kiosk_id: str
    store_id: str
    seed: int = 4
    max_lines: int = 5
    skus: int = 500
    _rng: random.Random = field(init=False, repr=False)
    _made: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:{self.kiosk_id}")

    def _id(self) -> str:
        self._made += 1
        return uuid7(1_790_000_000_000 + self._made, self._rng.randbytes(10))

    def make(self) -> CompletedSale:
        rng = self._rng
        lines: list[Line] = []
        priced: list[PricedLine] = []
        for n in range(1, rng.randint(1, self.max_lines) + 1):
            index = rng.randrange(self.skus)
            code = "VAT9" if index % 5 == 0 else "VAT13"
            price, qty = rng.randrange(50, 10_000), rng.randint(1, 3)
            lines.append(
                Line(
                    line_no=n,
                    sku=f"B{index:07d}",
                    names={"zh_CN": f"示例商品 {index}", "en": f"Sample item {index}"},
                    unit="ea",
                    qty=Decimal(qty),
                    unit_price=price,
                    tax_code=code,
                    gtin="0" + gtin13(index),
                )
            )
            rate = _RATES[code]
            gross = price * qty
            tax = int((Decimal(gross) * rate / (1 + rate)).quantize(Decimal(1), ROUND_HALF_UP))
            priced.append(PricedLine(n, code, gross, 0, gross, tax))
        due = sum(p.amount for p in priced)
        taxes = tuple(
            TaxLine(code, rate, base - tax, tax)
            for code, rate in sorted(_RATES.items())
            for base, tax in [_sums(priced, code)]
            if base
        )
        tax_total = sum(p.tax for p in priced)
        items = sum(int(x.qty) for x in lines)
        totals = Totals("CNY", "inclusive", tuple(priced), taxes, due, 0, tax_total, due, items)
        if self._made % 4 == 3:
            given = (due // 10_000 + 1) * 10_000
            tender = Tender("cash", due, self._id(), tendered=given, change=given - due)
        else:
            tender = Tender("card", due, self._id(), ref="T-1", auth="123456", last4="4242")
        return CompletedSale(
            sale_id=self._id(),
            event_id=self._id(),
            kiosk_id=self.kiosk_id,
            store_id=self.store_id,
            boot=1,
            occurred_at="2026-11-27T09:15:02Z",
            business_day="2026-11-27",
            currency="CNY",
            language="zh_CN",
            lines=tuple(lines),
            totals=totals,
            cash_rounding=0,
            tenders=(tender,),
        )


_RATES: Final[dict[str, Decimal]] = {"VAT13": Decimal("0.13"), "VAT9": Decimal("0.09")}


def _sums(priced: list[PricedLine], code: str) -> tuple[int, int]:
    mine = [p for p in priced if p.tax_code == code]
    return sum(p.amount for p in mine), sum(p.tax for p in mine)


def fill_outbox(db_path: Path, kiosk_id: str, store_id: str, sales: int, seed: int = 4) -> None:
    """Record ``sales`` paid sales in kiosk.db through ``SqliteLaneStore.complete_sale`` (the
    lane's own transaction: journal, sale, lines, tenders, pending outbox row).

    A backlog, not a benchmark: this connection runs with ``synchronous=OFF`` so that 10 000
    commits take seconds, not a minute; the lane snapshot is put back as it was afterwards.
    """
    db = open_db(db_path)
    try:
        migrate(db)
        conn = db.conn
        conn.execute("PRAGMA synchronous=OFF")
        store = SqliteLaneStore(db, kiosk_id, min_free_disk_bytes=0)
        row = conn.execute("SELECT snapshot FROM lane WHERE id = 1").fetchone()
        maker = SaleMaker(kiosk_id, store_id, seed)
        for _ in range(sales):
            store.complete_sale(maker.make(), {})
        conn.execute("UPDATE lane SET snapshot = ? WHERE id = 1", (row[0] if row else None,))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def sync_config(
    folder: Path, db_path: Path, kiosk_id: str, store_id: str, port: int, window: int
) -> Path:
    """A kiosk.toml for ``python -m kiosk.sync``: this kiosk.db, the broker on ``port``,
    ``[sync] window``, the default consumer groups and otherwise the defaults."""
    path = folder / "sync.toml"
    path.write_text(
        f'[store]\nid = "{store_id}"\n[kiosk]\nid = "{kiosk_id}"\n'
        f'[paths]\ndata_dir = "{db_path.parent}"\ndb = "{db_path}"\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[sync]\nwindow = {window}\nrequired_groups = ["inventory", "finance"]\n',
        encoding="utf-8",
    )
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Mosquitto:
    """Debian's ``mosquitto`` on 127.0.0.1 and a free port, with the production store config's
    settings that matter for speed (provisioning/broker_config.py: persistence with a 60 s
    autosave, 1000 in flight, 100 000 queued, TCP_NODELAY), anonymous and without TLS.

    ``pause()``/``resume()`` stop and continue the broker process (SIGSTOP/SIGCONT).
    """

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Mosquitto:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
            "allow_anonymous true\npersistence true\n"
            f"persistence_location {self.folder}/\nautosave_interval 60\n"
            "max_qos 1\nmax_inflight_messages 1000\nmax_queued_messages 100000\n"
            "max_queued_bytes 268435456\nset_tcp_nodelay true\n"
            "log_dest stderr\nlog_type error\nlog_type warning\n",
            encoding="utf-8",
        )
        with (self.folder / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen(
                [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    log_text = (self.folder / "mosquitto.log").read_text(errors="replace")
                    raise RuntimeError(f"mosquitto did not start: {log_text[-1000:]}") from None
                time.sleep(0.02)

    def pause(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def __exit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

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
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from kiosk import cli

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
        )


def check_digit(body: str) -> int:
    """GS1 mod-10 check digit of ``body`` (a GTIN without its last digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin13(index: int) -> str:
    """The EAN-13 of generated product ``index`` (0 .. 10**10-1)."""
    if not 0 <= index <= MAX_GENERATED:
        raise ValueError(f"product index must be 0..{MAX_GENERATED}, got {index}")
    body = f"69{index:010d}"
    return body + str(check_digit(body))


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

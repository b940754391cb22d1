"""Drives a real headless lane (kiosk.app.build_headless on a demo kiosk) through sales.

Main thread only. ``LaneDriver`` sends lane-protocol commands through ``Lane.handle`` exactly as
``kiosk sim`` does, checks every answer (a scan must add an item, a payment must complete the
sale) so that a benchmark can never time a failure, and keeps baskets realistic: each sale holds
1..``max_lines`` lines (uniformly drawn, seeded), then is paid by card and a new one starts.
Consecutive scans are different products, so every scan adds a new line.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from kiosk.app import HeadlessKiosk, build_headless, read_config


def scannable_demo_codes() -> list[str]:
    """GTINs of the shipped demo catalog that a customer can scan with no intervention."""
    text = (resources.files("kiosk") / "demo" / "catalog.csv").read_text(encoding="utf-8")
    codes = [
        row["gtins"].split("|")[0]
        for row in csv.DictReader(text.splitlines())
        if row["gtins"]
        and row["unit"] == "ea"
        and row.get("age_limit", "0") in ("", "0")
        and row.get("not_for_sale", "0") in ("", "0")
        and row.get("quantity_limit", "0") in ("", "0")
    ]
    if len(codes) < 2:
        raise RuntimeError("the demo catalog has fewer than 2 plainly scannable products")
    return codes


@contextmanager
def headless(config: Path) -> Iterator[HeadlessKiosk]:
    """A restored headless lane on ``config``; closed on exit."""
    kiosk = build_headless(read_config(config))
    try:
        kiosk.lane.restore()
        yield kiosk
    finally:
        kiosk.close()


def _events(answer: list[dict[str, Any]]) -> list[str]:
    return [str(e.get("event")) for e in answer]


class LaneDriver:
    """Scans and pays on one lane; ``scan_timed`` returns the nanoseconds of one scan."""

    def __init__(self, kiosk: HeadlessKiosk, codes: list[str], max_lines: int, seed: int) -> None:
        if max_lines < 1:
            raise ValueError(f"max_lines must be 1 or more, got {max_lines}")
        self.kiosk = kiosk
        self.codes = codes
        self.max_lines = max_lines
        self.rng = random.Random(seed)
        self.lines = 0
        self.target = self.rng.randint(1, max_lines)
        self.sales_lines: list[int] = []
        self._next = 0

    def _send(self, message: dict[str, Any], expect: str) -> tuple[int, list[dict[str, Any]]]:
        started = time.perf_counter_ns()
        answer = self.kiosk.lane.handle(message)
        took = time.perf_counter_ns() - started
        if expect not in _events(answer):
            raise RuntimeError(f"{message} answered {answer}, expected a {expect!r} event")
        return took, answer

    def scan_timed(self) -> int:
        """Scan the next product (paying first if the basket reached its target size)."""
        if self.lines >= self.target:
            self.pay()
        code = self.codes[self._next % len(self.codes)]
        self._next += 1
        took, _ = self._send({"cmd": "scan", "code": code}, "item_added")
        self.lines += 1
        return took

    def fill_basket(self) -> int:
        """Scan a whole basket of a freshly drawn size (untimed); returns its line count."""
        for _ in range(self.target - self.lines):
            self.scan_timed()
        return self.lines

    def pay(self) -> int:
        """Pay the open sale by card (terminal simulator approves); returns nanoseconds."""
        took, _ = self._send({"cmd": "pay", "method": "card"}, "sale_completed")
        self.sales_lines.append(self.lines)
        self.lines = 0
        self.target = self.rng.randint(1, self.max_lines)
        return took

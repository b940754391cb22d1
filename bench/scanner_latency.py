"""Issue 3 benchmark: last scanner byte to the core's scan event, beside a raw pty read.

Main thread drives; the timestamps are taken on the threads that receive the bytes. Every
sample writes one EAN-13 (a different product each time) into the master side of a real
pseudo-terminal pair (``os.openpty``, raw mode), pauses ``BYTE_GAP_S`` (a 9600-baud scanner
sends one byte per ~1 ms, so its terminator never lands in the same read as the digits), then
writes the CR terminator; the clock starts just before that last ``os.write``.

- ``scan_event``: a real ``SerialScanner`` reads the slave side (pyserial, CR framing, the
  default debounce) and calls back into ``kiosk.barcodes.classify`` exactly as the lane does
  on a scan (the result must be a ``ProductScan`` for the code written). The clock stops in
  the callback once the code is classified, on the scanner's reader thread.
- ``through_lane``: a second ``SerialScanner`` hands each code to a ``LaneRunner`` as a
  ``scan`` command on a real headless lane (a 1 000-product demo kiosk): classify, look up,
  add the line and commit it durably. The clock stops in the runner's listener, on the lane
  thread, when the ``item_added`` event is published. Sales are paid by card every
  ``LINES_PER_SALE`` scans, untimed.
- Floor ``pty_write_to_read``: a plain thread blocked in ``os.read`` on the slave side of a
  third pty; the clock stops when the read that holds the terminator returns.

The three are interleaved block by block. Goal (issue 3): scan event p99 ≤ floor p99 + 2 ms;
the difference of the p99s is reported (and of the p50s).
"""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Final

from bench.fixtures import Context, demo_init, gtin13
from bench.harness import NS_PER_MS, interleave, latency_ms, p50, p99, ratio, result
from bench.lane_driver import headless
from kiosk.barcodes import ProductScan, classify
from kiosk.config import BarcodeConfig
from kiosk.hw.serial_scanner import SerialScanner, SerialScannerSettings
from kiosk.lane_runner import LaneRunner

NAME: Final = "scanner_latency"
GOAL_EXTRA_MS: Final = 2.0
BYTE_GAP_S: Final = 0.003
TERMINATOR: Final = b"\r"
WAIT_S: Final = 5.0
LINES_PER_SALE: Final = 20
WARMUP: Final = 20


class PtyPair:
    """A raw-mode pseudo-terminal pair: bytes written to ``master`` are read from ``path``."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                continue


class Arrival:
    """One expected arrival: the receiving thread calls ``mark``; the main thread ``wait``-s."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.at_ns = 0
        self.error = ""

    def mark(self, error: str = "") -> None:
        self.at_ns = time.perf_counter_ns()
        self.error = error
        self._event.set()

    def wait(self, what: str) -> int:
        if not self._event.wait(WAIT_S):
            raise RuntimeError(f"{what}: nothing arrived within {WAIT_S} s")
        if self.error:
            raise RuntimeError(f"{what}: {self.error}")
        return self.at_ns


def send_code(pty: PtyPair, code: str) -> int:
    """Write ``code``, pause one byte gap, write the terminator; returns when that began."""
    pty.write(code.encode("ascii"))
    time.sleep(BYTE_GAP_S)
    started = time.perf_counter_ns()
    pty.write(TERMINATOR)
    return started


class RawReader:
    """The floor: a thread in ``os.read`` on the slave side, marking each terminator."""

    def __init__(self, pty: PtyPair) -> None:
        self.pty = pty
        self.samples: list[int] = []
        self._arrival = Arrival()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="bench-pty-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                data = os.read(self.pty.slave, 4096)
            except OSError:
                return
            if TERMINATOR in data:
                self._arrival.mark()

    def sample(self, code: str) -> None:
        self._arrival = Arrival()
        started = send_code(self.pty, code)
        self.samples.append(self._arrival.wait("raw pty read") - started)

    def close(self) -> None:
        self._stop = True
        self.pty.write(TERMINATOR)  # wake the blocked read so the thread sees the stop
        self._thread.join(WAIT_S)


def start_scanner(pty: PtyPair, name: str, on_code: Callable[[str], None]) -> SerialScanner:
    """A SerialScanner on the pty's slave path (CR framing, kiosk defaults), connected."""
    errors: list[str] = []
    scanner = SerialScanner(
        SerialScannerSettings(pty.path, name=name, framing="CR"),
        on_code,
        lambda kind, detail: errors.append(f"{kind}: {detail}"),
    )
    scanner.start()
    deadline = time.monotonic() + WAIT_S
    while not scanner.health()["ok"]:
        if time.monotonic() > deadline:
            scanner.stop()
            raise RuntimeError(f"scanner {name} did not connect: {scanner.health()} {errors}")
        time.sleep(0.005)
    return scanner


class ClassifyingScanner:
    """The figure: SerialScanner -> callback -> ``kiosk.barcodes.classify``."""

    def __init__(self, pty: PtyPair) -> None:
        self.pty = pty
        self.samples: list[int] = []
        self.config = BarcodeConfig()
        self.today = date.today()
        self._arrival = Arrival()
        self._expected = ""
        self.scanner = start_scanner(pty, "bench-classify", self._on_code)

    def _on_code(self, code: str) -> None:
        scan = classify(code, self.config, self.today)
        arrival = self._arrival
        if isinstance(scan, ProductScan) and code == self._expected:
            arrival.mark()
        else:
            arrival.mark(f"{code!r} classified as {scan!r}, expected a product {self._expected}")

    def sample(self, code: str) -> None:
        self._arrival = Arrival()
        self._expected = code
        started = send_code(self.pty, code)
        self.samples.append(self._arrival.wait("scan event") - started)

    def close(self) -> None:
        self.scanner.stop()


class LaneScanner:
    """The second figure: SerialScanner -> LaneRunner ``scan`` -> ``item_added`` published."""

    def __init__(self, pty: PtyPair, runner: LaneRunner) -> None:
        self.pty = pty
        self.runner = runner
        self.samples: list[int] = []
        self.lines = 0
        self._arrival = Arrival()
        runner.add_listener(self._on_events)
        self.scanner = start_scanner(pty, "bench-lane", self._on_code)

    def _on_code(self, code: str) -> None:
        self.runner.submit({"cmd": "scan", "code": code})

    def _on_events(self, events: list[dict[str, Any]], _view: Mapping[str, Any]) -> None:
        names = [e.get("event") for e in events]
        if "item_added" in names:
            self._arrival.mark()
        elif "error" in names:
            self._arrival.mark(f"the lane answered {events}")

    def sample(self, code: str) -> None:
        if self.lines >= LINES_PER_SALE:
            answer = self.runner.call({"cmd": "pay", "method": "card"}, timeout=WAIT_S)
            if "sale_completed" not in [e.get("event") for e in answer]:
                raise RuntimeError(f"paying the sale answered {answer}")
            self.lines = 0
        self._arrival = Arrival()
        started = send_code(self.pty, code)
        self.samples.append(self._arrival.wait("lane scan") - started)
        self.lines += 1

    def close(self) -> None:
        self.scanner.stop()


def run(ctx: Context) -> dict[str, Any]:
    sizes = ctx.sizes
    products = sizes.lookup_products[0]
    csv_path, _ = ctx.catalog(products)
    config = demo_init(ctx.folder("scanner-lane"), csv_path)  # its own: the lane sells in it
    rounds = max(1, sizes.scanner_codes // sizes.block)
    counter = iter(range(10**9))

    def next_code() -> str:
        return gtin13(next(counter) % products)

    ptys = [PtyPair() for _ in range(3)]
    try:
        with headless(config) as kiosk:
            runner = LaneRunner(kiosk.lane)
            runner.start().result(WAIT_S)
            floor = RawReader(ptys[0])
            figure = ClassifyingScanner(ptys[1])
            lane = LaneScanner(ptys[2], runner)
            try:
                samplers: list[Callable[[], None]] = [
                    lambda: figure.sample(next_code()),
                    lambda: floor.sample(next_code()),
                    lambda: lane.sample(next_code()),
                ]
                for _ in range(WARMUP):
                    for sampler in samplers:
                        sampler()
                for samples in (figure.samples, floor.samples, lane.samples):
                    samples.clear()
                interleave(samplers, rounds, sizes.block)
            finally:
                figure.close()
                lane.close()
                floor.close()
                runner.stop()
    finally:
        for pty in ptys:
            pty.close()
    scans, raw, through = figure.samples, floor.samples, lane.samples
    extra_p99 = round((p99(scans) - p99(raw)) / NS_PER_MS, 3)
    extra_p50 = round((p50(scans) - p50(raw)) / NS_PER_MS, 3)
    ratios = {
        "p99_vs_pty_p99": ratio(p99(scans), p99(raw)),
        "p50_vs_pty_p50": ratio(p50(scans), p50(raw)),
        "lane_p99_vs_pty_p99": ratio(p99(through), p99(raw)),
    }
    return result(
        NAME,
        figures={
            "scan_event": latency_ms(scans),
            "through_lane": latency_ms(through),
            "p99_minus_floor_p99_ms": extra_p99,
            "p50_minus_floor_p50_ms": extra_p50,
        },
        floor={"pty_write_to_read": latency_ms(raw)},
        ratios=ratios,
        primary="p99_vs_pty_p99",
        goal=f"scan event p99 <= raw pty write-to-read p99 + {GOAL_EXTRA_MS:g} ms",
        met=extra_p99 <= GOAL_EXTRA_MS,
        params={
            "codes": len(scans),
            "block": sizes.block,
            "byte_gap_ms": BYTE_GAP_S * 1000,
            "framing": "CR",
            "lines_per_sale": LINES_PER_SALE,
            "catalog_products": products,
        },
    )

"""SerialScanner on real pseudo-terminal pairs (os.openpty) and on pyserial's loop:// port.

The scanner side opens the pty slave through a symlink, as a kiosk opens
/dev/serial/by-id/usb-...; unplugging is closing the pty master (or removing the link), and
replugging is a new pty with the link swapped to it. Every wait is a wait-until with a deadline.
"""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import serial

from kiosk.errors import ConfigError, DeviceError
from kiosk.hw.fake import FakeClock
from kiosk.hw.serial_scanner import (
    CONFIG_TABLE,
    ScannerPort,
    SerialScanner,
    SerialScannerSettings,
    open_serial_port,
)

WAIT_S = 3.0


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


class Pty:
    """A pseudo-terminal pair: the test writes into ``master``; the scanner opens ``path``."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        os.close(slave)
        self.closed = False

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]

    def close(self) -> None:
        if not self.closed:
            os.close(self.master)
            self.closed = True


@dataclass
class Collector:
    """Records what a scanner delivered (codes and errors), from its reader thread."""

    codes: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_code(self, code: str) -> None:
        with self.lock:
            self.codes.append(code)

    def on_error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors.append((kind, detail))

    def got(self, n: int) -> Callable[[], bool]:
        return lambda: len(self.codes) >= n

    def error_kinds(self) -> list[str]:
        with self.lock:
            return [kind for kind, _ in self.errors]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    yield
    leaked = [t.name for t in threading.enumerate() if t.name.startswith("scanner-")]
    assert leaked == []


@pytest.fixture
def pty_pair() -> Iterator[Pty]:
    pair = Pty()
    yield pair
    pair.close()


@pytest.fixture
def link(tmp_path: Path, pty_pair: Pty) -> Path:
    by_id = tmp_path / "usb-Newland_HR22_Scanner_0123-if00"
    by_id.symlink_to(pty_pair.path)
    return by_id


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def running(collector: Collector) -> Iterator[Callable[..., SerialScanner]]:
    """Starts scanners with the collector's callbacks; stops them all after the test."""
    started: list[SerialScanner] = []

    def start(settings: SerialScannerSettings, **kwargs: object) -> SerialScanner:
        scanner = SerialScanner(settings, collector.on_code, collector.on_error, **kwargs)  # type: ignore[arg-type]
        scanner.start()
        started.append(scanner)
        return scanner

    yield start
    for scanner in started:
        scanner.stop()


def connected(scanner: SerialScanner) -> Callable[[], bool]:
    return lambda: bool(scanner.health()["ok"])


def swap_link(link: Path, target: str) -> None:
    fresh = link.with_name(link.name + ".new")
    fresh.symlink_to(target)
    os.replace(fresh, link)


@pytest.mark.parametrize(("framing", "end"), [("CR", b"\r"), ("LF", b"\n"), ("CRLF", b"\r\n")])
def test_code_decoded_on_pty_with_each_terminator(
    running: Callable[..., SerialScanner],
    collector: Collector,
    pty_pair: Pty,
    link: Path,
    framing: str,
    end: bytes,
) -> None:
    scanner = running(SerialScannerSettings(str(link), framing=framing))
    assert wait_until(connected(scanner))
    pty_pair.write(b"6901028075831" + end)
    assert wait_until(collector.got(1))
    assert collector.codes == ["6901028075831"]
    assert collector.errors == []


def test_prefix_and_suffix_stripped_on_pty(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    settings = SerialScannerSettings(str(link), prefix=b"\x02", suffix=b"\x03")
    scanner = running(settings)
    assert wait_until(connected(scanner))
    pty_pair.write(b"\x024006381333931\x03\r")
    assert wait_until(collector.got(1))
    assert collector.codes == ["4006381333931"]


def test_gap_framing_separates_codes_on_pty(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    scanner = running(SerialScannerSettings(str(link), framing="gap", gap_s=0.03))
    assert wait_until(connected(scanner))
    pty_pair.write(b"40063")
    pty_pair.write(b"81333931")
    assert wait_until(collector.got(1))
    pty_pair.write(b"6901028075831")
    assert wait_until(collector.got(2))
    assert collector.codes == ["4006381333931", "6901028075831"]


def test_double_read_within_window_dropped_on_pty(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    clock = FakeClock()
    scanner = running(SerialScannerSettings(str(link), debounce_s=0.5), clock=clock)
    assert wait_until(connected(scanner))
    pty_pair.write(b"111\r111\r999\r")
    assert wait_until(lambda: "999" in collector.codes)
    assert collector.codes == ["111", "999"]
    clock.advance(0.6)  # the window has passed: the same code again is a new scan
    pty_pair.write(b"999\r999\r222\r")
    assert wait_until(lambda: "222" in collector.codes)
    assert collector.codes == ["111", "999", "999", "222"]


def test_over_long_line_rejected_and_next_code_read(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    scanner = running(SerialScannerSettings(str(link), max_length=64))
    assert wait_until(connected(scanner))
    pty_pair.write(b"Z" * 20_000 + b"\r4006381333931\r")
    assert wait_until(collector.got(1))
    assert collector.codes == ["4006381333931"]
    assert collector.error_kinds() == ["too_long"]
    assert "20000 bytes" in collector.errors[0][1]


def test_non_printable_garbage_rejected_and_logged(
    running: Callable[..., SerialScanner],
    collector: Collector,
    pty_pair: Pty,
    link: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    scanner = running(SerialScannerSettings(str(link)))
    assert wait_until(connected(scanner))
    pty_pair.write(b"40\x1b[2J63\r\xff\xfe\r4006381333931\r")
    assert wait_until(collector.got(1))
    assert collector.codes == ["4006381333931"]
    assert collector.error_kinds() == ["non_printable", "undecodable"]
    assert "non-printable character '\\x1b'" in caplog.text


def test_burst_of_20_codes_in_one_second_arrives_in_order(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    codes = [f"69010280758{n:02d}" for n in range(20)]
    scanner = running(SerialScannerSettings(str(link), baud=115200))
    assert wait_until(connected(scanner))
    for code in codes:  # pacing the writer at 20 codes/s (not a wait for a result)
        pty_pair.write(code.encode() + b"\r")
        time.sleep(0.05)
    assert wait_until(collector.got(20))
    assert collector.codes == codes
    assert collector.errors == []


def test_back_to_back_codes_in_one_write_none_merged(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    codes = [f"ITEM-{n:03d}" for n in range(20)]
    scanner = running(SerialScannerSettings(str(link), framing="CRLF"))
    assert wait_until(connected(scanner))
    pty_pair.write(b"".join(code.encode() + b"\r\n" for code in codes))
    assert wait_until(collector.got(20))
    assert collector.codes == codes


def test_unplug_and_replug_picked_up_within_2_s(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    scanner = running(SerialScannerSettings(str(link)))
    assert wait_until(connected(scanner))
    pty_pair.write(b"111\r")
    assert wait_until(collector.got(1))
    pty_pair.close()  # unplug: the device goes away under the open port
    assert wait_until(lambda: not scanner.health()["ok"])
    assert wait_until(lambda: "disconnected" in collector.error_kinds())
    assert scanner.health()["detail"].startswith("disconnected")
    replugged = Pty()
    try:
        swap_link(link, replugged.path)
        plugged_at = time.monotonic()
        assert wait_until(connected(scanner))
        assert time.monotonic() - plugged_at <= 2.0
        replugged.write(b"222\r")
        assert wait_until(collector.got(2))
        assert collector.codes == ["111", "222"]
        assert collector.error_kinds() == ["disconnected"]  # once per outage, not per retry
    finally:
        replugged.close()


def test_device_path_vanishing_is_a_disconnect(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    scanner = running(SerialScannerSettings(str(link)))
    assert wait_until(connected(scanner))
    link.unlink()
    assert wait_until(lambda: not scanner.health()["ok"])
    assert "vanished" in collector.errors[0][1]
    link.symlink_to(pty_pair.path)
    assert wait_until(connected(scanner), timeout=2.0)
    pty_pair.write(b"333\r")
    assert wait_until(collector.got(1))
    assert collector.codes == ["333"]


def test_link_repointed_to_new_device_reconnects(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    scanner = running(SerialScannerSettings(str(link)))
    assert wait_until(connected(scanner))
    other = Pty()
    try:
        swap_link(link, other.path)
        assert wait_until(lambda: "disconnected" in collector.error_kinds())
        assert "now points to" in collector.errors[0][1]
        assert wait_until(connected(scanner), timeout=2.0)
        other.write(b"444\r")
        assert wait_until(collector.got(1))
        assert collector.codes == ["444"]
    finally:
        other.close()


def test_missing_device_at_start_reported_once_then_connects(
    running: Callable[..., SerialScanner], collector: Collector, tmp_path: Path
) -> None:
    link = tmp_path / "usb-scanner-if00"
    attempts: list[str] = []

    def counting_open(settings: SerialScannerSettings, timeout_s: float) -> ScannerPort:
        attempts.append(settings.device)
        return open_serial_port(settings, timeout_s)

    scanner = running(SerialScannerSettings(str(link), reconnect_s=0.05), open_port=counting_open)
    assert wait_until(lambda: len(attempts) >= 4)
    health = scanner.health()
    assert health["ok"] is False
    assert health["kind"] == "serial"
    assert f"cannot open scanner scanner at {link}" in health["detail"]
    assert collector.error_kinds() == ["disconnected"]
    late = Pty()
    try:
        link.symlink_to(late.path)
        assert wait_until(connected(scanner), timeout=2.0)
        late.write(b"555\r")
        assert wait_until(collector.got(1))
        assert collector.codes == ["555"]
    finally:
        late.close()


def test_second_reader_refused_exclusive_access(
    running: Callable[..., SerialScanner], collector: Collector, pty_pair: Pty, link: Path
) -> None:
    first = running(SerialScannerSettings(str(link), name="lane"))
    assert wait_until(connected(first))
    second = running(SerialScannerSettings(str(link), name="intruder"))
    assert wait_until(lambda: "disconnected" in collector.error_kinds())
    assert "cannot open scanner intruder" in second.health()["detail"]
    assert "exclusively lock" in second.health()["detail"]
    assert first.health()["ok"] is True


def test_health_reports_connected_device(running: Callable[..., SerialScanner], link: Path) -> None:
    scanner = running(SerialScannerSettings(str(link), name="lane-1", baud=19200))
    assert wait_until(connected(scanner))
    assert scanner.health() == {
        "name": "lane-1",
        "kind": "serial",
        "ok": True,
        "detail": f"connected on {link} at 19200 baud",
    }


def test_failing_callback_logged_and_reading_goes_on(
    pty_pair: Pty, link: Path, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[str] = []

    def on_code(code: str) -> None:
        received.append(code)
        if code == "BAD":
            raise RuntimeError("lane refused")

    scanner = SerialScanner(SerialScannerSettings(str(link)), on_code)
    scanner.start()
    try:
        assert wait_until(connected(scanner))
        pty_pair.write(b"BAD\rGOOD\r")
        assert wait_until(lambda: len(received) >= 2)
        assert received == ["BAD", "GOOD"]
        assert "on_code failed for 'BAD'" in caplog.text
    finally:
        scanner.stop()


def test_loop_url_port_delivers_codes_and_reconnects(
    running: Callable[..., SerialScanner], collector: Collector
) -> None:
    ports: list[serial.SerialBase] = []

    def keeping_open(settings: SerialScannerSettings, timeout_s: float) -> ScannerPort:
        port = serial.serial_for_url(settings.device, baudrate=settings.baud, timeout=timeout_s)
        ports.append(port)
        return port

    scanner = running(SerialScannerSettings("loop://", framing="LF"), open_port=keeping_open)
    assert wait_until(connected(scanner))
    ports[0].write(b"4006381333931\n12\x0034\n")
    assert wait_until(collector.got(1))
    assert wait_until(lambda: len(collector.errors) >= 1)
    assert collector.error_kinds() == ["non_printable"]
    ports[0].close()  # the port goes away under the reader
    assert wait_until(lambda: len(ports) >= 2 and connected(scanner)())
    assert "disconnected" in collector.error_kinds()
    ports[1].write(b"6901028075831\n")
    assert wait_until(collector.got(2))
    assert collector.codes == ["4006381333931", "6901028075831"]


def test_open_serial_port_missing_device_raises_device_error(tmp_path: Path) -> None:
    missing = tmp_path / "usb-nothing-if00"
    with pytest.raises(DeviceError, match=f"cannot open scanner scanner at {missing}"):
        open_serial_port(SerialScannerSettings(str(missing)), 0.05)


def test_start_twice_refused(running: Callable[..., SerialScanner], link: Path) -> None:
    scanner = running(SerialScannerSettings(str(link), name="lane-1"))
    with pytest.raises(DeviceError, match="scanner lane-1 is already started"):
        scanner.start()


def test_stop_joins_reader_thread_and_allows_restart(
    collector: Collector, pty_pair: Pty, link: Path
) -> None:
    scanner = SerialScanner(SerialScannerSettings(str(link)), collector.on_code)
    scanner.stop()  # never started: nothing to do
    scanner.start()
    assert wait_until(connected(scanner))
    scanner.stop()
    assert not any(t.name == "scanner-scanner" for t in threading.enumerate())
    assert scanner.health()["detail"] == "stopped"
    scanner.start()
    assert wait_until(connected(scanner))
    pty_pair.write(b"777\r")
    assert wait_until(collector.got(1))
    scanner.stop()
    assert collector.codes == ["777"]


@pytest.mark.parametrize(
    ("kwargs", "key", "problem"),
    [
        ({"device": " "}, "device", "must name a serial device"),
        ({"name": ""}, "name", "must not be empty"),
        ({"baud": 9601}, "baud", "9601 is not a standard baud rate"),
        ({"framing": "tab"}, "framing", "must be one of CR, LF, CRLF, gap, got 'tab'"),
        ({"max_length": 0}, "max_length", "must be 1 to 4096, got 0"),
        ({"gap_s": 2.0}, "gap_s", "must be 0.005 to 1 s, got 2.0"),
        ({"debounce_s": -0.1}, "debounce_s", "must be 0 to 10 s, got -0.1"),
        ({"reconnect_s": 0}, "reconnect_s", "must be 0.05 to 10 s, got 0"),
        ({"prefix": b"\r"}, "prefix", "must not contain the CR terminator"),
        ({"suffix": b"\n", "framing": "LF"}, "suffix", "must not contain the LF"),
    ],
)
def test_settings_refuse_bad_values(kwargs: dict[str, object], key: str, problem: str) -> None:
    values: dict[str, object] = {"device": "/dev/ttyACM0", **kwargs}
    with pytest.raises(ConfigError) as caught:
        SerialScannerSettings(**values)  # type: ignore[arg-type]
    assert caught.value.key == f"{CONFIG_TABLE}.{key}"
    assert problem in caught.value.problem


@pytest.mark.real_hw
@pytest.mark.skipif(
    os.environ.get("KIOSK_TEST_REAL_HW") != "1",
    reason="needs a serial scanner: KIOSK_TEST_REAL_HW=1 KIOSK_TEST_SERIAL_SCANNER=<by-id path>",
)
def test_real_serial_scanner_reads_a_scan(collector: Collector) -> None:
    device = os.environ["KIOSK_TEST_SERIAL_SCANNER"]
    settings = SerialScannerSettings(
        device,
        baud=int(os.environ.get("KIOSK_TEST_SERIAL_BAUD", "9600")),
        framing=os.environ.get("KIOSK_TEST_SERIAL_FRAMING", "CR"),
    )
    scanner = SerialScanner(settings, collector.on_code, collector.on_error)
    scanner.start()
    try:
        assert wait_until(connected(scanner), timeout=5.0), scanner.health()
        print(f"\nscan any barcode with the scanner on {device} within 30 s")
        assert wait_until(collector.got(1), timeout=30.0), collector.errors
        print(f"read {collector.codes[0]!r}")
        assert collector.errors == []
    finally:
        scanner.stop()


def test_unexpected_failure_in_reader_shows_as_fault(
    running: Callable[..., SerialScanner], collector: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_open(settings: SerialScannerSettings, timeout_s: float) -> ScannerPort:
        raise RuntimeError("opener bug")

    scanner = running(SerialScannerSettings("loop://"), open_port=broken_open)
    assert wait_until(lambda: collector.errors != [])
    assert collector.errors == [
        ("disconnected", "reader thread stopped on RuntimeError('opener bug')")
    ]
    assert wait_until(lambda: scanner.health()["detail"].startswith("failed:"))
    assert scanner.health()["ok"] is False
    assert "reader thread failed" in caplog.text

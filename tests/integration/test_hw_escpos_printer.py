"""kiosk.hw.escpos_printer.EscposPrinter on real python-escpos transports, without a printer:
the dummy transport, a file, a local TCP "printer" that answers DLE EOT status queries with
scripted bytes, and a serial printer on a pseudo-terminal pair."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.errors import ConfigError, DeviceError
from kiosk.hw.escpos_printer import EscposPrinter, EscposSettings
from kiosk.hw.escpos_render import render_receipt
from kiosk.hw.fake import FakeClock
from kiosk.hw.printer_profiles import get_profile
from kiosk.receipt import Receipt, ReceiptLine, ReceiptTax, ReceiptTender, ReceiptTotals

ONLINE = {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}
NEAR_END = {**ONLINE, 4: 0x1E}
PAPER_OUT = {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x72}
COVER_OPEN = {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12}
DLE_EOT = b"\x10\x04"


def receipt(language: str = "en") -> Receipt:
    name = "香蕉" if language == "zh_CN" else "Bananas"
    return Receipt(
        store_name="Shop",
        address=(),
        header=(),
        kiosk_id="k1",
        receipt_no="s1-k1-7",
        seq=7,
        occurred_at="2026-11-27 17:15",
        business_day="2026-11-27",
        language=language,
        currency="CNY",
        lines=(ReceiptLine(name, "1", "ea", 500, 500, (), "VAT13"),),
        basket_adjustments=(),
        taxes=(ReceiptTax("VAT13", "13%", 442, 58),),
        totals=ReceiptTotals(500, 0, 58, True, 0, 500),
        tenders=(ReceiptTender("card", 500, ref="****4242"),),
        change=0,
        member_id=None,
        barcode="Rs1-k1-7",
        footer=(),
    )


class LocalPrinter:
    """A TCP "printer" on 127.0.0.1: keeps every byte that is not a status query in
    ``received`` and answers ``DLE EOT n`` with ``status[n]``.

    Scripts: ``silent`` (never answers), ``status_after_data`` (the status once job bytes have
    arrived, e.g. paper running out mid-job), ``die_after`` (after that many job bytes the
    printer is switched off: every connection is reset and the port closes)."""

    def __init__(self, port: int = 0, status: dict[int, int] | None = None) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self.status = dict(status or ONLINE)
        self.status_after_data: dict[int, int] | None = None
        self.die_after: int | None = None
        self.silent = False
        self.received = bytearray()
        self.queries: list[int] = []
        self.connections = 0
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with self._lock:
                self._clients.append(client)
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        pending = b""
        while True:
            try:
                chunk = client.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            data = pending + chunk
            pending = b""
            i = 0
            while i < len(data):
                if data[i : i + 2] == DLE_EOT:
                    if i + 2 >= len(data):
                        pending = data[i:]
                        break
                    self._answer(client, data[i + 2])
                    i += 3
                    continue
                with self._lock:
                    self.received.append(data[i])
                    self._arrived.notify_all()
                    if self.status_after_data is not None:
                        self.status = self.status_after_data
                    dying = self.die_after is not None and len(self.received) >= self.die_after
                if dying:
                    self.kill()
                    return
                i += 1

    def _answer(self, client: socket.socket, n: int) -> None:
        with self._lock:
            self.queries.append(n)
            reply = None if self.silent else self.status[n]
        if reply is not None:
            client.sendall(bytes((reply,)))

    def wait_for(self, count: int, timeout: float = 5.0) -> bytes:
        """The job bytes once at least ``count`` have arrived (or what came within ``timeout``)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return bytes(self.received)

    def drop_clients(self) -> None:
        """The printer restarts: open connections are closed, the port stays open."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.shutdown(socket.SHUT_RDWR)
            client.close()

    def kill(self) -> None:
        """The printer is switched off: connections are reset, nothing listens any more."""
        self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()


@pytest.fixture
def local_printer() -> Iterator[LocalPrinter]:
    server = LocalPrinter()
    yield server
    server.kill()


def network(server: LocalPrinter, profile: str = "epson-tm-t88", **kw: object) -> EscposPrinter:
    settings = EscposSettings(
        transport="network", host="127.0.0.1", port=server.port, profile=profile, timeout_s=1.0
    )
    return EscposPrinter(replace(settings, **kw), FakeClock())  # type: ignore[arg-type]


def code(exc: pytest.ExceptionInfo[DeviceError]) -> str:
    return str(exc.value).split(":")[0]


# -- dummy -----------------------------------------------------------------------------------------
def test_dummy_printer_keeps_the_exact_job_bytes() -> None:
    printer = EscposPrinter(EscposSettings(profile="epson-tm-t88-zh"), FakeClock())
    printer.print_text("j1", "合计 5.00\n", "")
    assert printer.dummy_output() == (
        b"\x1b@\x1c&" + "合计".encode("gb18030") + b" 5.00\n\x1c.\x1dVB\x00"
    )
    assert printer.status() == {
        "online": None,
        "paper": "unknown",
        "cover_open": None,
        "error": None,
    }
    assert printer.health()["ok"] is True


@pytest.mark.parametrize("profile", ["epson-tm-t88-zh", "xprinter-58", "generic-80"])
def test_test_page_ruler_is_exactly_the_paper_width(profile: str) -> None:
    printer = EscposPrinter(EscposSettings(profile=profile), FakeClock())
    printer.print_test_page("TEST-1")
    columns = get_profile(profile).columns
    ruler = "".join(str(i % 10) for i in range(1, columns + 1)).encode()
    assert b"\n" + ruler + b"\n" in printer.dummy_output()
    assert b"TEST-1" in printer.dummy_output()


def test_a_job_id_prints_once_and_an_empty_one_is_refused() -> None:
    printer = EscposPrinter(EscposSettings(), FakeClock())
    printer.print_receipt("sale-1", receipt())
    with pytest.raises(ValueError, match="job already printed: sale-1"):
        printer.print_receipt("sale-1", receipt())
    with pytest.raises(ValueError, match="job id must not be empty"):
        printer.print_text(" ", "x", "")
    assert printer.last_job is not None
    assert printer.last_job.bytes_sent == len(printer.dummy_output())


def test_a_bad_barcode_fails_before_anything_is_sent() -> None:
    printer = EscposPrinter(EscposSettings(), FakeClock())
    with pytest.raises(ValueError, match="printable ASCII"):
        printer.print_text("j1", "Milk\n", "收据")
    assert printer.dummy_output() == b""


def test_missing_raster_font_fails_the_job_with_no_font_before_any_byte(tmp_path: Path) -> None:
    settings = EscposSettings(profile="epson-tm-t88", raster_font=str(tmp_path / "none.ttc"))
    printer = EscposPrinter(settings, FakeClock())
    with pytest.raises(DeviceError, match=r"^no_font: raster font .*none\.ttc does not exist"):
        printer.print_receipt("j1", receipt("zh_CN"))
    assert printer.dummy_output() == b""


def test_raster_fallback_prints_the_chinese_line_as_an_image() -> None:
    printer = EscposPrinter(EscposSettings(profile="epson-tm-t88"), FakeClock())
    printer.print_receipt("j1", receipt("zh_CN"))
    assert printer.last_job is not None
    assert printer.last_job.raster_lines > 0
    assert b"\x1dv0" in printer.dummy_output()


# -- settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"transport": "bluetooth"}, "devices.escpos_printer.transport"),
        ({"profile": "nope"}, "devices.escpos_printer.profile"),
        ({"transport": "usb"}, "devices.escpos_printer.usb_vendor_id"),
        ({"transport": "serial"}, "devices.escpos_printer.serial_device"),
        ({"serial_baud": 1234}, "devices.escpos_printer.serial_baud"),
        ({"transport": "network"}, "devices.escpos_printer.host"),
        ({"port": 0}, "devices.escpos_printer.port"),
        ({"transport": "file"}, "devices.escpos_printer.file_path"),
        ({"timeout_s": 0}, "devices.escpos_printer.timeout_s"),
        ({"barcode": "ean13"}, "devices.escpos_printer.barcode"),
    ],
)
def test_bad_settings_name_the_key(kw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        EscposSettings(**kw)  # type: ignore[arg-type]
    assert exc.value.key == key


# -- file ------------------------------------------------------------------------------------------
def test_file_transport_writes_each_job_to_the_device_file(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    printer = EscposPrinter(EscposSettings(transport="file", file_path=str(path)), FakeClock())
    printer.print_text("j1", "one\n", "")
    printer.print_text("j2", "two\n", "")
    assert path.read_bytes() == b"\x1b@one\n\x1dVB\x00\x1b@two\n\x1dVB\x00"
    assert printer.status()["online"] is None
    printer.close()


def test_file_transport_reopens_a_device_that_was_re_created(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    printer = EscposPrinter(EscposSettings(transport="file", file_path=str(path)), FakeClock())
    printer.print_text("j1", "one\n", "")
    path.unlink()  # unplugged ...
    path.write_bytes(b"")  # ... and back as a new device node
    printer.print_text("j2", "two\n", "")
    assert path.read_bytes() == b"\x1b@two\n\x1dVB\x00"
    printer.close()


def test_missing_device_file_is_not_found_and_never_created() -> None:
    settings = EscposSettings(transport="file", file_path="/dev/usb/lp-kiosk-test")
    printer = EscposPrinter(settings, FakeClock())
    with pytest.raises(DeviceError) as exc:
        printer.print_text("j1", "x\n", "")
    assert code(exc) == "not_found"
    assert "/dev/usb/lp-kiosk-test" in str(exc.value)
    assert not os.path.exists("/dev/usb/lp-kiosk-test")
    assert printer.health()["ok"] is False


def test_a_directory_as_device_file_is_not_found(tmp_path: Path) -> None:
    printer = EscposPrinter(EscposSettings(transport="file", file_path=str(tmp_path)), FakeClock())
    with pytest.raises(DeviceError) as exc:
        printer.print_text("j1", "x\n", "")
    assert code(exc) == "not_found"


# -- usb ----------------------------------------------------------------------------------------
def test_usb_printer_that_is_not_plugged_in_is_not_found() -> None:
    settings = EscposSettings(transport="usb", usb_vendor_id=0x04B8, usb_product_id=0x0E15)
    printer = EscposPrinter(settings, FakeClock())
    with pytest.raises(DeviceError) as exc:
        printer.print_text("j1", "x\n", "")
    assert code(exc) == "not_found"
    assert "usb 04b8:0e15" in str(exc.value)


# -- network: status -----------------------------------------------------------------------------
def test_network_job_is_sent_between_two_status_checks(local_printer: LocalPrinter) -> None:
    printer = network(local_printer)
    printer.print_receipt("j1", receipt())
    expected = render_receipt(receipt(), get_profile("epson-tm-t88"), None).data
    assert bytes(local_printer.received) == expected
    assert local_printer.queries == [1, 4, 1, 4]
    assert printer.last_job is not None
    assert printer.last_job.bytes_sent == len(expected)
    assert printer.status()["online"] is True
    printer.close()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (ONLINE, {"online": True, "paper": "ok", "cover_open": False, "error": None}),
        (NEAR_END, {"online": True, "paper": "near_end", "cover_open": False, "error": None}),
        (PAPER_OUT, {"online": False, "paper": "out", "cover_open": False, "error": None}),
        (COVER_OPEN, {"online": False, "paper": "ok", "cover_open": True, "error": None}),
    ],
)
def test_status_bytes_from_the_printer_map_to_states(
    local_printer: LocalPrinter, status: dict[int, int], expected: dict[str, object]
) -> None:
    local_printer.status = status
    printer = network(local_printer)
    assert printer.status() == expected
    printer.close()


@pytest.mark.parametrize(
    ("status", "fault"), [(PAPER_OUT, "paper_out"), (COVER_OPEN, "cover_open")]
)
def test_a_fault_before_the_job_refuses_it_and_sends_nothing(
    local_printer: LocalPrinter, status: dict[int, int], fault: str
) -> None:
    local_printer.status = status
    printer = network(local_printer)
    with pytest.raises(DeviceError) as exc:
        printer.print_text("j1", "Milk\n", "")
    assert code(exc) == fault
    assert "not sent" in str(exc.value)
    assert printer.health() == {
        "name": "printer",
        "kind": "escpos-network",
        "ok": False,
        "detail": str(exc.value).split(" (job")[0],
    }
    local_printer.status = ONLINE  # paper loaded, cover closed: the same job id prints
    printer.print_text("j1", "Milk\n", "")
    assert bytes(local_printer.received) == b"\x1b@Milk\n\x1dVB\x00"
    printer.close()


def test_paper_near_end_prints_and_is_reported(local_printer: LocalPrinter) -> None:
    local_printer.status = NEAR_END
    printer = network(local_printer)
    printer.print_text("j1", "Milk\n", "")
    assert printer.last_status.paper == "near_end"
    assert printer.health()["detail"] == "paper near end"
    assert printer.health()["ok"] is True
    printer.close()


def test_paper_running_out_during_the_job_fails_it(local_printer: LocalPrinter) -> None:
    local_printer.status_after_data = PAPER_OUT
    printer = network(local_printer)
    with pytest.raises(DeviceError, match=r"^paper_out: .* during job j1; the receipt may be"):
        printer.print_text("j1", "Milk\n", "")
    assert bytes(local_printer.received) == b"\x1b@Milk\n\x1dVB\x00"
    printer.close()


def test_a_printer_that_does_not_answer_status_is_offline(local_printer: LocalPrinter) -> None:
    local_printer.silent = True
    printer = network(local_printer)
    with pytest.raises(DeviceError) as exc:
        printer.print_text("j1", "Milk\n", "")
    assert code(exc) == "offline"
    assert bytes(local_printer.received) == b""
    printer.close()


def test_status_can_be_switched_off_for_a_printer_that_never_answers(
    local_printer: LocalPrinter,
) -> None:
    local_printer.silent = True
    printer = network(local_printer, status=False)
    printer.print_text("j1", "Milk\n", "")
    assert local_printer.wait_for(11) == b"\x1b@Milk\n\x1dVB\x00"
    assert local_printer.queries == []
    assert printer.last_job is not None
    assert printer.last_job.status_after.known is False
    printer.close()


# -- network: power cycles -----------------------------------------------------------------------
def test_nothing_listening_is_offline() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    settings = EscposSettings(transport="network", host="127.0.0.1", port=port, timeout_s=1.0)
    printer = EscposPrinter(settings, FakeClock())
    with pytest.raises(DeviceError) as exc:
        printer.print_text("j1", "x\n", "")
    assert code(exc) == "offline"
    assert "connection refused" in str(exc.value).lower()
    assert printer.status()["online"] is False


def test_printer_killed_mid_job_is_offline_then_the_next_job_reopens() -> None:
    first = LocalPrinter()
    first.die_after = 4
    printer = network(first)
    with pytest.raises(DeviceError) as exc:
        printer.print_text("j1", "Milk " * 2000 + "\n", "")
    assert code(exc) == "offline"
    second = LocalPrinter(port=first.port)  # switched on again
    try:
        printer.print_text("j1", "Milk\n", "")  # the failed job may be sent again
        assert bytes(second.received) == b"\x1b@Milk\n\x1dVB\x00"
        assert second.connections == 1
    finally:
        printer.close()
        second.kill()


def test_printer_restarted_between_jobs_reconnects_without_an_error(
    local_printer: LocalPrinter,
) -> None:
    printer = network(local_printer)
    printer.print_text("j1", "one\n", "")
    local_printer.drop_clients()  # power cycle while idle: our socket is now stale
    printer.print_text("j2", "two\n", "")
    assert local_printer.connections == 2
    assert bytes(local_printer.received).endswith(b"\x1b@two\n\x1dVB\x00")
    printer.close()


# -- drawer kick -----------------------------------------------------------------------------------
def test_kick_drawer_sends_esc_p_in_two_ms_units(local_printer: LocalPrinter) -> None:
    printer = network(local_printer)
    printer.kick_drawer(pin=2, pulse_ms=100)
    printer.status()  # one more round trip: the kick has been read by then
    assert bytes(local_printer.received) == b"\x1bp\x00\x32\x32"
    printer.close()


def test_kick_drawer_out_of_paper_uses_the_real_time_pulse(local_printer: LocalPrinter) -> None:
    local_printer.status = PAPER_OUT
    printer = network(local_printer)  # Epson TM-T88: DLE DC4 works while offline
    printer.kick_drawer(pin=5, pulse_ms=200)
    printer.status()
    assert bytes(local_printer.received) == b"\x10\x14\x01\x01\x02"
    printer.close()


def test_kick_drawer_out_of_paper_without_real_time_pulse_is_refused(
    local_printer: LocalPrinter,
) -> None:
    local_printer.status = PAPER_OUT
    printer = network(local_printer, profile="generic-80")
    with pytest.raises(DeviceError, match=r"^paper_out: .*the drawer was not kicked"):
        printer.kick_drawer()
    assert bytes(local_printer.received) == b""
    printer.close()


@pytest.mark.parametrize(("pin", "pulse_ms"), [(3, 100), (2, 10), (2, 600)])
def test_kick_drawer_checks_pin_and_pulse(pin: int, pulse_ms: int) -> None:
    printer = EscposPrinter(EscposSettings(), FakeClock())
    with pytest.raises(ValueError, match=r"pin|pulse"):
        printer.kick_drawer(pin, pulse_ms)


# -- serial ------------------------------------------------------------------------------------
def test_serial_printer_on_a_pty_answers_status_and_prints() -> None:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    received = bytearray()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data = os.read(master, 1024)
            except OSError:  # the printer side was closed
                return
            for byte in data:
                received.append(byte)
                if received[-3:-1] == DLE_EOT:
                    os.write(master, bytes((NEAR_END[byte],)))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings = EscposSettings(transport="serial", serial_device=path, timeout_s=1.0)
    printer = EscposPrinter(settings, FakeClock())
    try:
        printer.print_text("j1", "Milk\n", "")
        assert printer.last_status.paper == "near_end"
        assert b"\x1b@Milk\n\x1dVB\x00" in bytes(received)
    finally:
        printer.close()
        stop.set()
        os.close(slave)
        os.close(master)

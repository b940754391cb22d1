"""The receipt printer contract: one test body for ``FakePrinter`` and ``EscposPrinter``.

What every printer must do for the lane (the ``kiosk.ports.ReceiptPrinter`` port): print a
receipt job; refuse a job id it already printed (``ValueError``), so nothing prints twice by
accident; refuse a job while out of paper with ``DeviceError("paper_out: ...")`` and while
unreachable with ``DeviceError("offline: ...")``, and print the same (failed) job id once the
fault is cleared, without a restart; report ``status()`` (``online``, ``paper``,
``cover_open``) and ``health()``.

Rigs:

- ``fake``: ``kiosk.hw.fake.FakePrinter`` (printing into python-escpos's ``Dummy``), driven
  with its own methods.
- ``network``: ``kiosk.hw.escpos_printer.EscposPrinter`` over python-escpos's ``Network``
  transport to a scripted printer on 127.0.0.1 (a free port): it keeps every job byte and
  answers the real-time status queries (``DLE EOT n``) with the bytes an Epson TM printer sends
  when ready or out of paper; switching it off closes the port and resets the connections,
  switching it on listens on the same port again.
- ``real`` (opt-in): ``EscposPrinter`` on a real printer, on a network (port 9100) or USB::

      KIOSK_TEST_REAL_HW=1 KIOSK_TEST_PRINTER_HOST=192.168.1.60 \\
          .venv/bin/pytest -m real_hw tests/contract/test_printer_contract.py -v -s
      KIOSK_TEST_REAL_HW=1 KIOSK_TEST_PRINTER_USB=04b8:0202 \\
          .venv/bin/pytest -m real_hw tests/contract/test_printer_contract.py -v -s

  ``KIOSK_TEST_PRINTER_HOST`` (and ``KIOSK_TEST_PRINTER_PORT``, default 9100) or
  ``KIOSK_TEST_PRINTER_USB`` (``vendor:product`` from ``lsusb``) choose the printer,
  ``KIOSK_TEST_PRINTER_PROFILE`` its profile (default ``epson-tm-t88``). The faults are made
  by hand: with ``-s`` the test says what to do (take the paper roll out, switch the printer
  off...) and waits up to 2 minutes for the printer's status to show it. Each passing run
  prints a few short receipts.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from kiosk.errors import DeviceError
from kiosk.hw.escpos_printer import EscposPrinter, EscposSettings
from kiosk.hw.fake import FakeClock, FakePrinter
from kiosk.hw.system import SystemClock
from kiosk.receipt import Receipt, ReceiptLine, ReceiptTax, ReceiptTender, ReceiptTotals

REAL_HW = os.environ.get("KIOSK_TEST_REAL_HW") == "1"
OPERATOR_WAIT_S = 120.0

# Real-time status replies (DLE EOT 1..4) of an Epson TM printer.
READY = {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}
PAPER_OUT = {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x72}
DLE_EOT = b"\x10\x04"
JOB_MARK = re.compile(rb"job (J-[0-9A-Za-z-]+)")


def receipt(job_id: str) -> Receipt:
    """A one-line paid receipt whose footer names ``job_id`` (so its bytes can be found)."""
    return Receipt(
        store_name="Demo Market",
        address=(),
        header=(),
        kiosk_id="s0001-k01",
        receipt_no=f"s0001-k01-{job_id}",
        seq=7,
        occurred_at="2026-11-27 17:15",
        business_day="2026-11-27",
        language="en",
        currency="CNY",
        lines=(ReceiptLine("Nongfu Spring water 550ml", "1", "ea", 200, 200, (), "VAT13"),),
        basket_adjustments=(),
        taxes=(ReceiptTax("VAT13", "13%", 177, 23),),
        totals=ReceiptTotals(200, 0, 23, True, 0, 200),
        tenders=(ReceiptTender("card", 200, ref="****4242"),),
        change=0,
        member_id=None,
        barcode=f"Rs0001-k01-{job_id}",
        footer=(f"job {job_id}",),
    )


@dataclass
class Rig:
    """A printer and the means to make its faults, like a person at the kiosk would."""

    printer: Any
    run_out_of_paper: Callable[[], None]
    refill: Callable[[], None]
    go_offline: Callable[[], None]
    come_back: Callable[[], None]
    jobs: Callable[[], list[str]]  # the job ids that reached the paper, oldest first


# -- fake --------------------------------------------------------------------------------------
def _fake_rig(stack: ExitStack) -> Rig:
    printer = FakePrinter(FakeClock())

    def jobs() -> list[str]:  # read off the bytes that reached the (Dummy) paper
        return [m.decode() for m in JOB_MARK.findall(printer.output)]

    return Rig(
        printer,
        printer.run_out_of_paper,
        printer.refill,
        printer.go_offline,
        printer.come_back,
        jobs,
    )


# -- EscposPrinter over Network to a scripted printer ----------------------------------------------
class ScriptedPrinter:
    """A TCP receipt printer on 127.0.0.1: keeps job bytes, answers ``DLE EOT n`` from
    ``status``; ``switch_off`` closes the port and resets connections, ``switch_on`` listens
    on the same port again."""

    def __init__(self) -> None:
        self.port = 0
        self.status = dict(READY)
        self.received = bytearray()
        self._lock = threading.Lock()
        self._server: socket.socket | None = None
        self._clients: list[socket.socket] = []
        self.switch_on()

    def switch_on(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def switch_off(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            server.close()
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()

    def set_status(self, replies: dict[int, int]) -> None:
        with self._lock:
            self.status = dict(replies)

    def jobs(self) -> list[str]:
        with self._lock:
            return [m.decode() for m in JOB_MARK.findall(bytes(self.received))]

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            with self._lock:
                self._clients.append(client)
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
            data, pending = pending + chunk, b""
            i = 0
            while i < len(data):
                if data[i : i + 2] == DLE_EOT:
                    if i + 2 >= len(data):
                        pending = data[i:]
                        break
                    with self._lock:
                        reply = self.status[data[i + 2]]
                    try:
                        client.sendall(bytes((reply,)))
                    except OSError:  # switched off meanwhile
                        return
                    i += 3
                    continue
                with self._lock:
                    self.received.append(data[i])
                i += 1


def _network_rig(stack: ExitStack) -> Rig:
    server = ScriptedPrinter()
    stack.callback(server.switch_off)
    settings = EscposSettings(
        transport="network",
        host="127.0.0.1",
        port=server.port,
        profile="epson-tm-t88-zh",
        timeout_s=1.0,
    )
    printer = EscposPrinter(settings, FakeClock())
    stack.callback(printer.close)
    return Rig(
        printer,
        lambda: server.set_status(PAPER_OUT),
        lambda: server.set_status(READY),
        server.switch_off,
        server.switch_on,
        server.jobs,
    )


# -- a real printer (opt-in) -----------------------------------------------------------------------
def _real_settings() -> EscposSettings:
    profile = os.environ.get("KIOSK_TEST_PRINTER_PROFILE", "epson-tm-t88")
    usb = os.environ.get("KIOSK_TEST_PRINTER_USB", "")
    if usb:
        vendor, _, product = usb.partition(":")
        return EscposSettings(
            transport="usb",
            usb_vendor_id=int(vendor, 16),
            usb_product_id=int(product, 16),
            profile=profile,
        )
    return EscposSettings(
        transport="network",
        host=os.environ["KIOSK_TEST_PRINTER_HOST"],
        port=int(os.environ.get("KIOSK_TEST_PRINTER_PORT", "9100")),
        profile=profile,
    )


def _operator(
    printer: EscposPrinter, instruction: str, done: Callable[[dict[str, Any]], bool]
) -> Callable[[], None]:
    """Ask the person at the printer to do something; wait until its status shows it."""

    def step() -> None:
        print(f"\n>>> {instruction} (waiting up to {OPERATOR_WAIT_S:.0f} s)")
        deadline = time.monotonic() + OPERATOR_WAIT_S
        while not done(printer.status()):
            assert time.monotonic() < deadline, f"not done in time: {instruction}"
            time.sleep(0.5)  # polling a person: the printer has no event to wait on

    return step


def _real_rig(stack: ExitStack) -> Rig:
    printer = EscposPrinter(_real_settings(), SystemClock())
    stack.callback(printer.close)
    printed: list[str] = []
    port_method = printer.print_receipt

    def print_receipt(job_id: str, receipt: Receipt) -> None:
        port_method(job_id, receipt)
        printed.append(job_id)  # the real adapter said the job was sent and checked

    printer.print_receipt = print_receipt  # type: ignore[method-assign]
    return Rig(
        printer,
        _operator(printer, "open the cover, take the paper roll out, close the cover",
                  lambda s: s["paper"] == "out" and not s["cover_open"]),
        _operator(printer, "put the paper roll back and close the cover",
                  lambda s: s["paper"] in ("ok", "near_end") and s["online"] is True),
        _operator(printer, "switch the printer off (or pull its cable)",
                  lambda s: s["online"] is False),
        _operator(printer, "switch the printer on again (or plug its cable back)",
                  lambda s: s["online"] is True),
        lambda: list(printed),
    )  # fmt: skip


@pytest.fixture(
    params=[
        "fake",
        "network",
        pytest.param(
            "real",
            marks=[
                pytest.mark.real_hw,
                pytest.mark.skipif(
                    not REAL_HW,
                    reason="opt-in: a receipt printer, KIOSK_TEST_REAL_HW=1 and "
                    "KIOSK_TEST_PRINTER_HOST=... or KIOSK_TEST_PRINTER_USB=... (module docstring)",
                ),
            ],
        ),
    ]
)
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    builders = {"fake": _fake_rig, "network": _network_rig, "real": _real_rig}
    with ExitStack() as stack:
        yield builders[request.param](stack)


# -- the ReceiptPrinter contract: one body, every implementation -----------------------------------
def test_prints_a_receipt_job(rig: Rig) -> None:
    rig.printer.print_receipt("J-1", receipt("J-1"))

    assert rig.jobs() == ["J-1"]


def test_refuses_a_job_id_it_already_printed(rig: Rig) -> None:
    rig.printer.print_receipt("J-1", receipt("J-1"))

    with pytest.raises(ValueError, match=r"^job already printed: J-1$"):
        rig.printer.print_receipt("J-1", receipt("J-1"))

    rig.printer.print_receipt("J-2", receipt("J-2"))
    assert rig.jobs() == ["J-1", "J-2"]


def test_paper_out_refuses_the_job_and_it_prints_after_a_refill(rig: Rig) -> None:
    rig.run_out_of_paper()

    with pytest.raises(DeviceError, match=r"^paper_out: "):
        rig.printer.print_receipt("J-3", receipt("J-3"))
    assert rig.printer.status()["paper"] == "out"
    health = rig.printer.health()
    assert health["ok"] is False and health["detail"].startswith("paper_out: ")
    assert rig.jobs() == []

    rig.refill()
    rig.printer.print_receipt("J-3", receipt("J-3"))  # the failed job may be printed again

    assert rig.jobs() == ["J-3"]
    assert rig.printer.health()["ok"] is True


def test_offline_refuses_the_job_and_it_prints_when_the_printer_is_back(rig: Rig) -> None:
    rig.printer.print_receipt("J-4", receipt("J-4"))
    rig.go_offline()

    with pytest.raises(DeviceError, match=r"^offline: "):
        rig.printer.print_receipt("J-5", receipt("J-5"))
    assert rig.printer.status()["online"] is False
    assert rig.printer.health()["ok"] is False

    rig.come_back()
    rig.printer.print_receipt("J-5", receipt("J-5"))  # reopened, no restart

    assert rig.jobs() == ["J-4", "J-5"]
    assert rig.printer.status()["online"] is True


def test_status_of_a_ready_printer_says_online_with_paper_and_the_cover_shut(rig: Rig) -> None:
    status = rig.printer.status()

    assert {"online", "paper", "cover_open"} <= set(status)
    assert (status["online"], status["paper"], status["cover_open"]) == (True, "ok", False)


def test_health_names_the_printer_and_says_ready(rig: Rig) -> None:
    health = rig.printer.health()

    assert {"name", "kind", "ok", "detail"} <= set(health)
    assert (health["ok"], health["detail"]) == (True, "ready")

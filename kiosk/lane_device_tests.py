"""Device tests an attendant runs from the lane: the status light, the scanner and the receipt
printer. Pure core.

Called on the lane thread by ``kiosk.checkout.Lane`` for the commands ``light_test``,
``scanner_test``, ``scanner_test_cancel`` and ``printer_test``, for every ``scan``
(``take_scan``) and on the lane's tick (``poll``). Like ``open_drawer`` (the drawer's test)
each needs a logged-in attendant (``Lane.need_attendant``) and is audited: a ``device_test``
row (``device``, ``staff``, ``sale_id``) is written before the test starts, and a
``device_test_result`` row (``device``, ``staff``, ``result``, ``message``; for a scan only its
``kind`` and ``symbology``, never the code; for a test page its ``job``) once it ends.
``device_test_started`` and ``device_test_result`` events tell the front end; the view's
``device_tests`` lists the light and scanner tests running. A test is not part of the lane
snapshot: a restart ends it (the light then shows the lane's state again, as after every
start).

- Light: shows each of ``LIGHT_TEST_STATES`` in turn through the ``Light`` port, the first at
  once and each next one ``LIGHT_TEST_HOLD_S`` seconds later on the tick (``light_test_step``),
  so the lane thread never waits and the Kivy thread is never involved. While it runs the lane
  does not drive the light (``Lane.wanted_light`` is shown again only when it ends), so the
  attendant sees every state; when it ends the light goes back to the state the lane wants
  NOW (an intervention opened meanwhile shows at once). A ``DeviceError`` from the light ends
  the test with ``result`` ``fault`` and the device's message.
- Scanner: until ``SCANNER_TEST_TIMEOUT_S`` seconds have passed, the next ``scan`` (every
  configured scanner's reads arrive as ``scan`` commands, and so do the sim's) is classified by
  ``kiosk.barcodes`` and echoed in ``device_test_result`` (``result`` ``ok``, ``scan``: what
  kind of code, its symbology, its GS1 application identifiers: ``kiosk.scan_echo``) instead
  of being sold: it never reaches the basket, logs nobody in and pays nothing. Then scanning
  works as before.
  No scan in time: ``result`` ``timeout``. ``scanner_test_cancel``, or the attendant who
  started it logging out, ends it as ``cancelled`` (a scan after a logout is sold as usual).
  A staff badge's or a wallet payment code's digits are masked in the echo but the last 4.
- Printer: a test page (``kiosk.test_page.printer_test_page``: a ``Receipt`` document, the same
  print-job data receipts are, since the page of ``kiosk hw test printer`` lives in the ESC/POS
  adapter) goes through the lane's normal print path: the printer's status first
  (``Printing.check_printer``: paper near its end opens ``paper_low``; offline, paper out or
  cover open answers the fault without sending a byte), then ``ReceiptPrinter.print_receipt``.
  It ends within the command (the port blocks about a second at most): ``result`` ``ok``, or
  ``fault`` with the printer's reason (``paper_out: ...``). A page that printed closes the
  printer's job-less ``printer_fault``, as a printed receipt does. The page is no print job
  in kiosk.db: it is never retried, reprinted or recovered after a restart; the audit rows
  (with its ``job`` id) are its record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from kiosk import barcodes
from kiosk.errors import DeviceError
from kiosk.lane_protocol import Command, wrong_state
from kiosk.money import exponent
from kiosk.scan_echo import describe_scan
from kiosk.test_page import printer_test_page
from kiosk.timefmt import local_display

if TYPE_CHECKING:
    from kiosk.checkout import Lane

logger = logging.getLogger(__name__)

# Every state of the ``Light`` port, in the order the test shows them.
LIGHT_TEST_STATES: Final[tuple[str, ...]] = ("ready", "attention", "intervention", "out_of_service")
# How long the light test shows each state (seconds), as ``kiosk hw test light`` does.
LIGHT_TEST_HOLD_S: Final = 2.0
# How long the scanner test waits for a scan (seconds).
SCANNER_TEST_TIMEOUT_S: Final = 15.0
# The printer test ends within its command: its device_test_started says 0 seconds.
PRINTER_TEST_S: Final = 0.0


@dataclass(slots=True)
class _Running:
    """One test in progress: who started it, when, and (light) which state it shows."""

    device: str
    staff: str
    started_at: str
    since: float  # monotonic: the scanner's start, the light's current step
    step: int = 0


class DeviceTests:
    """The light, scanner and printer tests of one lane (see the module docstring)."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self._light: _Running | None = None
        self._scanner: _Running | None = None
        self._pages = 0  # test pages sent since the start: part of each page's job id
        self._health_stale = False  # the light changed: its health is read on the next tick

    # ------------------------------------------------------------------ what the lane asks
    @property
    def light_busy(self) -> bool:
        """True while the light test drives the light (the lane then leaves it alone)."""
        return self._light is not None

    def view(self) -> list[dict[str, Any]]:
        """The tests running, for the view's ``device_tests``."""
        out: list[dict[str, Any]] = []
        if self._light is not None:
            test = self._light
            out.append(
                {
                    "device": "light",
                    "staff": test.staff,
                    "started_at": test.started_at,
                    "state": LIGHT_TEST_STATES[test.step],
                    "step": test.step + 1,
                    "steps": len(LIGHT_TEST_STATES),
                }
            )
        if self._scanner is not None:
            test = self._scanner
            left = SCANNER_TEST_TIMEOUT_S - (self.lane.deps.clock.monotonic() - test.since)
            out.append(
                {
                    "device": "scanner",
                    "staff": test.staff,
                    "started_at": test.started_at,
                    "timeout_s": SCANNER_TEST_TIMEOUT_S,
                    "left_s": round(max(left, 0.0), 1),
                }
            )
        return out

    # ------------------------------------------------------------------ commands
    def cmd_light_test(self, _command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        if self._light is not None:
            raise wrong_state("a light test is running already; it ends by itself")
        test = self._start("light", staff.staff_id, LIGHT_TEST_HOLD_S * len(LIGHT_TEST_STATES))
        self._light = test
        self._show_step(test)

    def cmd_scanner_test(self, _command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        if self._scanner is not None:
            raise wrong_state("a scanner test is running already: scan a barcode or cancel it")
        self._scanner = self._start("scanner", staff.staff_id, SCANNER_TEST_TIMEOUT_S)

    def cmd_scanner_test_cancel(self, _command: Command) -> None:
        self.lane.need_attendant()
        if self._scanner is None:
            raise wrong_state("no scanner test is running")
        self._end_scanner("cancelled", "the attendant stopped the scanner test")

    def cmd_printer_test(self, _command: Command) -> None:
        lane = self.lane
        staff = lane.need_attendant()
        test = self._start("printer", staff.staff_id, PRINTER_TEST_S)
        self._pages += 1
        now = lane.deps.clock.now()
        job_id = f"TEST-{now.astimezone(lane.deps.tz):%Y%m%d-%H%M%S}-{self._pages}"
        cfg = lane.config
        page = printer_test_page(
            job_id,
            store=cfg.store,
            kiosk_id=cfg.kiosk.id,
            width=cfg.receipt.width,
            local_time=local_display(now, lane.deps.tz),
            business_day=lane.today().isoformat(),
            language=cfg.receipt.language or cfg.kiosk.default_language,
            staff=staff.staff_id,
        )
        fault = lane.printing.check_printer()
        if fault is None:
            try:
                lane.deps.printer.print_receipt(job_id, page)
            except DeviceError as exc:
                fault = str(exc)
            except ValueError as exc:  # the adapter refused the job itself
                fault = f"refused: {exc}"
        if fault is not None:
            self._finish(test, "fault", fault, job=job_id)
            return
        lane.printing.device_recovered(ask=False)
        self._finish(test, "ok", f"test page {job_id} printed", job=job_id)

    # ------------------------------------------------------------------ scans and the tick
    def take_scan(self, raw: str) -> bool:
        """A ``scan``: True when the scanner test took it (echoed, not sold)."""
        test = self._scanner
        if test is None or not self._scanner_still_on(test):
            return False
        lane = self.lane
        currency_exp = exponent(lane.config.store.currency)
        result = barcodes.classify(raw, lane.config.barcodes, lane.today(), currency_exp)
        scan = describe_scan(raw, result)
        self._end_scanner("ok", f"read a {scan['kind']} code", scan)
        return True

    def poll(self) -> None:
        """On the lane's tick: the light's next state, the scanner test's timeout."""
        lane = self.lane
        now = lane.deps.clock.monotonic()
        if self._health_stale:  # the view's light entry follows the test, not 5 s later
            self._health_stale = False
            if lane.devices.read_health():
                lane.emit("devices_changed", devices=[dict(e) for e in lane.devices.health])
        light = self._light
        if light is not None and now - light.since >= LIGHT_TEST_HOLD_S - 1e-9:
            if light.step + 1 >= len(LIGHT_TEST_STATES):
                self._end_light("ok", "every state was shown")
            else:
                light.step += 1
                light.since = now
                self._show_step(light)
        if self._scanner is not None:
            self._scanner_still_on(self._scanner)

    # ------------------------------------------------------------------ inside
    def _start(self, device: str, staff: str, seconds: float) -> _Running:
        lane = self.lane
        # On record before anything is driven, as the drawer's test (open_drawer) is.
        lane.deps.store.record_audit(
            "device_test", {"device": device, "staff": staff, "sale_id": lane.state.sale_id}
        )
        test = _Running(device, staff, lane.now_iso(), lane.deps.clock.monotonic())
        lane.emit("device_test_started", device=device, staff=staff, seconds=seconds)
        logger.info(
            "device test started",
            extra={"kiosk": lane.config.kiosk.id, "device": device, "staff": staff},
        )
        return test

    def _show_step(self, test: _Running) -> None:
        state = LIGHT_TEST_STATES[test.step]
        self._health_stale = True
        try:
            self.lane.deps.light.show(state)
        except DeviceError as exc:
            self._end_light("fault", str(exc))
            return
        self.lane.emit(
            "light_test_step", state=state, step=test.step + 1, steps=len(LIGHT_TEST_STATES)
        )

    def _scanner_still_on(self, test: _Running) -> bool:
        """End the scanner test when its time is up or its attendant left; True if it runs."""
        lane = self.lane
        if lane.attendant is None or lane.attendant.staff_id != test.staff:
            self._end_scanner("cancelled", f"{test.staff} logged out")
            return False
        if lane.deps.clock.monotonic() - test.since >= SCANNER_TEST_TIMEOUT_S - 1e-9:
            self._end_scanner("timeout", f"no scan within {SCANNER_TEST_TIMEOUT_S:g} s")
            return False
        return True

    def _end_light(self, result: str, message: str) -> None:
        test = self._light
        assert test is not None
        self._light = None  # the lane drives the light again: Lane._update_light shows it
        self._health_stale = True
        back = self.lane.wanted_light()
        self._finish(test, result, f"{message}; back to {back}")

    def _end_scanner(self, result: str, message: str, scan: dict[str, Any] | None = None) -> None:
        test = self._scanner
        assert test is not None
        self._scanner = None
        self._finish(test, result, message, scan)

    def _finish(
        self,
        test: _Running,
        result: str,
        message: str,
        scan: dict[str, Any] | None = None,
        job: str | None = None,
    ) -> None:
        lane = self.lane
        audit: dict[str, Any] = {
            "device": test.device,
            "staff": test.staff,
            "result": result,
            "message": message,
            "started_at": test.started_at,
            "ended_at": lane.now_iso(),
        }
        if scan is not None:  # what was read, never the code itself
            audit.update(kind=scan["kind"], symbology=scan["symbology"])
        if job is not None:  # the printer's test page
            audit["job"] = job
        lane.audit_later("device_test_result", audit)
        lane.emit(
            "device_test_result",
            device=test.device,
            staff=test.staff,
            result=result,
            message=message,
            scan=scan,
        )
        log = logger.warning if result == "fault" else logger.info
        log(
            "device test ended",
            extra={"kiosk": lane.config.kiosk.id, "device": test.device, "result": result},
        )

"""The headless lane as a long-running service, what ``make run`` starts without a display:
``kiosk run --headless --config FILE [--demo] [--commands FIFO]``.

The lane on its ``LaneRunner`` with the configured devices (the demo config's fakes) and the
payment simulators, exactly as ``kiosk sim`` builds it, but running until SIGTERM or SIGINT
instead of until the end of standard input:

- ``--demo`` sells the scripted demo basket (``kiosk.sim.demo.DEMO_SCRIPT``) once per data
  folder: after it the marker ``<data_dir>/demo-sold`` is written, so a restart (supervisor
  after a crash, ``make run`` again) does not sell it twice.
- ``--commands FIFO`` reads more text-mode commands (the language of ``kiosk sim``, e.g.
  ``scan 6921168509256``) from a named pipe it creates: ``echo 'pay card' > FIFO``. The answers
  go to standard output (the service's log), like every device event. ``kiosk run`` with the
  touchscreen takes ``--commands`` too (``serve_commands``).
- Receipts the fake printer prints are also written to ``[paths] receipts``: ``<job>.txt``
  (the laid-out text) and ``<job>.escpos`` (the raw ESC/POS bytes that reached the paper).
- systemd (``Type=notify``, systemd/kiosk-run.service): ``READY=1`` once the lane is restored
  and the devices started, ``WATCHDOG=1`` only while the lane thread answers a no-op within a
  few seconds, ``STOPPING=1`` at the stop (``kiosk.app.sd_notify``).

Threads: the main thread builds, waits for the stop and closes; the lane thread runs the lane
and the receipt writer (a lane listener); the command reader and the watchdog have their own
daemon threads. The kiosk lock is held throughout: ``kiosk sim`` on the same kiosk is refused.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from kiosk.app.headless import build_headless
from kiosk.app.loading import read_config
from kiosk.app.lock import KioskLock
from kiosk.app.sd_notify import Notifier
from kiosk.checkout import Event
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.hw.fake import FakePrinter
from kiosk.lane_runner import LaneRunner
from kiosk.sim.demo import DEMO_SCRIPT
from kiosk.sim.drivers import SimDrivers
from kiosk.sim.runner import SimRunner

logger = logging.getLogger(__name__)

DEMO_MARKER = "demo-sold"
LANE_ALIVE_S = 5.0  # the lane thread must run a no-op within this for a watchdog ping


class ReceiptFiles:
    """A lane listener that writes each new job of the fake printer to ``folder`` (lane thread)."""

    def __init__(self, printer: FakePrinter, folder: Path) -> None:
        self.printer = printer
        self.folder = folder
        self._written = printer.jobs.total  # jobs printed so far (the printer keeps the newest)

    def __call__(self, _events: list[Event], _view: Mapping[str, Any]) -> None:
        jobs = list(self.printer.jobs)
        total = self.printer.jobs.total
        new = min(total - self._written, len(jobs))
        if total - self._written > new:
            logger.error("%d receipts printed were not written", total - self._written - new)
        for job in jobs[len(jobs) - new :]:
            name = "".join(c if c.isalnum() or c in "-_." else "_" for c in job.job_id)
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / f"{name}.escpos").write_bytes(job.data)
                (self.folder / f"{name}.txt").write_text(job.text, encoding="utf-8")
            except OSError as exc:
                logger.error("receipt %s not written to %s: %s", job.job_id, self.folder, exc)
            else:
                logger.info("receipt %s written to %s", job.job_id, self.folder / name)
        self._written = total


def make_fifo(path: Path) -> None:
    """Create the command pipe (mode 0600), or check that ``path`` already is one."""
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        if not stat.S_ISFIFO(path.stat().st_mode):
            raise KioskError(f"--commands {path} exists and is not a named pipe") from None
    except OSError as exc:
        raise KioskError(f"--commands {path}: cannot create the named pipe: {exc}") from None


def _read_commands(path: Path, sim: SimRunner, stop: threading.Event) -> None:
    """The command reader thread: each writer's lines, one command at a time, until stop."""
    while not stop.is_set():
        try:
            with path.open(encoding="utf-8", errors="replace") as pipe:  # waits for a writer
                for line in pipe:
                    if stop.is_set():
                        return
                    sim.run([line], text=True)
        except OSError as exc:
            logger.error("command pipe %s: %s", path, exc)
            stop.wait(1.0)
        except KioskError as exc:
            logger.error("command from %s not answered: %s", path, exc)


def _start_reader(path: Path, sim: SimRunner, stop: threading.Event, out: TextIO) -> None:
    threading.Thread(
        target=_read_commands, args=(path, sim, stop), name="commands", daemon=True
    ).start()
    print(f"commands: echo 'scan 6921168509256' > {path}", file=out, flush=True)


def serve_commands(
    path: Path, runner: LaneRunner, drivers: SimDrivers, out: TextIO, stop: threading.Event
) -> None:
    """``--commands`` for a lane someone else started (``kiosk run`` with the touchscreen):
    the pipe (``make_fifo`` first) is read by a text-mode sim front end on its own thread until
    ``stop``; its answers, and every other batch as ``[device]`` lines, go to ``out``."""
    sim = SimRunner(runner, drivers, out, json_mode=False)
    runner.add_listener(sim._on_batch)  # what SimRunner.start does, but the lane runs already
    _start_reader(path, sim, stop, out)


def notify_lane_ready(
    runner: LaneRunner, status: str, notifier: Notifier | None = None
) -> Notifier:
    """Tell systemd the lane is ready and start the watchdog, which pings only while the lane
    thread answers a no-op; ``kiosk run`` calls it too. Call ``.stopping()`` on the result at
    the stop. Does nothing outside systemd."""
    notifier = notifier or Notifier.from_env()
    notifier.ready(status)
    notifier.start_watchdog(lambda: _lane_alive(runner))
    return notifier


def _lane_alive(runner: LaneRunner) -> bool:
    try:
        runner.post(lambda _lane: None).result(LANE_ALIVE_S)
    except Exception:
        logger.exception("the lane thread did not answer within %.0f s", LANE_ALIVE_S)
        return False
    return True


def run_lane_service(
    config_path: str,
    *,
    demo: bool = False,
    commands: str | None = None,
    out: TextIO | None = None,
    notifier: Notifier | None = None,
) -> int:
    """Run the headless lane until SIGTERM/SIGINT; 0 after a clean stop."""
    out = out or sys.stdout
    notifier = notifier or Notifier.from_env()
    config = read_config(config_path)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("%s: stopping the lane", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with KioskLock.acquire(config.paths.data_dir, "kiosk run --headless"):
            _serve(config, demo, Path(commands) if commands else None, out, notifier, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _serve(
    config: Config,
    demo: bool,
    commands: Path | None,
    out: TextIO,
    notifier: Notifier,
    stop: threading.Event,
) -> None:
    if commands is not None:
        make_fifo(commands)
    kiosk = build_headless(config)
    runner = LaneRunner(kiosk.lane)
    sim = SimRunner(runner, kiosk.drivers, out, json_mode=False)
    printer = kiosk.devices.fakes.printer
    receipts = Path(config.paths.receipts)
    if printer is not None:
        runner.add_listener(ReceiptFiles(printer, receipts))
    try:
        kiosk.devices.connect(runner)
        sim.start()
        kiosk.devices.start()
        where = f"receipts in {receipts}" if printer is not None else "real printer"
        logger.info("lane %s running (%s)", config.kiosk.id, where)
        print(f"lane {config.kiosk.id} ready; {where}", file=out, flush=True)
        notify_lane_ready(runner, f"lane {config.kiosk.id} ready", notifier)
        marker = Path(config.paths.data_dir) / DEMO_MARKER
        if demo and not marker.exists():
            sim.run(DEMO_SCRIPT, text=True)
            marker.write_text("the demo basket was sold; remove this file to sell it again\n")
        if commands is not None:
            _start_reader(commands, sim, stop, out)
        stop.wait()
    finally:
        notifier.stopping()
        kiosk.devices.stop()  # no more scans, then let the lane finish what is queued
        try:
            runner.stop()
        finally:
            kiosk.close()

"""The touchscreen kiosk: ``kiosk run --config FILE``. Composition root of the Kivy front end.

``configure_kivy`` sets Kivy's window options before the window exists: fullscreen and
borderless, no exit on Escape, no cursor, no multitouch emulation, no multisampling
(``--windowed`` and ``--size WxH`` for development). Memory (``kiosk.app.memory``): glibc
malloc's options are set before any thread starts, and labels drop their SDL text surfaces.
``build_gui`` builds the headless kiosk (``kiosk.app.headless.build_headless``), a
``LaneRunner`` and the ``KioskApp``; ``run_gui`` takes the kiosk's lock and runs it. The lane
thread starts when the app has started (its first view reaches the screens); the devices'
scanners after it.

The ``[ui]`` config section sets the font, the palette and the receipt screen's timeout;
``--font`` and ``--high-contrast`` override it. Like the headless lane
(``kiosk.app.lane_service``), under systemd (``Type=notify``) ``READY=1`` is sent once the lane
has restored (and the watchdog pings only while the lane thread answers), ``STOPPING=1`` at the
exit; receipts the fake printer prints are written to ``[paths] receipts`` (``<job>.txt`` and
``<job>.escpos``) by a lane listener, and where they go is printed at the start.

When the scanner is the fake one (``--fake-devices`` or ``[scanner] kind = "fake"``), the
window's keyboard is a keyboard-wedge scanner: a code typed and Enter is fed to the fake
scanner (``kiosk.app.keyboard_scan``), so a desktop demo can scan; never with a real scanner,
and not while a text field has the focus. ``--commands FIFO`` reads text-mode sim commands
from a named pipe, as the headless lane does (``kiosk.app.lane_service.serve_commands``).

Threads: everything here on the main thread, which becomes Kivy's (the keyboard scans too);
the lane runs on the runner's thread (the restore callback, READY and the receipt writer run
there too); the command pipe has its own daemon thread.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kiosk.app.headless import HeadlessKiosk, build_headless
from kiosk.app.keyboard_scan import KeyboardWedge
from kiosk.app.lane_service import ReceiptFiles, make_fifo, notify_lane_ready, serve_commands
from kiosk.app.loading import read_config
from kiosk.app.lock import KioskLock
from kiosk.app.memory import release_label_surfaces, tune_malloc
from kiosk.app.sd_notify import Notifier
from kiosk.checkout import Event
from kiosk.config import Config
from kiosk.errors import ConfigError, KioskError
from kiosk.lane_runner import LaneRunner
from kiosk.ui.settings import UiSettings

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

logger = logging.getLogger(__name__)

LAYOUTS = ((800, 480), (1024, 600), (1280, 800), (1080, 1920))  # the sizes the screens fit


@dataclass(frozen=True)
class GuiOptions:
    windowed: bool = False  # a decorated window instead of fullscreen (development)
    size: tuple[int, int] | None = None  # window size; default 1280x800 when windowed
    fake_devices: bool = False
    high_contrast: bool = False  # on: the high-contrast palette whatever [ui] says
    font: str | None = None  # a font file instead of [ui] font / Noto Sans CJK
    screens: tuple[str, ...] | None = None  # only these screens (development, tests)
    commands: str | None = None  # a named pipe to read sim text commands from


def parse_size(text: str) -> tuple[int, int]:
    """``1280x800`` -> (1280, 800); a clear error for anything else."""
    match = re.fullmatch(r"(\d{3,5})[xX](\d{3,5})", text.strip())
    if not match:
        raise ConfigError("--size", f"{text!r} is not WIDTHxHEIGHT in pixels, e.g. 1280x800")
    width, height = int(match[1]), int(match[2])
    if not (320 <= width <= 7680 and 240 <= height <= 7680):
        raise ConfigError("--size", f"{text} is outside 320x240 .. 7680x7680")
    return width, height


def configure_kivy(options: GuiOptions) -> None:
    """Kivy's settings; must run before anything imports ``kivy.core.window``."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our argv is not Kivy's
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # log through kiosk.logs
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    from kivy.config import Config as KivyConfig

    windowed = options.windowed or options.size is not None
    width, height = options.size or (1280, 800)
    KivyConfig.set("kivy", "exit_on_escape", "0")
    KivyConfig.set("kivy", "keyboard_mode", "system")
    KivyConfig.set("graphics", "fullscreen", "0" if windowed else "auto")
    KivyConfig.set("graphics", "borderless", "0" if options.windowed else "1")
    KivyConfig.set("graphics", "show_cursor", "1" if options.windowed else "0")
    KivyConfig.set("graphics", "resizable", "1" if options.windowed else "0")
    KivyConfig.set("graphics", "width", str(width))
    KivyConfig.set("graphics", "height", str(height))
    KivyConfig.set("graphics", "position", "custom")
    KivyConfig.set("graphics", "left", "0")
    KivyConfig.set("graphics", "top", "0")
    KivyConfig.set("input", "mouse", "mouse,disable_multitouch")
    # No multisample anti-aliasing: the screens draw only axis-aligned rectangles and text, and
    # Kivy's default (2, which llvmpipe makes 4) costs 4 colour and 4 depth samples per pixel
    # (31 MiB resident at 1280x800 under llvmpipe; bench ui_memory).
    KivyConfig.set("graphics", "multisamples", "0")
    release_label_surfaces()


@dataclass
class GuiKiosk:
    """The headless kiosk, its lane runner and the app, not yet running."""

    kiosk: HeadlessKiosk
    runner: LaneRunner
    app: KioskApp
    notifier: Notifier = field(default_factory=Notifier.from_env)
    receipts: Path | None = None  # where the fake printer's receipts are written
    out: TextIO = field(default_factory=lambda: sys.stdout)
    failure: BaseException | None = None
    wedge: KeyboardWedge | None = None  # the keyboard as the fake scanner (None: real scanner)
    commands: Path | None = None  # the --commands pipe
    stop_commands: threading.Event = field(default_factory=threading.Event)

    def start_lane(self, *_args: Any) -> None:
        """The app has started: restore the lane on its thread, then start the scanners, the
        keyboard scanner and the command pipe."""
        restored = self.runner.start()
        restored.add_done_callback(self._restored)
        self.kiosk.devices.start()
        if self.wedge is not None:
            from kivy.core.window import Window

            Window.bind(on_key_down=self.key_down)
            print("no real scanner: type a code and Enter to scan it", file=self.out, flush=True)
        if self.commands is not None:
            serve_commands(
                self.commands, self.runner, self.kiosk.drivers, self.out, self.stop_commands
            )

    def key_down(
        self, _window: Any, key: int, _scancode: int, _text: Any, modifiers: Iterable[str]
    ) -> bool:
        """Kivy's ``on_key_down``: a key for the keyboard scanner unless a text field has the
        focus. Never consumes the key (the app's own key handling still sees it)."""
        if self.wedge is not None and not _text_field_focused(self.app):
            self.wedge.key(key, modifiers)
        return False

    def _restored(self, future: Future[list[Event]]) -> None:  # lane thread
        exc = future.exception()
        if exc is None:
            kiosk_id = self.kiosk.config.kiosk.id
            where = f"receipts in {self.receipts}" if self.receipts else "real printer"
            logger.info("lane %s running with the touchscreen (%s)", kiosk_id, where)
            print(f"lane {kiosk_id} ready (touchscreen); {where}", file=self.out, flush=True)
            notify_lane_ready(self.runner, f"lane {kiosk_id} ready (touchscreen)", self.notifier)
            return
        self.failure = exc
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: self.app.stop(), 0)

    def close(self) -> None:
        """Tell systemd, stop the scanners, let the lane finish its queue, close the devices
        and databases."""
        self.notifier.stopping()
        self.stop_commands.set()
        self.kiosk.devices.stop()
        try:
            self.runner.stop()
        finally:
            self.kiosk.close()


def _text_field_focused(app: KioskApp) -> bool:
    """Whether a widget on screen (an attendant's text field) has the keyboard focus."""
    root = app.root
    return root is not None and any(getattr(w, "focus", False) for w in root.walk())


def _scan_typed(scan: Callable[[str], bool]) -> Callable[[str], None]:
    def feed(code: str) -> None:
        if not scan(code):
            logger.warning("a typed code reached no one: the fake scanner is not started")

    return feed


def ui_settings(config: Config, options: GuiOptions) -> UiSettings:
    """What the touchscreen needs of the config, with the command line's overrides; a font
    file that is not there is an error naming where it was given."""

    font, key = (options.font, "--font") if options.font else (config.ui.font, "ui.font")
    if font and not Path(font).is_file():
        raise ConfigError(key, f"the font file {font} does not exist")
    return UiSettings(
        store_name=config.store.name,
        currency=config.store.currency,
        languages=tuple(config.kiosk.languages),
        default_language=config.kiosk.default_language,
        font=font or None,
        high_contrast=options.high_contrast or config.ui.high_contrast,
        payment_methods=tuple(config.payments.methods),
        terminal_timeout_s=config.payments.terminal_timeout_s,
        attract_after_receipt_s=config.ui.attract_after_receipt_s,
    )


def build_gui(config: Config, options: GuiOptions) -> GuiKiosk:
    """The kiosk and its app, wired (Kivy configured first)."""
    settings = ui_settings(config, options)
    tune_malloc()  # before the lane, scanner and renderer threads start
    configure_kivy(options)
    from kiosk.ui.app import KioskApp

    kiosk = build_headless(config, force_fakes=options.fake_devices)
    try:
        runner = LaneRunner(kiosk.lane)
        app = KioskApp(runner, settings, screens=options.screens)
        printer = kiosk.devices.fakes.printer
        receipts = Path(config.paths.receipts) if printer is not None else None
        if printer is not None and receipts is not None:
            runner.add_listener(ReceiptFiles(printer, receipts))
        kiosk.devices.connect(runner)
    except BaseException:
        kiosk.close()
        raise
    gui = GuiKiosk(kiosk, runner, app, receipts=receipts)
    scanner = kiosk.devices.fakes.scanner
    if scanner is not None and all(s is scanner for s in kiosk.devices.scanners):
        gui.wedge = KeyboardWedge(_scan_typed(scanner.scan))
    if options.commands:
        gui.commands = Path(options.commands)
    app.bind(on_start=gui.start_lane)
    return gui


def run_gui(
    config_path: str, options: GuiOptions, on_built: Callable[[GuiKiosk], None] | None = None
) -> int:
    """``kiosk run``: take the lock, build, run until the app stops. ``on_built`` (tests) gets
    the kiosk before the app runs."""
    config = read_config(config_path)
    with KioskLock.acquire(config.paths.data_dir, "kiosk run"):
        if options.commands:
            make_fifo(Path(options.commands))
        gui = build_gui(config, options)
        try:
            if on_built is not None:
                on_built(gui)
            gui.app.run()
        finally:
            gui.close()
        if gui.failure is not None:
            raise KioskError(f"the lane could not start: {gui.failure}") from gui.failure
    return 0

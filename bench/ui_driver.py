"""Child process of the touchscreen benchmarks (``bench.ui_bench``): one measurement, one app.

    python -m bench.ui_driver MODE --out FILE [--config FILE] [--codes FILE] [...]

Runs under the X display the parent started (``DISPLAY``), on the Kivy main thread. MODEs:

- ``start``: the real ``KioskApp`` (``kiosk.app.gui.build_gui``, fake devices); prints
  ``attract`` on stdout at the first frame that shows the attract screen, then stops.
- ``empty_start``: the floor of ``start``: a Kivy app with one Label; prints ``attract`` at its
  first frame.
- ``scan``: the real app; fills the basket to ``--lines`` lines (untimed), then times
  ``--scans`` scans, each from ``app.send`` to the first frame whose basket RecycleView holds
  the new row as a laid-out widget.
- ``empty_input``: the floor of ``scan``: a Kivy app with one Label whose text changes; the time
  from the change to the next frame.
- ``scroll``: the real app with a ``--lines`` basket; the RecycleView's ``scroll_y`` moves one
  step each frame, down and up, for ``--frames`` frames; frame times are flip-to-flip.
- ``empty_scroll``: the floor of ``scroll``: a bare RecycleView of ``--lines`` plain Labels, the
  same scrolling. ``--rows 0`` makes it a RecycleView with no rows at all.
- ``memory``: the real app sells ``--sales`` sales (3 scans and a card payment each); resident
  memory (``VmRSS``, after ``gc.collect``) at the attract screen and after each checkpoint, with
  its breakdown (``memory_breakdown_kib``: anonymous / file-backed / shared, PSS, the graphics
  libraries, the brk heap, kiosk.db mapped). ``empty_start`` records the same for its floor.

Latency inputs come from a thread of their own at random moments (``Inputs``), as a scanner's
reader thread or SDL's event queue delivers them, the same in a figure and its floor. A frame
is timed when the window dispatches ``on_flip``, right before the buffer swap. ``maxfps`` is 0
(no frame cap) for the scrolling modes, so a frame takes what its drawing costs, not 1/60 s;
the other modes keep the kiosk's 60.

The result is one JSON object written to ``--out``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MODES = ("start", "empty_start", "scan", "empty_input", "scroll", "empty_scroll", "memory")
WAIT_S = 120.0  # how long to wait for the attract screen before giving up


def rss_kib() -> int:
    """This process's resident set size in KiB (``VmRSS`` of /proc/self/status)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/status has no VmRSS line")


# Mappings counted as the renderer's (Mesa, llvmpipe's LLVM, GL dispatch): their resident
# code and data, whoever the app is.
GRAPHICS_LIBS = ("libLLVM", "libgallium", "_dri.so", "libGL", "libEGL", "libglapi")


def memory_breakdown_kib() -> dict[str, int]:
    """Where this process's resident memory is, in KiB: ``rss`` split into ``anon`` (heap,
    stacks, GL buffers: what the process itself holds), ``file`` (mapped files: libraries,
    kiosk.db) and ``shmem`` (the X shared-memory image); ``pss``; and, from /proc/self/smaps,
    ``graphics_libs`` (Mesa and LLVM mappings, code and relocated data), ``heap`` (the brk
    heap: glibc's main arena) and ``kiosk_db`` (kiosk.db memory-mapped by the catalog)."""
    status = {
        key: int(value.split()[0])
        for key, value in (
            line.split(":", 1)
            for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines()
            if ":" in line
        )
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem")
    }
    out = {
        "rss": status["VmRSS"],
        "anon": status["RssAnon"],
        "file": status["RssFile"],
        "shmem": status["RssShmem"],
        "pss": 0,
        "graphics_libs": 0,
        "heap": 0,
        "kiosk_db": 0,
    }
    name = ""
    for line in Path("/proc/self/smaps").read_text(encoding="utf-8", errors="replace").split("\n"):
        fields = line.split()
        if not fields:
            continue
        if "-" in fields[0] and not fields[0].endswith(":"):  # a mapping's header line
            name = fields[5] if len(fields) > 5 else ""
        elif fields[0] == "Pss:":
            out["pss"] += int(fields[1])
        elif fields[0] == "Rss:":
            kib = int(fields[1])
            if any(lib in name for lib in GRAPHICS_LIBS):
                out["graphics_libs"] += kib
            elif name == "[heap]":
                out["heap"] += kib
            elif name.endswith("kiosk.db"):
                out["kiosk_db"] += kib
    return out


def configure(maxfps: int) -> None:
    """Kivy settings shared by every mode; before anything imports the window."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    from kivy.config import Config as KivyConfig

    KivyConfig.set("graphics", "maxfps", str(maxfps))
    KivyConfig.set("graphics", "multisamples", "0")  # as the kiosk (kiosk.app.gui.configure_kivy)
    KivyConfig.set("graphics", "width", "1280")
    KivyConfig.set("graphics", "height", "800")


_ALIVE: set[Frames] = set()


class Frames:
    """Calls ``step(now_ns)`` at every frame (``on_flip``) until it returns False.

    Kivy draws a frame only when a canvas changed; binding asks for one frame so that a step
    waiting on the screen as it is runs at least once. ``poll`` asks for a frame after every
    step (waiting for a state); timed steps never poll, so they see only the frames the app
    itself needed."""

    def __init__(self, step: Callable[[int], bool], poll: bool = False) -> None:
        from kivy.core.window import Window

        self.step = step
        self.poll = poll
        self.window = Window
        _ALIVE.add(self)  # Kivy keeps only a weak reference to a bound method
        Window.bind(on_flip=self._flip)
        Window.canvas.ask_update()  # a frame is drawn only when something changed

    def _flip(self, *_args: Any) -> None:
        if not self.step(time.perf_counter_ns()):
            self.window.unbind(on_flip=self._flip)
            _ALIVE.discard(self)
        elif self.poll:
            self.window.canvas.ask_update()


# -- the floors: plain Kivy apps ---------------------------------------------------------------
def run_empty(mode: str, args: argparse.Namespace, result: dict[str, Any]) -> None:
    from kivy.app import App
    from kivy.lang import Builder
    from kivy.uix.label import Label

    class Empty(App):  # type: ignore[misc]
        def build(self) -> Any:
            if mode == "empty_scroll":
                root = Builder.load_string(EMPTY_RV)
                root.data = [
                    {"text": f"{n:4d}  product {n}  1 x 9.99  9.99"} for n in range(args.rows)
                ]
                return root
            return Label(text="0", font_size=40)

        def on_start(self) -> None:
            if mode == "empty_start":
                Frames(lambda _now: announce(self, result))
            elif mode == "empty_input":
                measure_label(self, args.scans, result)
            else:
                measure_scroll(self, self.root, args.frames, result)

    Empty().run()


EMPTY_RV = """
RecycleView:
    viewclass: "Label"
    RecycleBoxLayout:
        default_size: None, 56
        default_size_hint: 1, None
        size_hint_y: None
        height: self.minimum_height
        orientation: "vertical"
"""


def announce(app: Any, result: dict[str, Any]) -> bool:
    gc.collect()
    result["rss_kib"] = rss_kib()
    print("attract", flush=True)
    result["breakdown_kib"] = memory_breakdown_kib()  # after the line ui_start times
    app.stop()
    return False


class Inputs:
    """The input side of a latency measurement, on its own thread, as a scanner's reader thread
    or the SDL event queue would deliver it: each input happens at a random moment (not in step
    with the frames), ``t0`` is read just before ``deliver()``, and the next input waits until
    the Kivy thread has ``taken`` the sample of this one."""

    def __init__(self, count: int, deliver: Callable[[], None], seed: int) -> None:
        self.count = count
        self.deliver = deliver
        self.rng = random.Random(seed)
        self.t0 = 0
        self.samples: list[int] = []
        self._taken = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-input", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        for _ in range(self.count):
            time.sleep(self.rng.uniform(0.005, 0.005 + 1 / 60))
            self._taken.clear()
            self.t0 = time.perf_counter_ns()
            self.deliver()
            if not self._taken.wait(WAIT_S):
                return  # the Kivy side gave up (it reports why)

    def take(self, now: int) -> bool:
        """Record the sample of the pending input; True when all ``count`` are in."""
        self.samples.append(now - self.t0)
        self.t0 = 0
        self._taken.set()
        return len(self.samples) >= self.count


def measure_label(app: Any, count: int, result: dict[str, Any]) -> None:
    """The floor of ``scan``: an input changes a Label's text; time to the next frame."""
    from kivy.clock import Clock

    def deliver() -> None:  # input thread; Clock.schedule_once is thread-safe
        text = str(len(inputs.samples) + 1)
        Clock.schedule_once(lambda _dt: setattr(app.root, "text", text), 0)

    inputs = Inputs(count, deliver, seed=7)
    result["samples_ns"] = inputs.samples

    def step(now: int) -> bool:
        if not inputs.t0 or app.root.text != str(len(inputs.samples) + 1):
            return True
        if inputs.take(now):
            app.stop()
            return False
        return True

    Frames(step)
    inputs.start()


def measure_scroll(app: Any, rv: Any, frames: int, result: dict[str, Any]) -> None:
    """Scroll ``rv`` one step a frame, down then up, and keep flip-to-flip times."""
    samples: list[int] = result.setdefault("samples_ns", [])
    ticks = {"last": 0, "settle": 10}
    motion = {"pos": 1.0, "dir": -1.0}
    step_size = 1.0 / 60

    def step(now: int) -> bool:
        if ticks["settle"] > 0:  # let the first layouts happen untimed
            ticks["settle"] -= 1
        elif ticks["last"]:
            samples.append(now - ticks["last"])
        ticks["last"] = now
        if len(samples) >= frames:
            app.stop()
            return False
        pos = motion["pos"] + motion["dir"] * step_size
        if not 0.0 <= pos <= 1.0:
            motion["dir"] = -motion["dir"]
            pos = min(1.0, max(0.0, pos))
        motion["pos"] = pos
        rv.scroll_y = pos
        return True

    Frames(step)


# -- the kiosk ---------------------------------------------------------------------------------
class KioskScript:
    """Drives the real app: commands through ``app.send``, answers through its bridge."""

    def __init__(self, app: Any, codes: Sequence[str], result: dict[str, Any]) -> None:
        self.app = app
        self.codes = list(codes)
        self.result = result
        self.next_code = 0
        self.waiting: tuple[str, Callable[[], None]] | None = None
        bridge = app.bridge
        delivered = bridge.on_lane

        def on_lane(events: list[dict[str, Any]], view: Any) -> None:
            delivered(events, view)
            self._answered(events)

        bridge.on_lane = on_lane

    def _answered(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            if event.get("event") in ("error", "intervention_opened") and self.waiting:
                self.fail(f"the lane answered {event} while waiting for {self.waiting[0]}")
                return
            if self.waiting is not None and event.get("event") == self.waiting[0]:
                _, then = self.waiting
                self.waiting = None
                then()
                return

    def fail(self, why: str) -> None:
        self.result["error"] = why
        self.app.stop()

    def send(self, message: dict[str, Any], expect: str, then: Callable[[], None]) -> None:
        self.waiting = (expect, then)
        self.app.send(message)

    def code(self) -> str:
        code = self.codes[self.next_code % len(self.codes)]
        self.next_code += 1
        return code

    def when_attract(self, then: Callable[[], None]) -> None:
        deadline = time.monotonic() + WAIT_S

        def step(_now: int) -> bool:
            if self.app.screen_name == "attract":
                then()
                return False
            if time.monotonic() > deadline:
                self.fail(f"the attract screen never showed (screen {self.app.screen_name!r})")
                return False
            return True

        Frames(step, poll=True)

    def fill(self, lines: int, then: Callable[[], None]) -> None:
        """Scan ``lines`` different products into a new basket, one answer at a time."""
        done = {"n": 0}

        def one() -> None:
            if done["n"] >= lines:
                then()
                return
            done["n"] += 1
            self.send({"cmd": "scan", "code": self.code()}, "item_added", one)

        one()

    def rows(self) -> Any:
        return self.app.screen("basket").ids.lines

    def row_shown(self, line_no: int) -> bool:
        lines = self.rows()
        if self.app.screen_name != "basket" or len(lines.data) < line_no:
            return False
        layout = lines.children[0] if lines.children else None
        return layout is not None and any(
            getattr(row, "line_no", 0) == line_no for row in layout.children
        )


def run_kiosk(mode: str, args: argparse.Namespace, result: dict[str, Any]) -> None:
    from kiosk.app.gui import GuiOptions, build_gui
    from kiosk.app.loading import read_config

    codes = Path(args.codes).read_text(encoding="utf-8").split() if args.codes else []
    gui = build_gui(
        read_config(args.config),
        GuiOptions(windowed=True, size=(1280, 800), fake_devices=True),
    )
    app = gui.app
    script: dict[str, KioskScript] = {}

    def started(*_args: Any) -> None:
        s = script["s"] = KioskScript(app, codes, result)
        if mode == "start":
            s.when_attract(lambda: announce_kiosk(app))
        elif mode == "scan":
            s.when_attract(lambda: s.fill(args.lines, lambda: time_scans(s, args.scans)))
        elif mode == "scroll":
            s.when_attract(lambda: s.fill(args.lines, lambda: scroll_basket(s, args.frames)))
        else:
            result["rss_kib"] = {"attract": 0}
            s.when_attract(lambda: sell(s, args.sales, args.checkpoints))

    app.bind(on_start=started)
    try:
        app.run()
    finally:
        gui.close()
    if gui.failure is not None:
        raise RuntimeError(f"the lane failed: {gui.failure}")


def announce_kiosk(app: Any) -> None:
    print("attract", flush=True)
    app.stop()


def time_scans(s: KioskScript, count: int) -> None:
    """Scans submitted from another thread straight to the lane runner, as the scanner's reader
    thread does; each is timed to the first frame showing its new basket row."""
    runner = s.app.runner
    first_line = len(s.rows().data) + 1

    def deliver() -> None:  # input thread
        runner.submit({"cmd": "scan", "code": s.code()})

    inputs = Inputs(count, deliver, seed=11)
    s.result["samples_ns"] = inputs.samples

    def step(now: int) -> bool:
        if not inputs.t0 or not s.row_shown(first_line + len(inputs.samples)):
            return True
        if inputs.take(now):
            s.result["basket_lines"] = first_line + len(inputs.samples) - 1
            s.app.stop()
            return False
        return True

    Frames(step)
    inputs.start()


def scroll_basket(s: KioskScript, frames: int) -> None:
    rows = s.rows()

    def begin(_now: int) -> bool:
        if not s.row_shown(len(rows.data)):
            return True
        s.result["basket_lines"] = len(rows.data)
        measure_scroll(s.app, rows, frames, s.result)
        return False

    Frames(begin, poll=True)


def sell(s: KioskScript, sales: int, checkpoints: Sequence[int]) -> None:
    gc.collect()
    rss: dict[str, int] = s.result["rss_kib"]
    rss["attract"] = rss_kib()
    breakdown: dict[str, dict[str, int]] = s.result.setdefault("breakdown_kib", {})
    breakdown["attract"] = memory_breakdown_kib()
    done = {"n": 0}

    def pay() -> None:
        s.send({"cmd": "pay", "method": "card"}, "sale_completed", paid)

    def paid() -> None:
        done["n"] += 1
        if done["n"] in checkpoints:
            gc.collect()
            rss[str(done["n"])] = rss_kib()
            breakdown[str(done["n"])] = memory_breakdown_kib()
        if done["n"] >= sales:
            s.app.stop()
            return
        s.fill(3, pay)

    s.fill(3, pay)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_driver")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", help="kiosk.toml (kiosk modes)")
    parser.add_argument("--codes", help="a file of scannable GTINs, one per line")
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--scans", type=int, default=100)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--sales", type=int, default=1000)
    parser.add_argument("--checkpoints", type=int, nargs="*", default=[100, 1000])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    mode: str = args.mode
    configure(0 if mode in ("scroll", "empty_scroll") else 60)
    result: dict[str, Any] = {"mode": mode}
    if mode.startswith("empty"):
        run_empty(mode, args, result)
    else:
        if not args.config:
            raise SystemExit(f"{mode} needs --config")
        run_kiosk(mode, args, result)
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 1 if "error" in result else 0


if __name__ == "__main__":
    raise SystemExit(main())

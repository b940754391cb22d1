"""HID keyboard-wedge scanners: the US key map, the code assembler and HidScanner.

There is no /dev/uinput here, so HidScanner runs against ``PipeInputDevice``: a stand-in for
an evdev input device that carries real ``struct input_event`` records through an os.pipe
(select, non-blocking reads, ENODEV when unplugged). The real evdev open-and-grab path is the
opt-in test at the end (KIOSK_TEST_REAL_HW=1 on a kiosk with a scanner; see docs/hardware.md).
"""

from __future__ import annotations

import errno
import os
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import ConfigError, DeviceError
from kiosk.hw.framing import Framer, FrameResult
from kiosk.hw.hid_scanner import (
    CONFIG_TABLE,
    EvdevSource,
    HidScanner,
    HidScannerSettings,
    InputDeviceLike,
    open_allowed,
)
from kiosk.hw.keymap import (
    ENTER,
    EV_KEY,
    KEYPAD_KEYS,
    US_KEYS,
    HidCodeAssembler,
    KeyDecoder,
    KeyOutput,
    char_for,
)

EV_SYN, EV_MSC = 0, 4
SHIFT, RSHIFT, CTRL, ALT, CAPS = 42, 54, 29, 56, 58
KEY_ENTER, KEY_KPENTER, KEY_F1, KEY_RIGHTBRACE = 28, 96, 59, 27
KP = {"0": 82, "1": 79, "2": 80, "3": 81, "4": 75, "5": 76, "6": 77, "7": 71, "8": 72, "9": 73}
SCANNER = ("Newland HR22 Barcode Scanner", 0x1EAB, 0x1A03)
KEYBOARD = ("AT Translated Set 2 keyboard", 0x0001, 0x0001)
WAIT_S = 3.0


@dataclass(frozen=True)
class Event:
    """An evdev-like input event."""

    type: int
    code: int
    value: int


def key(code: int, value: int) -> Event:
    return Event(EV_KEY, code, value)


def tap(code: int, *modifiers: int) -> list[Event]:
    events = [key(m, 1) for m in modifiers] + [key(code, 1), key(code, 0)]
    return events + [key(m, 0) for m in modifiers] + [Event(EV_SYN, 0, 0)]


REVERSE = {pair[0]: (code, False) for code, pair in US_KEYS.items()}
REVERSE.update({pair[1]: (code, True) for code, pair in US_KEYS.items() if pair[1] != pair[0]})


def typed(text: str, enter: int = KEY_ENTER) -> list[Event]:
    """The events a US-layout scanner sends to type ``text`` and Enter."""
    events: list[Event] = [Event(EV_MSC, 4, 0x70000)]  # scancode events, as real keyboards send
    for char in text:
        code, shifted = REVERSE[char]
        events += tap(code, SHIFT) if shifted else tap(code)
    return events + tap(enter)


def decode(events: list[Event]) -> list[KeyOutput]:
    decoder = KeyDecoder()
    outputs = (decoder.feed(e.code, e.value) for e in events if e.type == EV_KEY)
    return [o for o in outputs if o is not None]


def text_of(outputs: list[KeyOutput]) -> str:
    return "".join(
        o.text if o.kind == "char" else "⏎" if o.kind == "enter" else "?" for o in outputs
    )


def assemble(events: list[Event], framer: Framer | None = None) -> list[FrameResult]:
    assembler = HidCodeAssembler(framer or Framer("CR"))
    results: list[FrameResult] = []
    for n, event in enumerate(events):
        results += assembler.feed(event, n * 0.001)
    return results


# -- key map ---------------------------------------------------------------------------------


def test_key_codes_match_linux_input_event_codes() -> None:
    ecodes = pytest.importorskip("evdev").ecodes
    names = {
        **{c: f"KEY_{c.upper()}" for c in "abcdefghijklmnopqrstuvwxyz0123456789"},
        "-": "KEY_MINUS",
        "=": "KEY_EQUAL",
        "[": "KEY_LEFTBRACE",
        "]": "KEY_RIGHTBRACE",
        ";": "KEY_SEMICOLON",
        "'": "KEY_APOSTROPHE",
        "`": "KEY_GRAVE",
        "\\": "KEY_BACKSLASH",
        ",": "KEY_COMMA",
        ".": "KEY_DOT",
        "/": "KEY_SLASH",
        " ": "KEY_SPACE",
        "\t": "KEY_TAB",
    }
    assert {ecodes.ecodes[name]: char for char, name in names.items()} == {
        code: pair[0] for code, pair in US_KEYS.items()
    }
    keypad = {"0123456789"[n]: f"KEY_KP{n}" for n in range(10)}
    keypad.update({"-": "KEY_KPMINUS", "+": "KEY_KPPLUS", ".": "KEY_KPDOT"})
    keypad.update({"*": "KEY_KPASTERISK", "/": "KEY_KPSLASH"})
    assert {ecodes.ecodes[name]: char for char, name in keypad.items()} == KEYPAD_KEYS
    fixed = {"KEY_ENTER": KEY_ENTER, "KEY_KPENTER": KEY_KPENTER, "KEY_LEFTSHIFT": SHIFT}
    fixed.update({"KEY_RIGHTSHIFT": RSHIFT, "KEY_LEFTCTRL": CTRL, "KEY_LEFTALT": ALT})
    fixed.update({"KEY_CAPSLOCK": CAPS, "KEY_F1": KEY_F1, "EV_KEY": EV_KEY})
    assert {name: ecodes.ecodes[name] for name in fixed} == fixed


def test_keys_read_at_us_positions_whatever_the_os_layout() -> None:
    # On a German layout KEY_Y types "z"; on a French one KEY_Q types "a". Not here.
    assert [char_for(code, False) for code in (21, 44, 16, 30, 12)] == ["y", "z", "q", "a", "-"]
    assert [char_for(code, True) for code in (21, 12, 11, 3)] == ["Y", "_", ")", "@"]


def test_shifted_and_unshifted_characters_decoded() -> None:
    assert text_of(decode(typed("Ab-_9(z:"))) == "Ab-_9(z:⏎"


def test_right_shift_counts_and_release_ends_it() -> None:
    events = [key(RSHIFT, 1), *tap(30), key(RSHIFT, 0), *tap(30)]
    assert text_of(decode(events)) == "Aa"


def test_caps_lock_inverts_letters_only() -> None:
    events = tap(CAPS) + tap(30) + tap(2) + tap(30, SHIFT) + tap(CAPS) + tap(30)
    assert text_of(decode(events)) == "A1aa"


def test_keypad_digits_and_keypad_enter_end_a_code() -> None:
    events = [e for d in "4006" for e in tap(KP[d])] + tap(74) + tap(KEY_KPENTER)
    assert decode(events)[-1] == ENTER
    assert text_of(decode(events)) == "4006-⏎"


def test_ctrl_right_brace_is_group_separator() -> None:
    assert decode(tap(KEY_RIGHTBRACE, CTRL)) == [KeyOutput("char", "\x1d")]


def test_other_ctrl_combinations_unmapped() -> None:
    assert decode(tap(30, CTRL)) == [KeyOutput("unmapped", "Ctrl + key code 30")]


def test_alt_keypad_number_types_ascii_character() -> None:
    gs = [key(ALT, 1), *(e for d in "0029" for e in tap(KP[d])), key(ALT, 0)]
    letter = [key(ALT, 1), *(e for d in "65" for e in tap(KP[d])), key(ALT, 0)]
    assert decode(gs + letter) == [KeyOutput("char", "\x1d"), KeyOutput("char", "A")]


def test_alt_keypad_number_beyond_ascii_unmapped() -> None:
    events = [key(ALT, 1), *(e for d in "0300" for e in tap(KP[d])), key(ALT, 0)]
    assert decode(events) == [KeyOutput("unmapped", "Alt + keypad 0300 (not an ASCII character)")]


def test_alt_with_a_letter_key_unmapped() -> None:
    assert decode(tap(30, ALT)) == [KeyOutput("unmapped", "Alt + key code 30")]


def test_autorepeat_ignored() -> None:
    assert text_of(decode([key(30, 1), key(30, 2), key(30, 2), key(30, 0)])) == "a"


def test_function_key_unmapped() -> None:
    assert decode(tap(KEY_F1)) == [KeyOutput("unmapped", "key code 59")]


def test_reset_forgets_held_shift_and_caps_lock() -> None:
    decoder = KeyDecoder()
    for event in [*tap(CAPS), key(SHIFT, 1)]:
        decoder.feed(event.code, event.value)
    decoder.reset()
    assert decoder.feed(30, 1) == KeyOutput("char", "a")


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1))
def test_any_printable_ascii_typed_by_scanner_decodes_back(text: str) -> None:
    assert text_of(decode(typed(text))) == text + "⏎"


# -- assembler -------------------------------------------------------------------------------


def test_assembler_builds_code_at_enter_ignoring_other_events() -> None:
    [result] = assemble(typed("6901028075831"))
    assert result == FrameResult(code="6901028075831")


def test_assembler_keeps_codes_apart_and_in_order() -> None:
    codes = [f"ITEM-{n:02d}" for n in range(20)]
    results = assemble([e for code in codes for e in typed(code)])
    assert [r.code for r in results] == codes


def test_assembler_strips_prefix_and_tab_suffix() -> None:
    [result] = assemble(typed("]E04006381333931\t"), Framer("CR", prefix=b"]E0", suffix=b"\t"))
    assert result.code == "4006381333931"


def test_assembler_gs1_with_ctrl_bracket_separator() -> None:
    events = typed("0109501101530003")[:-3] + tap(KEY_RIGHTBRACE, CTRL) + typed("10ABC")
    [result] = assemble(events)
    assert result.code == "0109501101530003\x1d10ABC"


def test_assembler_rejects_code_with_unmapped_key_then_reads_next() -> None:
    events = typed("12")[:-3] + tap(KEY_F1) + typed("34") + typed("5678")
    [bad, good] = assemble(events)
    assert (bad.error, bad.detail) == ("unmapped_key", "unmapped key: key code 59")
    assert good.code == "5678"


def test_assembler_rejects_over_long_code() -> None:
    [result] = assemble(typed("9" * 40), Framer("CR", max_length=32))
    assert result.error == "too_long"


def test_assembler_rejects_tab_inside_code() -> None:
    [result] = assemble(typed("12\t34"))
    assert result.error == "non_printable"


def test_assembler_drops_partial_code_without_enter() -> None:
    assembler = HidCodeAssembler(Framer("CR", partial_timeout_s=1.0))
    for event in typed("4006")[:-3]:
        assert assembler.feed(event, 5.0) == []
    assert assembler.flush(5.5) == []
    [result] = assembler.flush(6.0)
    assert result.error == "incomplete"


def test_assembler_needs_cr_framing() -> None:
    with pytest.raises(ValueError, match="needs CR framing"):
        HidCodeAssembler(Framer("LF"))


# -- HidScanner on pipe-backed input devices --------------------------------------------------

_EVENT = struct.Struct("qqHHi")  # struct input_event on 64-bit Linux


@dataclass(frozen=True)
class Ids:
    vendor: int
    product: int


class PipeInputDevice:
    """An input device whose events the test writes; implements ``InputDeviceLike``."""

    def __init__(self, name: str, vendor: int, product: int, *, busy: bool = False) -> None:
        self.name = name
        self.info = Ids(vendor, product)
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        self.busy = busy
        self.grabbed = False
        self.reads = 0
        self.closed = False

    def fileno(self) -> int:
        return self._read_fd

    def grab(self) -> None:
        if self.busy:
            raise OSError(errno.EBUSY, "Device or resource busy")
        self.grabbed = True

    def ungrab(self) -> None:
        if self._write_fd < 0:
            raise OSError(errno.ENODEV, "No such device")
        self.grabbed = False

    def read(self) -> Iterator[Event]:
        self.reads += 1
        data = os.read(self._read_fd, _EVENT.size * 170)  # BlockingIOError when empty
        if not data:
            raise OSError(errno.ENODEV, "No such device")
        for offset in range(0, len(data), _EVENT.size):
            _, _, type_, code, value = _EVENT.unpack_from(data, offset)
            yield Event(type_, code, value)

    def close(self) -> None:
        if not self.closed:
            os.close(self._read_fd)
            self.closed = True

    # test side
    def type(self, text: str) -> None:
        os.write(
            self._write_fd, b"".join(_EVENT.pack(0, 0, *vars(e).values()) for e in typed(text))
        )

    def unplug(self) -> None:
        os.close(self._write_fd)
        self._write_fd = -1


class PipeSource:
    """The input devices present: ``plug``/``unplug`` change them from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.devices: dict[str, PipeInputDevice] = {}
        self.denied: set[str] = set()
        self.opened: list[str] = []

    def plug(self, path: str, device: PipeInputDevice) -> PipeInputDevice:
        with self._lock:
            self.devices[path] = device
        return device

    def unplug(self, path: str) -> None:
        with self._lock:
            self.devices.pop(path).unplug()

    def paths(self) -> list[str]:
        with self._lock:
            return sorted([*self.devices, *self.denied])

    def open(self, path: str) -> InputDeviceLike:
        with self._lock:
            self.opened.append(path)
            if path in self.denied:
                raise PermissionError(errno.EACCES, "Permission denied", path)
            if path not in self.devices:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
            return self.devices[path]

    def close_all(self) -> None:
        for device in self.devices.values():
            device.close()
            if device._write_fd >= 0:
                device.unplug()


@dataclass
class Collector:
    codes: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def on_code(self, code: str) -> None:
        self.codes.append(code)

    def on_error(self, kind: str, detail: str) -> None:
        self.errors.append((kind, detail))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in list(self.errors)]


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture
def source() -> Iterator[PipeSource]:
    pipes = PipeSource()
    yield pipes
    pipes.close_all()


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def running(
    source: PipeSource, collector: Collector
) -> Iterator[Callable[[HidScannerSettings], HidScanner]]:
    started: list[HidScanner] = []

    def start(settings: HidScannerSettings) -> HidScanner:
        scanner = HidScanner(settings, collector.on_code, collector.on_error, source=source)
        scanner.start()
        started.append(scanner)
        return scanner

    yield start
    for scanner in started:
        scanner.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("scanner-")]


def ok(scanner: HidScanner) -> Callable[[], bool]:
    return lambda: bool(scanner.health()["ok"])


ALLOW = HidScannerSettings(allowed_names=(SCANNER[0],), reconnect_s=0.05)


def test_scanner_grabs_allow_listed_device_and_reads_codes(
    running: Callable[[HidScannerSettings], HidScanner],
    source: PipeSource,
    collector: Collector,
) -> None:
    device = source.plug("/dev/input/event7", PipeInputDevice(*SCANNER))
    scanner = running(ALLOW)
    assert wait_until(ok(scanner))
    assert device.grabbed
    assert scanner.health() == {
        "name": "scanner",
        "kind": "hid",
        "ok": True,
        "detail": f"grabbed '{SCANNER[0]}' (1eab:1a03) at /dev/input/event7",
    }
    device.type("6901028075831")
    device.type("]C1010950110153000310ABC")
    assert wait_until(lambda: len(collector.codes) >= 2)
    assert collector.codes == ["6901028075831", "]C1010950110153000310ABC"]


def test_scanner_never_grabs_or_reads_other_keyboards(
    running: Callable[[HidScannerSettings], HidScanner], source: PipeSource
) -> None:
    keyboard = source.plug("/dev/input/event0", PipeInputDevice(*KEYBOARD))
    scanner_device = source.plug("/dev/input/event7", PipeInputDevice(*SCANNER))
    scanner = running(ALLOW)
    assert wait_until(ok(scanner))
    assert wait_until(lambda: source.opened.count("/dev/input/event0") >= 2)  # rescanned
    assert not keyboard.grabbed
    assert keyboard.reads == 0
    assert keyboard.closed
    assert scanner_device.grabbed


def test_allow_list_by_usb_id(
    running: Callable[[HidScannerSettings], HidScanner], source: PipeSource, collector: Collector
) -> None:
    device = source.plug("/dev/input/event3", PipeInputDevice("HID 1eab:1a03", 0x1EAB, 0x1A03))
    scanner = running(HidScannerSettings(allowed_ids=("1EAB:1A03",), reconnect_s=0.05))
    assert wait_until(ok(scanner))
    device.type("4006381333931")
    assert wait_until(lambda: collector.codes == ["4006381333931"])


def test_open_allowed_refuses_device_not_on_allow_list(source: PipeSource) -> None:
    keyboard = source.plug("/dev/input/event0", PipeInputDevice(*KEYBOARD))
    with pytest.raises(DeviceError) as caught:
        open_allowed(source, "/dev/input/event0", ALLOW)
    message = str(caught.value)
    assert "'AT Translated Set 2 keyboard' (0001:0001) at /dev/input/event0" in message
    assert f"not on the allow-list of scanner scanner (names '{SCANNER[0]}'; ids none)" in message
    assert not keyboard.grabbed
    assert keyboard.closed


def test_open_allowed_grabs_allow_listed_device(source: PipeSource) -> None:
    device = source.plug("/dev/input/event7", PipeInputDevice(*SCANNER))
    assert open_allowed(source, "/dev/input/event7", ALLOW) is device
    assert device.grabbed


def test_open_allowed_refuses_device_it_cannot_grab(source: PipeSource) -> None:
    device = source.plug("/dev/input/event7", PipeInputDevice(*SCANNER, busy=True))
    with pytest.raises(DeviceError, match=r"cannot grab input device .* exclusively .* busy"):
        open_allowed(source, "/dev/input/event7", ALLOW)
    assert device.closed


def test_open_allowed_missing_device_is_device_error(source: PipeSource) -> None:
    with pytest.raises(DeviceError, match="cannot open input device /dev/input/event9"):
        open_allowed(source, "/dev/input/event9", ALLOW)


def test_configured_path_to_other_device_refused_and_reported_once(
    running: Callable[[HidScannerSettings], HidScanner],
    source: PipeSource,
    collector: Collector,
    tmp_path: os.PathLike[str],
) -> None:
    by_id = os.path.join(tmp_path, "usb-Logitech_Keyboard-event-kbd")
    os.symlink("/dev/null", by_id)  # the configured path exists; the source decides what is there
    keyboard = source.plug(by_id, PipeInputDevice(*KEYBOARD))
    settings = HidScannerSettings(allowed_names=(SCANNER[0],), device_path=by_id, reconnect_s=0.05)
    scanner = running(settings)
    assert wait_until(lambda: source.opened.count(by_id) >= 3)
    assert collector.kinds() == ["refused"]
    assert "is not on the allow-list" in scanner.health()["detail"]
    assert scanner.health()["ok"] is False
    assert not keyboard.grabbed


def test_busy_device_refused_with_clear_error(
    running: Callable[[HidScannerSettings], HidScanner], source: PipeSource, collector: Collector
) -> None:
    source.plug("/dev/input/event7", PipeInputDevice(*SCANNER, busy=True))
    scanner = running(ALLOW)
    assert wait_until(lambda: "refused" in collector.kinds())
    assert "another program holds it" in scanner.health()["detail"]


def test_no_device_reported_once_with_permission_hint(
    running: Callable[[HidScannerSettings], HidScanner], source: PipeSource, collector: Collector
) -> None:
    source.denied.add("/dev/input/event4")
    scanner = running(ALLOW)
    assert wait_until(lambda: source.opened.count("/dev/input/event4") >= 3)
    assert collector.kinds() == ["disconnected"]
    detail = scanner.health()["detail"]
    assert detail.startswith("disconnected: no allow-listed input device found at /dev/input")
    assert "add the kiosk user to the 'input' group" in detail


def test_unplug_and_replug_picked_up_within_2_s(
    running: Callable[[HidScannerSettings], HidScanner], source: PipeSource, collector: Collector
) -> None:
    first = source.plug("/dev/input/event7", PipeInputDevice(*SCANNER))
    scanner = running(ALLOW)
    assert wait_until(ok(scanner))
    first.type("111")
    assert wait_until(lambda: collector.codes == ["111"])
    source.unplug("/dev/input/event7")
    assert wait_until(lambda: not scanner.health()["ok"])
    assert collector.kinds() == ["disconnected"]
    assert "went away" in collector.errors[0][1]
    assert first.closed
    second = source.plug("/dev/input/event7", PipeInputDevice(*SCANNER))
    plugged_at = time.monotonic()
    assert wait_until(ok(scanner))
    assert time.monotonic() - plugged_at <= 2.0
    second.type("222")
    assert wait_until(lambda: collector.codes == ["111", "222"])
    assert collector.kinds() == ["disconnected"]


def test_double_read_dropped_and_garbage_reported(
    running: Callable[[HidScannerSettings], HidScanner], source: PipeSource, collector: Collector
) -> None:
    device = source.plug("/dev/input/event7", PipeInputDevice(*SCANNER))
    scanner = running(HidScannerSettings(allowed_names=(SCANNER[0],), max_length=20))
    assert wait_until(ok(scanner))
    device.type("555")
    device.type("555")
    device.type("X" * 30)
    device.type("666")
    assert wait_until(lambda: "666" in collector.codes)
    assert collector.codes == ["555", "666"]
    assert collector.kinds() == ["too_long"]


def test_stop_ungrabs_and_closes_devices(source: PipeSource, collector: Collector) -> None:
    device = source.plug("/dev/input/event7", PipeInputDevice(*SCANNER))
    scanner = HidScanner(ALLOW, collector.on_code, source=source)
    scanner.start()
    with pytest.raises(DeviceError, match="already started"):
        scanner.start()
    assert wait_until(ok(scanner))
    scanner.stop()
    assert not device.grabbed
    assert device.closed
    assert scanner.health()["detail"] == "stopped"


def test_unexpected_failure_in_reader_shows_as_fault(collector: Collector) -> None:
    class BrokenSource(PipeSource):
        def paths(self) -> list[str]:
            raise RuntimeError("source bug")

    scanner = HidScanner(ALLOW, collector.on_code, collector.on_error, source=BrokenSource())
    scanner.start()
    try:
        assert wait_until(lambda: collector.errors != [])
        assert collector.errors == [
            ("disconnected", "reader thread stopped on RuntimeError('source bug')")
        ]
        assert wait_until(lambda: scanner.health()["detail"].startswith("failed:"))
    finally:
        scanner.stop()


def test_evdev_missing_is_a_clear_device_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "evdev", None)
    with pytest.raises(DeviceError, match="HID scanners need the evdev package"):
        EvdevSource()
    scanner = HidScanner(ALLOW, lambda code: None)
    with pytest.raises(DeviceError, match="pip install evdev"):
        scanner.start()


@pytest.mark.parametrize(
    ("kwargs", "key", "problem"),
    [
        ({}, "allowed_names", "needs an allow-list"),
        ({"allowed_names": (" ",)}, "allowed_names", "must not be empty"),
        ({"allowed_ids": ("05e0-1200",)}, "allowed_ids", "'05e0-1200' is not a USB id"),
        (
            {"allowed_ids": ("05e0:1200",), "device_path": "input/event3"},
            "device_path",
            "must be an absolute path",
        ),
        ({"allowed_ids": ("05e0:1200",), "max_length": 0}, "max_length", "1 to 4096"),
        ({"allowed_ids": ("05e0:1200",), "debounce_s": 11}, "debounce_s", "0 to 10 s"),
        ({"allowed_ids": ("05e0:1200",), "reconnect_s": 0.0}, "reconnect_s", "0.05"),
        ({"allowed_ids": ("05e0:1200",), "suffix": b"\r"}, "suffix", "terminator"),
    ],
)
def test_settings_refuse_bad_values(kwargs: dict[str, object], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        HidScannerSettings(**kwargs)  # type: ignore[arg-type]
    assert caught.value.key == f"{CONFIG_TABLE}.{key}"
    assert problem in caught.value.problem


# -- real hardware (opt-in) -------------------------------------------------------------------


@pytest.mark.real_hw
@pytest.mark.skipif(
    os.environ.get("KIOSK_TEST_REAL_HW") != "1",
    reason="needs a HID scanner plugged in: KIOSK_TEST_REAL_HW=1 KIOSK_TEST_HID_SCANNER=<name>",
)
def test_real_hid_scanner_grabbed_exclusively_and_reads_a_scan() -> None:
    evdev = pytest.importorskip("evdev")
    name = os.environ["KIOSK_TEST_HID_SCANNER"]
    codes: list[str] = []
    scanner = HidScanner(HidScannerSettings(allowed_names=(name,)), codes.append)
    scanner.start()
    try:
        assert wait_until(ok(scanner), timeout=5.0), scanner.health()
        path = scanner.health()["detail"].rsplit(" at ", 1)[1]
        other = evdev.InputDevice(path)
        try:
            with pytest.raises(OSError, match="busy"):
                other.grab()  # someone else (a shell, the UI) cannot have its keys
        finally:
            other.close()
        print(f"\nscan any barcode with {name!r} within 30 s")
        assert wait_until(lambda: bool(codes), timeout=30.0)
        print(f"read {codes[0]!r}")
    finally:
        scanner.stop()

"""Key codes of a US-layout USB HID barcode scanner to characters: ``KeyDecoder``.

A keyboard-wedge scanner "types" each code as USB HID key presses, and the Linux kernel
reports them as input key codes (``KEY_A`` is 30, whatever keyboard layout the desktop uses).
We read those raw key codes through evdev and translate them here with a fixed US table, so a
kiosk whose OS layout is German, French or Chinese still reads ``Z`` as ``Z`` and ``-`` as
``-``. Scanners are shipped (and must be configured) for the US layout; that is the table below.

Besides letters, digits, US punctuation, space and Tab, the decoder understands what scanners send:
Shift (left and right) and Caps Lock on this device; keypad digits and operators (scanners in
"keypad" mode; Num Lock is assumed on); Enter and keypad Enter end a code; Ctrl+] is GS
(0x1D, the GS1 FNC1 separator); Alt held while typing keypad digits is a character by its
ASCII number (Alt+0029 is GS), as scanners in "Alt mode" send. Any other key (F1, arrows,
Ctrl+letters...) is ``unmapped`` and the code it belongs to is rejected.

``HidCodeAssembler`` puts a decoder in front of a ``framing.Framer`` (Enter is the CR
terminator): key events in, frames out.

Pure logic, no I/O and no evdev import (the key numbers come from linux/input-event-codes.h;
a test checks them against evdev). One decoder per input device, called from the HID scanner's
reader thread only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol

from kiosk.hw.framing import Framer, FrameResult

EV_KEY: Final = 1  # the input event type of key presses
KEY_UP: Final = 0  # event values: released, pressed, auto-repeated
KEY_DOWN: Final = 1
KEY_REPEAT: Final = 2

KEY_ESC: Final = 1
KEY_MINUS: Final = 12
KEY_EQUAL: Final = 13
KEY_TAB: Final = 15
KEY_LEFTBRACE: Final = 26
KEY_RIGHTBRACE: Final = 27
KEY_ENTER: Final = 28
KEY_LEFTCTRL: Final = 29
KEY_LEFTSHIFT: Final = 42
KEY_RIGHTSHIFT: Final = 54
KEY_LEFTALT: Final = 56
KEY_SPACE: Final = 57
KEY_CAPSLOCK: Final = 58
KEY_F1: Final = 59
KEY_NUMLOCK: Final = 69
KEY_KPENTER: Final = 96
KEY_RIGHTCTRL: Final = 97
KEY_RIGHTALT: Final = 100

SHIFT_KEYS: Final = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
CTRL_KEYS: Final = frozenset({KEY_LEFTCTRL, KEY_RIGHTCTRL})
ALT_KEYS: Final = frozenset({KEY_LEFTALT, KEY_RIGHTALT})
ENTER_KEYS: Final = frozenset({KEY_ENTER, KEY_KPENTER})


def _row(first_code: int, plain: str, shifted: str) -> dict[int, tuple[str, str]]:
    return {first_code + n: (p, s) for n, (p, s) in enumerate(zip(plain, shifted, strict=True))}


# (unshifted, shifted) per key code: the US layout, row by row.
US_KEYS: Final[dict[int, tuple[str, str]]] = {
    **_row(2, "1234567890-=", "!@#$%^&*()_+"),  # KEY_1 (2) .. KEY_EQUAL (13)
    **_row(16, "qwertyuiop[]", "QWERTYUIOP{}"),  # KEY_Q (16) .. KEY_RIGHTBRACE (27)
    **_row(30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),  # KEY_A (30) .. KEY_GRAVE (41)
    **_row(43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),  # KEY_BACKSLASH (43) .. KEY_SLASH (53)
    KEY_SPACE: (" ", " "),
    KEY_TAB: ("\t", "\t"),  # only useful as a configured suffix; inside a code it is rejected
}

# Keypad keys (Num Lock on): the same character shifted or not.
KEYPAD_KEYS: Final[dict[int, str]] = {
    71: "7",  # KEY_KP7
    72: "8",
    73: "9",
    74: "-",  # KEY_KPMINUS
    75: "4",
    76: "5",
    77: "6",
    78: "+",  # KEY_KPPLUS
    79: "1",
    80: "2",
    81: "3",
    82: "0",  # KEY_KP0
    83: ".",  # KEY_KPDOT
    55: "*",  # KEY_KPASTERISK
    98: "/",  # KEY_KPSLASH
}
KEYPAD_DIGITS: Final[dict[int, str]] = {
    code: char for code, char in KEYPAD_KEYS.items() if char.isdigit()
}
GS: Final = "\x1d"
_MAX_ALT_DIGITS: Final = 4


def char_for(code: int, shifted: bool) -> str | None:
    """The character a US-layout key types (keypad included), or None for other keys."""
    if code in KEYPAD_KEYS:
        return KEYPAD_KEYS[code]
    pair = US_KEYS.get(code)
    if pair is None:
        return None
    return pair[1] if shifted else pair[0]


@dataclass(frozen=True, slots=True)
class KeyOutput:
    """What a key press produced: a character, the end of a code, or an untranslatable key."""

    kind: Literal["char", "enter", "unmapped"]
    text: str = ""  # the character, or for ``unmapped`` what the key was


ENTER: Final = KeyOutput("enter")


class KeyDecoder:
    """Turns one device's key events (code, value) into characters; tracks its modifiers."""

    def __init__(self) -> None:
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self._alt_digits = ""
        self._caps = False

    def reset(self) -> None:
        """Forget held modifiers and Caps Lock (after the device was reopened)."""
        self._shift.clear()
        self._ctrl.clear()
        self._alt.clear()
        self._alt_digits = ""
        self._caps = False

    def feed(self, code: int, value: int) -> KeyOutput | None:
        """One EV_KEY event; None when it types nothing (a modifier, a release, a repeat)."""
        if value == KEY_REPEAT:
            return None  # scanners do not hold keys; a repeat would double a character
        pressed = value == KEY_DOWN
        for held, keys in ((self._shift, SHIFT_KEYS), (self._ctrl, CTRL_KEYS)):
            if code in keys:
                if pressed:
                    held.add(code)
                else:
                    held.discard(code)
                return None
        if code in ALT_KEYS:
            return self._alt_key(code, pressed)
        if not pressed:
            return None
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code == KEY_NUMLOCK:
            return None
        if self._alt:
            return self._alt_digit(code)
        if self._ctrl:
            if code == KEY_RIGHTBRACE:
                return KeyOutput("char", GS)
            return KeyOutput("unmapped", f"Ctrl + key code {code}")
        if code in ENTER_KEYS:
            return ENTER
        shifted = bool(self._shift)
        pair = US_KEYS.get(code)
        if self._caps and pair is not None and pair[0].isalpha():
            shifted = not shifted
        char = char_for(code, shifted)
        if char is None:
            return KeyOutput("unmapped", f"key code {code}")
        return KeyOutput("char", char)

    def _alt_key(self, code: int, pressed: bool) -> KeyOutput | None:
        if pressed:
            if not self._alt:
                self._alt_digits = ""
            self._alt.add(code)
            return None
        self._alt.discard(code)
        if self._alt or not self._alt_digits:
            return None
        digits, self._alt_digits = self._alt_digits, ""
        number = int(digits)
        if not 1 <= number <= 127:
            return KeyOutput("unmapped", f"Alt + keypad {digits} (not an ASCII character)")
        return KeyOutput("char", chr(number))

    def _alt_digit(self, code: int) -> KeyOutput | None:
        digit = KEYPAD_DIGITS.get(code)
        if digit is None:
            return KeyOutput("unmapped", f"Alt + key code {code}")
        if len(self._alt_digits) >= _MAX_ALT_DIGITS:
            return KeyOutput("unmapped", f"Alt + more than {_MAX_ALT_DIGITS} keypad digits")
        self._alt_digits += digit
        return None


class InputEventLike(Protocol):
    """An input event as evdev gives it (``evdev.InputEvent``)."""

    @property
    def type(self) -> int: ...

    @property
    def code(self) -> int: ...

    @property
    def value(self) -> int: ...


class HidCodeAssembler:
    """One device's input events to frames: ``KeyDecoder``, then ``framer`` (Enter as CR).

    ``feed(event, now)`` takes any input event (non-key events are ignored); ``flush(now)``
    drops a partial code left without Enter (``incomplete``). A key the decoder cannot
    translate rejects its code as ``unmapped_key``.
    """

    def __init__(self, framer: Framer) -> None:
        if framer.framing != "CR":
            raise ValueError(f"a HID assembler needs CR framing (Enter), got {framer.framing}")
        self._decoder = KeyDecoder()
        self._framer = framer

    def feed(self, event: InputEventLike, now: float) -> list[FrameResult]:
        if event.type != EV_KEY:
            return []
        output = self._decoder.feed(event.code, event.value)
        if output is None:
            return []
        if output.kind == "enter":
            return self._framer.feed(b"\r", now)
        if output.kind == "unmapped":
            self._framer.reject_current("unmapped_key", f"unmapped key: {output.text}")
            return []
        return self._framer.feed(output.text.encode("utf-8"), now)

    def flush(self, now: float) -> list[FrameResult]:
        return self._framer.flush_if_gap(now)

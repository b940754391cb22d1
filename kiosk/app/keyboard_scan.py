"""The window's keyboard as a keyboard-wedge scanner, for the fake scanner only.

A keyboard-wedge barcode scanner "types" the code and presses Enter. With simulated devices
(``kiosk run --fake-devices``, or a config whose scanner is ``fake``) nothing feeds the fake
scanner, so ``kiosk.app.gui`` hands the Kivy window's key presses to a ``KeyboardWedge`` that
collects them and, on Enter, feeds the code to the fake scanner's own ``scan`` (the lane then
sees a device scan, exactly as from a real scanner). A real scanner is read by
``kiosk.hw.hid_scanner`` (evdev) and never through this.

Rules: letters and digits (the numeric keypad's too) are collected, Shift or Caps Lock gives
capitals; Enter (or the keypad's Enter) feeds what was collected, and nothing when nothing
was; Backspace drops the last character, Escape drops them all; a key with Ctrl, Alt or Meta
held, a space and any other non-printable key are ignored. A gap of more than ``timeout_s``
between two keys discards the half-typed code (a wedge types a whole code in well under a
second; the default leaves a person room to type one by hand). A code longer than
``MAX_CODE_CHARS`` is discarded whole: nothing is fed until the next Enter.

Pure logic, no Kivy: the key numbers are Kivy's (``kivy.core.window.Keyboard.keycodes``).
Threads: the Kivy (main) thread calls ``key``; ``feed`` runs on that thread (the fake scanner's
subscribers only queue the scan for the lane thread).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Final

logger = logging.getLogger(__name__)

KEY_TIMEOUT_S: Final = 3.0  # between two keys of one code
MAX_CODE_CHARS: Final = 128

BACKSPACE: Final = 8
ENTER: Final = 13
ESCAPE: Final = 27
NUMPAD_0: Final = 256  # .. NUMPAD_0 + 9
NUMPAD_ENTER: Final = 271
ENTER_KEYS: Final = frozenset({ENTER, NUMPAD_ENTER})
SHORTCUT_MODIFIERS: Final = frozenset({"ctrl", "alt", "meta"})


def key_char(key: int, modifiers: Iterable[str] = ()) -> str | None:
    """The character a key types into a code, or None for a key that types none."""
    mods = set(modifiers)
    if mods & SHORTCUT_MODIFIERS:
        return None
    if NUMPAD_0 <= key <= NUMPAD_0 + 9:
        return str(key - NUMPAD_0)
    if not 33 <= key <= 126:  # space, control and special keys (arrows, F1 ...)
        return None
    char = chr(key)
    if char.isalpha() and (("shift" in mods) != ("capslock" in mods)):
        return char.upper()
    return char


class KeyboardWedge:
    """Collects key presses into a code and calls ``feed(code)`` on Enter (module docstring).

    ``clock`` is a monotonic clock in seconds (tests pass their own)."""

    def __init__(
        self,
        feed: Callable[[str], object],
        timeout_s: float = KEY_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"keyboard scan timeout_s must be positive, got {timeout_s}")
        self._feed = feed
        self.timeout_s = timeout_s
        self._clock = clock
        self._code = ""
        self._too_long = False  # over MAX_CODE_CHARS: ignore keys until Enter
        self._last = 0.0

    @property
    def pending(self) -> str:
        """What has been typed since the last Enter (and not discarded)."""
        return self._code

    def key(self, key: int, modifiers: Iterable[str] = ()) -> str | None:
        """One key pressed; returns the code fed to the scanner (on Enter), else None."""
        now = self._clock()
        if (self._code or self._too_long) and now - self._last > self.timeout_s:
            logger.info(
                "keyboard scan: %d typed characters discarded after %.1f s without a key",
                len(self._code),
                now - self._last,
            )
            self._clear()
        self._last = now
        if key in ENTER_KEYS:
            code = self._code
            self._clear()
            if not code:
                return None
            self._feed(code)
            return code
        if key == BACKSPACE:
            self._code = self._code[:-1]
        elif key == ESCAPE:
            self._clear()
        elif not self._too_long:
            char = key_char(key, modifiers)
            if char is not None:
                self._add(char)
        return None

    def _add(self, char: str) -> None:
        if len(self._code) >= MAX_CODE_CHARS:
            logger.info("keyboard scan: more than %d characters, discarded", MAX_CODE_CHARS)
            self._code = ""
            self._too_long = True
            return
        self._code += char

    def _clear(self) -> None:
        self._code = ""
        self._too_long = False

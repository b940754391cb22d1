"""The keyboard-wedge collector that feeds the fake scanner from the window's keyboard."""

from __future__ import annotations

import pytest

from kiosk.app.keyboard_scan import (
    BACKSPACE,
    ENTER,
    ESCAPE,
    MAX_CODE_CHARS,
    NUMPAD_0,
    NUMPAD_ENTER,
    KeyboardWedge,
    key_char,
)

F1, LEFT, SHIFT, SPACE, TAB = 282, 276, 304, 32, 9


class Typist:
    """A wedge on a hand-moved clock, recording what it feeds."""

    def __init__(self, timeout_s: float = 3.0) -> None:
        self.now = 100.0
        self.fed: list[str] = []
        self.wedge = KeyboardWedge(self.fed.append, timeout_s=timeout_s, clock=lambda: self.now)

    def type(self, text: str, gap_s: float = 0.05, modifiers: tuple[str, ...] = ()) -> None:
        for char in text:
            self.now += gap_s
            self.wedge.key(ord(char), modifiers)

    def press(self, key: int, gap_s: float = 0.05) -> str | None:
        self.now += gap_s
        return self.wedge.key(key)


def test_digits_then_enter_feed_the_code_once() -> None:
    t = Typist()
    t.type("6921168509256")
    assert t.wedge.pending == "6921168509256"
    assert t.press(ENTER) == "6921168509256"
    assert t.fed == ["6921168509256"]
    assert t.wedge.pending == ""
    assert t.press(ENTER) is None  # a second Enter feeds nothing
    assert t.fed == ["6921168509256"]


def test_enter_without_a_code_feeds_nothing() -> None:
    t = Typist()
    assert t.press(ENTER) is None
    assert t.press(NUMPAD_ENTER) is None
    assert t.fed == []


def test_numeric_keypad_digits_and_enter() -> None:
    t = Typist()
    for digit in (4, 2):
        t.press(NUMPAD_0 + digit)
    assert t.press(NUMPAD_ENTER) == "42"
    assert t.fed == ["42"]


def test_a_pause_longer_than_the_timeout_discards_the_half_typed_code() -> None:
    t = Typist(timeout_s=1.0)
    t.type("69211")
    t.now += 1.5  # the typist walked away
    t.type("123")
    assert t.press(ENTER) == "123"
    t.type("999")
    t.now += 1.5
    assert t.press(ENTER) is None  # Enter after the pause: the code is gone
    assert t.fed == ["123"]


def test_a_pause_within_the_timeout_keeps_the_code() -> None:
    t = Typist(timeout_s=1.0)
    t.type("12", gap_s=0.9)
    t.type("34", gap_s=0.9)
    assert t.press(ENTER, gap_s=0.9) == "1234"


def test_non_printable_keys_are_ignored() -> None:
    t = Typist()
    t.type("12")
    for key in (SHIFT, LEFT, F1, TAB, SPACE):
        assert t.press(key) is None
    t.type("3")
    assert t.press(ENTER) == "123"


def test_shortcuts_type_nothing() -> None:
    t = Typist()
    t.type("12")
    t.type("c", modifiers=("ctrl",))
    t.type("x", modifiers=("alt",))
    t.type("q", modifiers=("meta",))
    assert t.press(ENTER) == "12"


def test_shift_or_caps_lock_gives_capitals() -> None:
    assert key_char(ord("a")) == "a"
    assert key_char(ord("a"), ["shift"]) == "A"
    assert key_char(ord("a"), ["capslock"]) == "A"
    assert key_char(ord("a"), ["shift", "capslock"]) == "a"
    assert key_char(ord("5"), ["shift"]) == "5"
    t = Typist()
    t.type("m", modifiers=("shift",))
    t.type("0001")
    assert t.press(ENTER) == "M0001"


def test_backspace_and_escape_edit_the_code() -> None:
    t = Typist()
    t.type("1239")
    t.press(BACKSPACE)
    assert t.wedge.pending == "123"
    t.press(ESCAPE)
    assert t.wedge.pending == ""
    t.type("7")
    assert t.press(ENTER) == "7"


def test_a_code_too_long_is_discarded_whole() -> None:
    t = Typist()
    t.type("1" * (MAX_CODE_CHARS + 5))
    assert t.press(ENTER) is None
    assert t.fed == []
    t.type("42")  # the next code is collected again
    assert t.press(ENTER) == "42"


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout_s must be positive"):
        KeyboardWedge(lambda _code: None, timeout_s=0)

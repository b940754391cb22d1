"""Keypad entries and error texts of the attendant screens (kiosk.ui.presenters.attendant_entry)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from kiosk.errors import MoneyError
from kiosk.ui.presenters.attendant_entry import (
    AmountEntry,
    EntryError,
    PinEntry,
    error_text,
    last_error,
)


def t(msgid: str) -> str:
    return f"<{msgid}>"


def test_amount_entry_reads_digits_as_minor_units() -> None:
    entry = AmountEntry("CNY")
    for key in ("1", "2", "5", "0"):
        entry.press(key)
    assert entry.minor == 1250
    entry.press("back")
    assert entry.minor == 125
    entry.press("00")
    assert entry.minor == 12500
    entry.press("clear")
    assert entry.empty
    assert entry.minor == 0


def test_amount_entry_keeps_a_typed_zero_and_drops_leading_zeros() -> None:
    entry = AmountEntry("CNY")
    entry.press("0")
    assert not entry.empty
    assert entry.minor == 0
    entry.press("0")
    entry.press("7")
    assert entry.digits == "7"


def test_amount_entry_ignores_digits_past_its_limit() -> None:
    entry = AmountEntry("CNY", max_digits=3)
    for key in "12345":
        entry.press(key)
    assert entry.minor == 123


def test_amount_entry_refuses_an_unknown_key_naming_it() -> None:
    entry = AmountEntry("CNY")
    with pytest.raises(EntryError) as caught:
        entry.press(".")
    assert caught.value.text(lambda m: m) == "Unknown key ."


def test_amount_entry_require_says_what_is_missing() -> None:
    entry = AmountEntry("CNY")
    with pytest.raises(EntryError, match="Type an amount first"):
        entry.require()
    entry.press("0")
    with pytest.raises(EntryError) as caught:
        entry.require(1)
    assert caught.value.text(lambda m: m) == "The amount must be at least 1"


def test_amount_entry_set_minor_checks_the_amount() -> None:
    entry = AmountEntry("CNY", max_digits=4)
    entry.set_minor(2000)
    assert entry.minor == 2000
    with pytest.raises(EntryError, match="negative"):
        entry.set_minor(-1)
    with pytest.raises(EntryError, match="too large"):
        entry.set_minor(100000)


def test_amount_entry_unknown_currency_is_an_error() -> None:
    with pytest.raises(MoneyError, match="XXX"):
        AmountEntry("XXX")


def test_pin_entry_shows_dots_and_never_the_pin() -> None:
    pin = PinEntry()
    for key in "1234":
        pin.press(key)
    assert pin.dots == "●●●●"
    assert "1234" not in repr(pin)
    assert pin.take() == "1234"
    assert pin.length == 0
    assert pin.take() == ""


def test_pin_entry_back_clear_limit_and_bad_key() -> None:
    pin = PinEntry(max_digits=3)
    for key in "98765":
        pin.press(key)
    assert pin.length == 3
    pin.press("back")
    assert pin.length == 2
    pin.press("clear")
    assert pin.length == 0
    with pytest.raises(EntryError, match="Only digits"):
        pin.press("A")
    with pytest.raises(EntryError):
        pin.press("00")


@pytest.mark.parametrize(
    ("code", "msgid"),
    [
        ("not_allowed", "An attendant must be logged in for this."),
        ("wrong_state", "Not possible right now."),
        ("blocked", "Clear the open interventions first."),
        ("storage", "The kiosk cannot save anything right now (storage problem)."),
        ("bogus", "Something went wrong."),
    ],
)
def test_error_text_translates_by_code_and_keeps_the_detail(code: str, msgid: str) -> None:
    text = error_text({"event": "error", "code": code, "message": "detail here"}, t)
    assert text.headline == f"<{msgid}>"
    assert text.detail == "detail here"
    assert text.code == code


def test_error_text_tells_a_lockout_apart() -> None:
    text = error_text({"code": "auth_failed", "message": "E01 is locked out after..."}, t)
    assert "locked out" in text.headline
    plain = error_text({"code": "auth_failed", "message": "wrong PIN"}, t)
    assert plain.headline == "<Login refused: unknown badge or staff ID, or wrong PIN.>"


def test_last_error_finds_the_last_error_or_none() -> None:
    events: list[Mapping[str, Any]] = [
        {"event": "error", "code": "not_found", "message": "a"},
        {"event": "item_added"},
        {"event": "error", "code": "blocked", "message": "b"},
    ]
    found = last_error(events, t)
    assert found is not None
    assert found.detail == "b"
    assert last_error([{"event": "item_added"}], t) is None

"""Staff login by staff ID and PIN (kiosk.ui.presenters.attendant_login) without Kivy."""

from __future__ import annotations

import logging

import pytest

from kiosk.lane_protocol import parse_command
from kiosk.ui.presenters.attendant_entry import EntryError
from kiosk.ui.presenters.attendant_login import ID_KEYS, PIN_KEYS, STEP_ID, STEP_PIN, LoginForm


def t(msgid: str) -> str:
    return msgid


def typed(form: LoginForm, keys: list[str]) -> None:
    for key in keys:
        form.press(key)


def test_staff_id_then_pin_builds_staff_login() -> None:
    form = LoginForm()
    assert form.state(t).keys == ID_KEYS
    typed(form, ["E", "0", "1"])
    form.next()
    state = form.state(t)
    assert state.step == STEP_PIN
    assert state.keys == PIN_KEYS
    assert state.prompt == "Type your PIN"
    typed(form, ["1", "2", "3", "4"])
    state = form.state(t)
    assert state.pin_dots == "●●●●"
    assert state.can_go_on
    command = form.command()
    assert command == {"cmd": "staff_login", "staff_id": "E01", "pin": "1234"}
    parse_command(command)
    assert form.pin.length == 0  # the PIN left the form with the command


def test_the_pin_is_never_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    form = LoginForm()
    typed(form, ["E", "0", "1"])
    form.next()
    typed(form, list("9876"))
    assert "9876" not in repr(form)
    assert "9876" not in str(form.state(t))
    form.command()
    assert "9876" not in caplog.text


def test_missing_id_or_short_pin_is_refused_with_a_reason() -> None:
    form = LoginForm()
    with pytest.raises(EntryError, match="staff ID"):
        form.next()
    with pytest.raises(EntryError, match="staff ID"):
        form.command()
    typed(form, ["E"])
    form.next()
    typed(form, ["1", "2"])
    assert not form.state(t).can_go_on
    with pytest.raises(EntryError) as caught:
        form.command()
    assert caught.value.text(t) == "A PIN has at least 4 digits"


def test_keys_back_clear_and_a_bad_key() -> None:
    form = LoginForm()
    typed(form, ["E", "0", "2"])
    form.press("back")
    assert form.staff_id == "E0"
    form.press("clear")
    assert form.staff_id == ""
    with pytest.raises(EntryError, match="Unknown key"):
        form.press("é")
    typed(form, ["A"] * 40)
    assert len(form.staff_id) == 16


def test_back_to_id_forgets_the_pin() -> None:
    form = LoginForm()
    typed(form, ["E", "1"])
    form.next()
    typed(form, list("12"))
    form.back_to_id()
    assert form.step == STEP_ID
    assert form.pin.length == 0
    assert form.staff_id == "E1"


def test_a_refused_login_clears_the_pin_and_says_why() -> None:
    form = LoginForm()
    typed(form, ["E", "0", "1"])
    form.next()
    typed(form, list("0000"))
    form.command()
    logged_in = form.on_lane(
        [{"event": "error", "code": "auth_failed", "message": "wrong PIN"}], {"attendant": None}, t
    )
    assert not logged_in
    state = form.state(t)
    assert state.step == STEP_PIN
    assert state.message == "Login refused: unknown badge or staff ID, or wrong PIN."
    assert state.pin_dots == ""


def test_a_login_resets_the_form() -> None:
    form = LoginForm()
    typed(form, ["E", "0", "1"])
    view = {"attendant": {"staff": "E01", "name": "王芳", "role": "attendant"}}
    assert form.on_lane([{"event": "staff_logged_in", "staff": "E01"}], view, t)
    assert form.staff_id == ""
    assert form.step == STEP_ID

"""The member presenter (kiosk.ui.presenters.member) without Kivy."""

from __future__ import annotations

import logging

import pytest

from kiosk.ui.presenters import member as p


def t(msgid: str) -> str:
    return msgid


def money(minor: int) -> str:
    return f"¥{minor / 100:.2f}"


def typed(number: str) -> p.MemberLocal:
    local = p.MemberLocal()
    for key in number:
        p.press(local, key)
    return local


def test_phone_is_sent_once_then_wiped() -> None:
    local = typed("13800000001")
    assert p.member_model(local, {}, t, money).entry == "138 0000 0001"
    assert p.member_model(local, {}, t, money).can_submit
    command = p.phone_command(local)
    assert command == {"cmd": "member_phone", "phone": "13800000001"}
    assert local.phone == ""
    assert local.sent
    assert p.member_model(local, {}, t, money).entry == ""


def test_phone_never_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    local = typed("13800000001")
    assert "13800000001" not in repr(local)
    p.phone_command(local)
    p.apply_events(local, [{"event": "member_identified", "member": "C0001", "level": "gold"}])
    assert "13800000001" not in caplog.text


def test_short_phone_is_refused_without_repeating_digits() -> None:
    local = typed("1234")
    assert not p.member_model(local, {}, t, money).can_submit
    assert p.phone_command(local) is None
    message = p.member_model(local, {}, t, money).message
    assert message == "A phone number has 5 to 20 digits."
    assert "1234" not in message


def test_keypad_limit_and_editing() -> None:
    local = typed("1" * 25)
    assert len(local.phone) == p.PHONE_MAX_DIGITS
    p.press(local, "back")
    assert len(local.phone) == p.PHONE_MAX_DIGITS - 1
    p.press(local, "clear")
    assert local.phone == ""
    with pytest.raises(ValueError, match="unknown keypad key"):
        p.press(local, "#")


def test_masked_entry_groups() -> None:
    assert p.masked_entry("") == ""
    assert p.masked_entry("138") == "138"
    assert p.masked_entry("13800") == "138 00"
    assert p.masked_entry("13800000001") == "138 0000 0001"


def test_identified_member_shows_the_lane_mask_and_balances() -> None:
    local = p.MemberLocal()
    p.apply_events(local, [{"event": "member_identified", "member": "C0001", "level": "gold"}])
    view = {
        "member": {"member": "C0001", "level": "gold", "phone": "138****0001"},
        "loyalty": {"points": 1200, "stored_value": 5000},
    }
    model = p.member_model(local, view, t, money)
    assert model.member_line == "Gold member 138****0001"
    assert model.balance_line == "Points: 1200   Stored value: ¥50.00"
    assert model.message == "Welcome! Your member prices apply."
    other = p.member_model(local, {"member": {"level": "vip", "phone": "****0004"}}, t, money)
    assert other.member_line == "vip ****0004"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"event": "scan_rejected", "reason": "unknown_phone"}, "No membership has that phone"),
        ({"event": "scan_rejected", "reason": "unknown_member"}, "That member card is not known"),
        ({"event": "error", "code": "wrong_state"}, "Membership can only be added before"),
        ({"event": "error", "code": "invalid_command"}, "A phone number has 5 to 20 digits."),
        ({"event": "error", "code": "storage"}, "That did not work. Please call an attendant."),
    ],
)
def test_refusals_are_explained(event: dict[str, str], message: str) -> None:
    local = p.MemberLocal()
    p.apply_events(local, [event])
    assert p.member_model(local, {}, t, money).message.startswith(message)


def test_member_code_command() -> None:
    assert p.code_command(" M000123 ") == {"cmd": "member", "code": "M000123"}
    with pytest.raises(ValueError, match="member code is empty"):
        p.code_command("  ")


def test_clear_forgets_everything() -> None:
    local = typed("13800000001")
    local.message = "x"
    p.clear(local)
    assert (local.phone, local.message, local.sent) == ("", "", False)

"""Command requests and the resend arguments (kiosk.protocol.mqtt, used by kiosk sync)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.protocol import mqtt
from kiosk.protocol.mqtt import CommandRequest, ProtocolError, ResendRange


def test_command_requests_round_trip() -> None:
    payload = mqtt.command_request("c-1", "resend", {"from_seq": 5})
    assert payload == {"cmd_id": "c-1", "cmd": "resend", "args": {"from_seq": 5}}
    assert mqtt.parse_command_request(payload) == CommandRequest("c-1", "resend", {"from_seq": 5})
    assert mqtt.parse_command_request({"cmd_id": "c-2", "cmd": "ping"}).args == {}
    assert "ping" in mqtt.COMMAND_NAMES and "resend" in mqtt.COMMAND_NAMES


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "a command must be a JSON object"),
        ({"cmd": "ping"}, "needs cmd_id and cmd"),
        ({"cmd_id": "", "cmd": "ping"}, "command.cmd_id '' must be"),
        ({"cmd_id": 7, "cmd": "ping"}, "command.cmd_id 7 must be"),
        ({"cmd_id": "a" * 65, "cmd": "ping"}, "must be 1-64"),
        ({"cmd_id": "c", "cmd": "Ping"}, "command.cmd 'Ping' must be"),
        ({"cmd_id": "c", "cmd": "ping", "args": [1]}, "command.args must be a JSON object"),
        ({"cmd_id": "c", "cmd": "ping", "sig": "x"}, "unknown field 'sig'"),
    ],
)
def test_bad_command_requests_are_named(data: Any, problem: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(problem)):
        mqtt.parse_command_request(data)


def test_resend_arguments() -> None:
    assert mqtt.parse_resend_request(mqtt.resend_request(5)) == ResendRange(5, None)
    assert mqtt.parse_resend_request(mqtt.resend_request(5, 9)) == ResendRange(5, 9)
    assert mqtt.parse_resend_request({"from_seq": 5, "to_seq": None}) == ResendRange(5, None)


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ("5", "resend args must be a JSON object"),
        ({}, "resend.from_seq must be int"),
        ({"from_seq": "5"}, "resend.from_seq must be int"),
        ({"from_seq": True}, "resend.from_seq must be int"),
        ({"from_seq": 0}, "resend range 0..None is not valid"),
        ({"from_seq": 9, "to_seq": 5}, "resend range 9..5 is not valid"),
        ({"from_seq": 1, "to_seq": 2**63}, "is not valid"),
        ({"from_seq": 1, "upto": 2}, "unknown argument 'upto'"),
    ],
)
def test_bad_resend_arguments_are_named(args: Any, problem: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(problem)):
        mqtt.parse_resend_request(args)


@given(st.dictionaries(st.sampled_from(["cmd_id", "cmd", "args", "x"]), st.from_type(object)))
def test_parse_command_request_raises_only_protocol_error(data: dict[str, Any]) -> None:
    try:
        mqtt.parse_command_request(data)
    except ProtocolError:
        return

"""The lane protocol's command validation (``kiosk.lane_protocol.parse_command``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.errors import InvalidCommand, LaneError
from kiosk.lane_protocol import (
    COMMANDS,
    ERROR_CODES,
    PROTOCOL_VERSION,
    Command,
    not_found,
    parse_command,
    wrong_state,
)

KINDS = {"str", "int", "decimal", "bool"}


def test_the_command_table_uses_only_known_argument_kinds() -> None:
    assert PROTOCOL_VERSION == 1
    for name, spec in COMMANDS.items():
        assert name.isidentifier()
        for key, (kind, required) in spec.items():
            assert kind in KINDS, (name, key)
            assert isinstance(required, bool)
            assert key not in ("cmd", "id")


def test_a_valid_command_is_parsed_with_typed_arguments() -> None:
    command = parse_command({"cmd": "set_qty", "id": 9, "line": 2, "qty": "3"})
    assert command == Command("set_qty", {"line": 2, "qty": Decimal(3)})
    assert parse_command({"cmd": "add", "sku": "100001", "qty": 2}).args["qty"] == Decimal(2)
    assert parse_command({"cmd": "out_of_service", "on": False}).args == {"on": False}
    assert parse_command({"cmd": "view"}) == Command("view", {})


def test_decimal_arguments_keep_their_exact_value() -> None:
    weight = parse_command({"cmd": "add", "plu": "10001", "weight_kg": "0.735"}).args["weight_kg"]
    assert weight == Decimal("0.735")
    assert isinstance(weight, Decimal)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("scan", "a command must be a JSON object, got str"),
        (42, "a command must be a JSON object, got int"),
        ({"code": "1"}, 'a command needs a "cmd" string'),
        ({"cmd": None}, 'a command needs a "cmd" string'),
        ({"cmd": "nope"}, "unknown command 'nope'"),
        ({"cmd": "scan"}, "scan needs 'code'"),
        ({"cmd": "scan", "code": "1", "extra": 1}, "scan has no argument 'extra'"),
        ({"cmd": "scan", "code": 5}, "scan.code must be a string, got 5"),
        ({"cmd": "scan", "code": "x" * 513}, "scan.code is longer than 512 characters"),
        ({"cmd": "remove_line", "line": "1"}, "remove_line.line must be a whole number, got '1'"),
        ({"cmd": "remove_line", "line": False}, "remove_line.line must be a whole number"),
        ({"cmd": "remove_line", "line": 1.0}, "remove_line.line must be a whole number"),
        ({"cmd": "remove_line", "line": -(10**12) - 1}, "remove_line.line is out of range"),
        ({"cmd": "set_qty", "line": 1, "qty": 0.5}, 'set_qty.qty must be a string like "1.250"'),
        ({"cmd": "set_qty", "line": 1, "qty": None}, "set_qty.qty must be a number, got None"),
        ({"cmd": "set_qty", "line": 1, "qty": "1,5"}, "set_qty.qty is not a number: '1,5'"),
        ({"cmd": "set_qty", "line": 1, "qty": "Infinity"}, "set_qty.qty is out of range"),
        ({"cmd": "set_qty", "line": 1, "qty": "-1000001"}, "set_qty.qty is out of range"),
        ({"cmd": "out_of_service", "on": "false"}, "out_of_service.on must be true or false"),
    ],
)
def test_a_bad_command_raises_invalid_command_naming_it(message: Any, error: str) -> None:
    with pytest.raises(InvalidCommand) as raised:
        parse_command(message)
    assert str(raised.value).startswith(error)
    assert raised.value.code == "invalid_command"


def test_a_string_argument_of_exactly_512_characters_is_accepted() -> None:
    assert len(parse_command({"cmd": "scan", "code": "x" * 512}).args["code"]) == 512


def test_command_accessors() -> None:
    command = Command("pay", {"method": "card", "amount": 5, "qty": Decimal("1.5")})
    assert command.text("method") == "card"
    assert command.text("missing", "default") == "default"
    assert command.integer("amount") == 5
    assert command.decimal("qty") == Decimal("1.5")
    with pytest.raises(InvalidCommand, match=r"pay\.method is not a number"):
        command.decimal("method")


def test_error_helpers_carry_their_protocol_codes() -> None:
    assert isinstance(wrong_state("x"), LaneError)
    assert wrong_state("x").code == "wrong_state"
    assert not_found("y").code == "not_found"
    assert {"wrong_state", "not_found", "invalid_command", "storage"} <= set(ERROR_CODES)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


@given(
    st.one_of(
        JSON_VALUES,
        st.builds(
            lambda name, args: {"cmd": name, **args},
            st.sampled_from(sorted(COMMANDS)),
            st.dictionaries(
                st.sampled_from(sorted({k for spec in COMMANDS.values() for k in spec})),
                JSON_VALUES,
                max_size=4,
            ),
        ),
    )
)
def test_parse_command_only_ever_raises_invalid_command(message: Any) -> None:
    try:
        command = parse_command(message)
    except InvalidCommand as exc:
        assert str(exc)
        return
    spec = COMMANDS[command.name]
    for key, value in command.args.items():
        kind = spec[key][0]
        assert not isinstance(value, float)
        if kind == "decimal":
            assert isinstance(value, Decimal) and value.is_finite()
        elif kind == "int":
            assert isinstance(value, int) and not isinstance(value, bool)
        elif kind == "str":
            assert isinstance(value, str) and len(value) <= 512
        else:
            assert isinstance(value, bool)
    for key, (_, required) in spec.items():
        assert not required or key in command.args

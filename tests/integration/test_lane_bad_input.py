"""Bad input at the lane on a real kiosk.db: every malformed command is answered with one
``error`` event naming what was wrong, carries the command's ``id``, and changes nothing: not
the view, not the lane snapshot, not a row of kiosk.db.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.lane_protocol import COMMANDS
from tests.integration.lane_kit import WATER, LaneKit, error_of, make_kiosk, names

LONG = "6" * 513

BAD: list[tuple[Any, str]] = [
    ("scan 6921168509256", "a command must be a JSON object, got str"),
    (None, "a command must be a JSON object, got NoneType"),
    ([{"cmd": "scan"}], "a command must be a JSON object, got list"),
    ({}, 'a command needs a "cmd" string'),
    ({"cmd": 7}, 'a command needs a "cmd" string'),
    ({"cmd": "refund"}, "unknown command 'refund'"),
    ({"cmd": "SCAN", "code": WATER}, "unknown command 'SCAN'"),
    ({"cmd": "scan"}, "scan needs 'code'"),
    ({"cmd": "scan", "code": WATER, "qty": "2"}, "scan has no argument 'qty'"),
    ({"cmd": "scan", "code": 6921168509256}, "scan.code must be a string, got 6921168509256"),
    ({"cmd": "scan", "code": LONG}, "scan.code is longer than 512 characters"),
    ({"cmd": "search", "query": "x" * 600}, "search.query is longer than 512 characters"),
    ({"cmd": "search", "query": "milk", "page": "1"}, "search.page must be a whole number"),
    ({"cmd": "set_qty", "line": 1, "qty": 1.5}, "set_qty.qty must be a string like"),
    ({"cmd": "set_qty", "line": 1, "qty": 2.0}, "set_qty.qty must be a string like"),
    ({"cmd": "set_qty", "line": 1, "qty": "two"}, "set_qty.qty is not a number: 'two'"),
    ({"cmd": "set_qty", "line": 1, "qty": "NaN"}, "set_qty.qty is out of range: 'NaN'"),
    ({"cmd": "set_qty", "line": 1, "qty": "1e9"}, "set_qty.qty is out of range: '1e9'"),
    ({"cmd": "set_qty", "line": 1, "qty": True}, "set_qty.qty must be a number, got True"),
    ({"cmd": "set_qty", "line": True, "qty": "1"}, "set_qty.line must be a whole number, got True"),
    ({"cmd": "set_qty", "line": 1.0, "qty": "1"}, "set_qty.line must be a whole number, got 1.0"),
    ({"cmd": "remove_line", "line": 10**13}, "remove_line.line is out of range"),
    ({"cmd": "add", "sku": "100001", "weight_kg": 0.5}, "add.weight_kg must be a string like"),
    ({"cmd": "pay", "method": "card", "amount": 2.5}, "pay.amount must be a whole number"),
    ({"cmd": "cash", "tendered": "1000"}, "cash.tendered must be a whole number"),
    ({"cmd": "out_of_service", "on": "yes"}, "out_of_service.on must be true or false"),
    ({"cmd": "out_of_service", "on": 1}, "out_of_service.on must be true or false"),
    ({"cmd": "language", "language": ["en"]}, "language.language must be a string"),
    ({"cmd": "clear", "intervention": "help"}, "clear needs 'resolution'"),
    (
        {"cmd": "price_override", "line": 1, "unit_price": "1.50", "reason": "x"},
        "price_override.unit_price must be a whole number, got '1.50'",
    ),
    ({"cmd": "staff_login", "staff_id": "E01", "pin": 1234}, "staff_login.pin must be a string"),
    ({"cmd": "view", "verbose": True}, "view has no argument 'verbose'"),
]


def state_of(kit: LaneKit) -> tuple[Any, ...]:
    """Everything a bad command must leave alone."""
    return (
        kit.view(),
        kit.snapshot(),
        kit.committed(),
        kit.count("audit"),
        kit.rows("SELECT staff_id, failures, locked_until FROM staff ORDER BY staff_id"),
    )


def test_every_bad_command_is_an_error_naming_it_and_changes_nothing(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    kit.cmd("scan", code=WATER)
    before = state_of(kit)
    for message, expected in BAD:
        events = kit.lane.handle(message)
        error = error_of(events)
        assert error["code"] == "invalid_command", message
        assert error["message"].startswith(expected), (message, error["message"])
    assert state_of(kit) == before


def test_errors_carry_the_command_id(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    assert kit.lane.handle({"cmd": "scan", "id": 41}) == [
        {"event": "error", "code": "invalid_command", "message": "scan needs 'code'", "id": 41}
    ]
    events = kit.lane.handle({"cmd": "scan", "code": WATER, "id": "a-7"})
    assert [e["id"] for e in events] == ["a-7", "a-7"]


def test_a_command_refused_half_way_leaves_no_trace(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    before = state_of(kit)
    # Each of these would have opened a sale before failing.
    opening: list[tuple[str, dict[str, Any]]] = [
        ("set_qty", {"line": 1, "qty": "2"}),
        ("remove_line", {"line": 1}),
        ("add", {"sku": "100001", "qty": "0"}),
        ("start", {"language": "xx"}),
    ]
    for name, args in opening:
        assert names(kit.cmd(name, **args)) == ["error"], name
    kit.login()
    missing_line: list[tuple[str, dict[str, Any]]] = [
        ("void_line", {"line": 1}),
        ("price_override", {"line": 1, "unit_price": 10, "reason": "x"}),
        ("discount_line", {"line": 1, "amount": 10, "reason": "x"}),
    ]
    for name, args in missing_line:
        assert error_of(kit.cmd(name, **args))["code"] == "not_found", name
    kit.logout()
    after = state_of(kit)
    assert after[:3] == before[:3]


def test_every_protocol_command_is_known_to_the_lane(tmp_path: Path) -> None:
    kit = make_kiosk(tmp_path)
    for name in COMMANDS:
        for event in kit.cmd(name):
            assert event.get("message") != f"unknown command {name!r}", name


@pytest.fixture(scope="module")
def fuzz_kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaneKit]:
    """One kiosk for all the examples: each example is one more command on the same lane."""
    kit = make_kiosk(tmp_path_factory.mktemp("fuzz"))
    yield kit
    kit.close()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(sorted(COMMANDS)),
    args=st.dictionaries(
        st.sampled_from([*sorted({k for spec in COMMANDS.values() for k in spec}), "bogus"]),
        JSON,
        max_size=3,
    ),
)
def test_random_commands_never_crash_the_lane_and_errors_change_nothing(
    fuzz_kit: LaneKit, name: str, args: dict[str, Any]
) -> None:
    kit = fuzz_kit
    if kit.view()["mode"] == "out_of_service":
        kit.login()
        kit.cmd("out_of_service", on=False)
    if args.get("pin") is not None or name == "staff_login":
        args.pop("staff_id", None)  # no slow PIN hashing for random PINs of real staff
    before = (kit.snapshot(), kit.committed())
    events = kit.lane.handle({"cmd": name, **args})
    assert isinstance(events, list)
    assert all(isinstance(e.get("event"), str) for e in events)
    view = kit.view()
    assert view["totals"]["remaining"] == view["totals"]["due"] - view["totals"]["paid"]
    if names(events) == ["error"] and events[0]["code"] != "storage":
        assert (kit.snapshot(), kit.committed()) == before

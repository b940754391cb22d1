"""kiosk.sim.runner.parse_text (the sim's text-mode shortcuts), kiosk.sim.drivers.SimDrivers
(``{"cmd": "sim", "action": ...}`` dispatch), the composition root's table of sim actions
(refused for devices that are real), and text-mode rendering from the view."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.app.devices import Fakes
from kiosk.app.headless import sim_drivers
from kiosk.errors import InvalidCommand
from kiosk.hw.fake import FakeClock, FakeScanner
from kiosk.hw.payment_sim import SimCardTerminal, SimWalletGateway
from kiosk.lane_protocol import COMMANDS
from kiosk.sim.demo import DEMO_SCRIPT
from kiosk.sim.drivers import SimDrivers
from kiosk.sim.runner import ALIASES, POSITIONAL, help_text, parse_text, render_event


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("scan 6921168509256", {"cmd": "scan", "code": "6921168509256"}),
        ("pay card", {"cmd": "pay", "method": "card"}),
        ("pay card 500", {"cmd": "pay", "method": "card", "amount": 500}),
        ("pay wallet code=134567890123456789", {"cmd": "pay", "method": "wallet",
                                                "code": "134567890123456789"}),
        ("login E01 1234", {"cmd": "staff_login", "staff_id": "E01", "pin": "1234"}),
        ("badge ST0001", {"cmd": "staff_login", "badge": "ST0001"}),
        ("logout", {"cmd": "staff_logout"}),
        ("clear age_check approve", {"cmd": "clear", "intervention": "age_check",
                                     "resolution": "approve"}),
        ("add 100001 3", {"cmd": "add", "sku": "100001", "qty": "3"}),
        ("plu 10001 1.250", {"cmd": "add", "plu": "10001", "weight_kg": "1.250"}),
        ("set_qty 2 5", {"cmd": "set_qty", "line": 2, "qty": "5"}),
        ("remove_line 3", {"cmd": "remove_line", "line": 3}),
        ("void_line 1", {"cmd": "void_line", "line": 1}),
        ("cash 10000", {"cmd": "cash", "tendered": 10000}),
        ("search 'spring water' 2", {"cmd": "search", "query": "spring water", "page": 2}),
        ("member M000123", {"cmd": "member", "code": "M000123"}),
        ("language en", {"cmd": "language", "language": "en"}),
        ("start language=en", {"cmd": "start", "language": "en"}),
        ("start zh_CN", {"cmd": "start", "language": "zh_CN"}),
        ("open_drawer 'float check'", {"cmd": "open_drawer", "reason": "float check"}),
        ("price_override 1 150 damaged", {"cmd": "price_override", "line": 1,
                                          "unit_price": 150, "reason": "damaged"}),
        ("discount_line line=1 percent=10 reason=loyal",
         {"cmd": "discount_line", "line": 1, "percent": "10", "reason": "loyal"}),
        ("out_of_service on", {"cmd": "out_of_service", "on": True}),
        ("out_of_service off 'paper jam'", {"cmd": "out_of_service", "on": False,
                                            "reason": "paper jam"}),
        ("out_of_service on=yes", {"cmd": "out_of_service", "on": True}),
        ("sim terminal.next outcome=declined", {"cmd": "sim", "action": "terminal.next",
                                                "outcome": "declined"}),
        ("sim terminal.next outcome=approved amount=500",
         {"cmd": "sim", "action": "terminal.next", "outcome": "approved", "amount": 500}),
        ("new_sale", {"cmd": "new_sale"}),
        ("  view  ", {"cmd": "view"}),
    ],
)  # fmt: skip
def test_shortcut_parses_to_the_lane_command(line: str, message: dict[str, Any]) -> None:
    assert parse_text(line) == message


def test_keyword_argument_overrides_positional_order() -> None:
    assert parse_text("pay amount=300 card") == {"cmd": "pay", "amount": 300, "method": "card"}


def test_value_may_contain_equals_sign() -> None:
    assert parse_text("open_drawer reason=a=b") == {"cmd": "open_drawer", "reason": "a=b"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("scan 123 456", "scan: unexpected argument number 2"),
        ("logout now", "logout: unexpected argument number 1"),
        ("badge ST0001 1234", "badge: unexpected argument number 2"),
        ("pay card many", "pay: amount must be a whole number"),
        ("set_qty two 1", "set_qty: line must be a whole number"),
        ("remove_line 1.5", "remove_line: line must be a whole number"),
        ("cash 100.00", "cash: tendered must be a whole number"),
        ("search milk page=next", "search: page must be a whole number"),
        ("price_override 1 1.50 damaged", "price_override: unit_price must be a whole number"),
        ("", "empty line"),
        ("   ", "empty line"),
        ('scan "6921168509256', "cannot read that line: No closing quotation"),
    ],
)
def test_bad_line_is_refused_with_the_reason(line: str, problem: str) -> None:
    with pytest.raises(InvalidCommand) as caught:
        parse_text(line)
    assert str(caught.value) == problem
    assert caught.value.code == "invalid_command"


def test_unknown_command_is_refused_listing_the_commands() -> None:
    with pytest.raises(InvalidCommand) as caught:
        parse_text("scna 6921168509256")
    message = str(caught.value)
    assert message.startswith("unknown command 'scna'; commands: ")
    for name in ("scan", "pay", "login", "badge", "sim"):
        assert name in message


def test_every_shortcut_maps_to_a_protocol_command() -> None:
    for name in set(POSITIONAL) | set(ALIASES):
        command = ALIASES.get(name, name)
        assert command == "sim" or command in COMMANDS, name
        for key in POSITIONAL.get(name, ()):
            assert command == "sim" or key in COMMANDS[command], (name, key)


def test_help_text_lists_every_command_and_alias() -> None:
    text = help_text()
    for name in [*COMMANDS, *ALIASES, "sim"]:
        assert name in text


def test_demo_script_lines_all_parse() -> None:
    parsed = [parse_text(line) for line in DEMO_SCRIPT]
    assert parsed[0] == {"cmd": "start", "language": "en"}
    assert parsed[-1] == {"cmd": "pay", "method": "card"}
    assert {"cmd": "staff_login", "badge": "ST0001"} in parsed


# ------------------------------------------------------------------------------ SimDrivers
class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def queue(self, outcome: str, amount: int | None = None) -> None:
        if outcome not in ("approved", "declined"):
            raise ValueError(f"unknown outcome {outcome!r}")
        self.calls.append({"outcome": outcome, "amount": amount})

    def paper_out(self) -> str:
        return "out"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def drivers(recorder: Recorder) -> SimDrivers:
    return SimDrivers(
        actions={"terminal.next": recorder.queue, "printer.paper_out": recorder.paper_out}
    )


def test_sim_action_calls_its_driver_with_the_other_fields(
    drivers: SimDrivers, recorder: Recorder
) -> None:
    event = drivers.run({"cmd": "sim", "action": "terminal.next", "outcome": "approved",
                         "amount": 50, "id": "c1"})  # fmt: skip
    assert event == {"event": "sim_done", "action": "terminal.next", "result": None}
    assert recorder.calls == [{"outcome": "approved", "amount": 50}]


def test_sim_action_result_is_returned(drivers: SimDrivers) -> None:
    assert drivers.run({"cmd": "sim", "action": "printer.paper_out"})["result"] == "out"


@pytest.mark.parametrize("action", ["nope", None, 5])
def test_unknown_sim_action_is_refused_naming_the_known_actions(
    drivers: SimDrivers, action: object
) -> None:
    message = {"cmd": "sim"} if action is None else {"cmd": "sim", "action": action}
    with pytest.raises(InvalidCommand) as caught:
        drivers.run(message)
    assert str(caught.value).endswith("known actions: printer.paper_out, terminal.next")
    if action == "nope":
        assert "has no action 'nope'" in str(caught.value)


def test_sim_action_with_a_wrong_argument_names_what_it_takes(
    drivers: SimDrivers, recorder: Recorder
) -> None:
    with pytest.raises(InvalidCommand) as caught:
        drivers.run({"cmd": "sim", "action": "terminal.next", "bogus": 1})
    assert str(caught.value) == "sim terminal.next takes outcome, amount; got bogus"
    assert recorder.calls == []


def test_sim_action_whose_driver_refuses_the_value_is_an_invalid_command(
    drivers: SimDrivers,
) -> None:
    with pytest.raises(InvalidCommand) as caught:
        drivers.run({"cmd": "sim", "action": "terminal.next", "outcome": "maybe"})
    assert str(caught.value) == "sim terminal.next: unknown outcome 'maybe'"


def test_sim_action_on_a_fake_without_the_part_is_an_invalid_command() -> None:
    def drive() -> None:
        raise RuntimeError("drawer drawer has no switch fitted to drive")

    drivers = SimDrivers(actions={"drawer.open": drive})
    with pytest.raises(InvalidCommand) as caught:
        drivers.run({"cmd": "sim", "action": "drawer.open"})
    assert str(caught.value) == "sim drawer.open: drawer drawer has no switch fitted to drive"


def test_sim_actions_of_real_devices_are_refused_naming_the_device() -> None:
    clock = FakeClock()
    drivers = sim_drivers(Fakes(), SimCardTerminal(clock), SimWalletGateway(clock))
    for action, device in (("printer.paper_out", "printer"), ("scanner.scan", "scanner"),
                           ("drawer.open", "drawer")):  # fmt: skip
        with pytest.raises(InvalidCommand) as caught:
            drivers.run({"cmd": "sim", "action": action, "code": "1"})
        assert str(caught.value).startswith(f"the {device} is a real device in this config")
    done = drivers.run({"cmd": "sim", "action": "terminal.disconnect"})
    assert done == {"event": "sim_done", "action": "terminal.disconnect", "result": None}


def test_sim_scan_action_reaches_the_fake_scanner_subscribers() -> None:
    clock = FakeClock()
    scanner = FakeScanner(clock)
    heard: list[str] = []
    scanner.subscribe(heard.append)
    drivers = sim_drivers(Fakes(scanner=scanner), SimCardTerminal(clock), SimWalletGateway(clock))
    assert drivers.run({"cmd": "sim", "action": "scanner.scan", "code": "6921168509256"}) == {
        "event": "sim_done",
        "action": "scanner.scan",
        "result": True,
    }
    assert heard == ["6921168509256"]


# ------------------------------------------------------------------------------ render_event
VIEW: dict[str, Any] = {
    "sale_id": "s1",
    "totals": {"due": 400, "paid": 0, "remaining": 400},
    "last_receipt": None,
}


def test_render_item_added_shows_the_totals_of_the_view_after_the_batch() -> None:
    line = render_event({"event": "item_added", "line": 1, "sku": "100001"}, VIEW)
    assert line == "item_added: line=1 sku=100001  | due 400 paid 0 remaining 400"


def test_render_payment_that_finished_the_sale_has_no_totals() -> None:
    view = {**VIEW, "sale_id": None}
    line = render_event({"event": "payment_approved", "method": "card", "amount": 400}, view)
    assert line == "payment_approved: method=card amount=400"


def test_render_sale_completed_prints_the_receipt_of_the_view() -> None:
    view = {**VIEW, "sale_id": None, "last_receipt": {"text": "RECEIPT\nTotal 4.00"}}
    line = render_event({"event": "sale_completed", "seq": 7}, view)
    assert line == "== sale completed, seq 7 ==\nRECEIPT\nTotal 4.00"


def test_render_other_events_lists_their_fields() -> None:
    assert render_event({"event": "device_status", "device": "drawer"}, VIEW) == (
        "device_status: device=drawer"
    )

"""The lane protocol (v1): the commands a front end sends and how they are validated. Pure core.

Front ends (``kiosk sim``, the Kivy app) send commands as JSON-like mappings such as
``{"cmd": "scan", "code": "6921168509256"}``; the lane answers with a list of events (mappings
with an ``"event"`` key) and a view state. docs/lane-protocol.md documents every command, event
and error code; ``COMMANDS`` below is the single source of the argument rules and a test checks
that the document and this table agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from kiosk.errors import InvalidCommand, LaneError

PROTOCOL_VERSION: Final = 1

# Argument kinds: "str", "int" (JSON integer), "decimal" (string or integer, never a float),
# "bool".
ArgSpec = tuple[str, bool]  # (kind, required)

COMMANDS: Final[dict[str, dict[str, ArgSpec]]] = {
    "view": {},
    "start": {"language": ("str", False)},
    "language": {"language": ("str", True)},
    "scan": {"code": ("str", True)},
    "add": {
        "sku": ("str", False),
        "plu": ("str", False),
        "qty": ("decimal", False),
        "weight_kg": ("decimal", False),
    },
    "search": {"query": ("str", True), "page": ("int", False), "category": ("str", False)},
    "categories": {},
    "set_qty": {"line": ("int", True), "qty": ("decimal", True)},
    "remove_line": {"line": ("int", True)},
    "help": {},
    "still_here": {},
    "member": {"code": ("str", True)},
    "member_phone": {"phone": ("str", True)},
    "redeem": {"type": ("str", True), "amount": ("int", False)},
    "pay": {"method": ("str", True), "amount": ("int", False), "code": ("str", False)},
    "cancel_payment": {},
    "staff_login": {"badge": ("str", False), "staff_id": ("str", False), "pin": ("str", False)},
    "staff_logout": {},
    "clear": {
        "intervention": ("str", True),
        "resolution": ("str", True),
        "sku": ("str", False),
        "plu": ("str", False),
        "ref": ("str", False),
        "auth": ("str", False),
    },
    "void_line": {"line": ("int", True)},
    "price_override": {"line": ("int", True), "unit_price": ("int", True), "reason": ("str", True)},
    "discount_line": {
        "line": ("int", True),
        "amount": ("int", False),
        "percent": ("decimal", False),
        "reason": ("str", True),
    },
    "cancel_sale": {},
    "cash": {"tendered": ("int", True)},
    "open_drawer": {"reason": ("str", True)},
    "light_test": {},
    "scanner_test": {},
    "scanner_test_cancel": {},
    "printer_test": {},
    "out_of_service": {"on": ("bool", True), "reason": ("str", False)},
    "new_sale": {},
    "retry_print": {"job": ("str", False)},
    "reprint": {"receipt_no": ("str", False)},
    "return_start": {"receipt_no": ("str", True)},
    "return_line": {"line": ("int", True), "qty": ("decimal", False)},
    "return_confirm": {"method": ("str", False)},
    "return_cancel": {},
    "shift_open": {"float": ("int", False), "per": ("str", False)},
    "cash_pickup": {"amount": ("int", True), "reason": ("str", False)},
    "x_report": {},
    "shift_close": {"counted": ("int", True)},
}

# Error codes a command can fail with (the ``code`` of kiosk.errors.LaneError subclasses).
ERROR_CODES: Final[dict[str, str]] = {
    "invalid_command": "the command or one of its arguments is malformed",
    "not_allowed": "an attendant (or supervisor) must be logged in for this",
    "wrong_state": "the lane is not in a state where this command makes sense",
    "blocked": "an open intervention must be cleared first",
    "not_found": "no such line, intervention, product or staff member",
    "storage": "kiosk.db cannot record anything now (disk full, read-only, corrupt)",
    "auth_failed": "staff login refused (unknown badge, wrong PIN, locked out)",
    "device": "a device failed (drawer, printer)",
    "limit": "a member's balance or a spending cap does not allow this",
}

# Arguments whose value is never repeated in an error message (nor anywhere else).
SECRET_ARGS: Final[frozenset[tuple[str, str]]] = frozenset(
    {("member_phone", "phone"), ("staff_login", "pin")}
)


class MissingArgument(InvalidCommand):
    """An ``invalid_command`` for an argument this product needs but the command lacks (an
    item sold by weight added without ``weight_kg``). Its ``error`` event also carries
    ``needs`` (the argument's name) and ``details`` such as the product's ``unit`` and
    ``sku``, so a front end can ask for it without reading the message."""

    def __init__(self, message: str, needs: str, **details: str) -> None:
        super().__init__(message)
        self.details: dict[str, str] = {"needs": needs, **details}


def wrong_state(message: str) -> LaneError:
    """The lane is not in a state where the command makes sense (code ``wrong_state``)."""
    return LaneError(message, code="wrong_state")


def not_found(message: str) -> LaneError:
    """No such line, intervention, product or staff member (code ``not_found``)."""
    return LaneError(message, code="not_found")


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: Mapping[str, Any]

    def text(self, key: str, default: str = "") -> str:
        value = self.args.get(key, default)
        return str(value)

    def integer(self, key: str) -> int:
        return int(self.args[key])

    def decimal(self, key: str) -> Decimal:
        value = self.args[key]
        if not isinstance(value, Decimal):
            raise InvalidCommand(f"{self.name}.{key} is not a number")
        return value


def _convert(command: str, key: str, kind: str, value: Any) -> Any:
    where = f"{command}.{key}"
    if kind == "str":
        if not isinstance(value, str):
            secret = (command, key) in SECRET_ARGS
            shown = f"a value of type {type(value).__name__}" if secret else repr(value)
            raise InvalidCommand(f"{where} must be a string, got {shown}")
        if len(value) > 512:
            raise InvalidCommand(f"{where} is longer than 512 characters")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidCommand(f"{where} must be true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidCommand(f"{where} must be a whole number, got {value!r}")
        if abs(value) > 10**12:
            raise InvalidCommand(f"{where} is out of range: {value}")
        return value
    if kind == "decimal":
        if isinstance(value, float):
            raise InvalidCommand(
                f'{where} must be a string like "1.250" or an integer, not a float'
            )
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidCommand(f"{where} must be a number, got {value!r}")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise InvalidCommand(f"{where} is not a number: {value!r}") from None
        if not number.is_finite() or abs(number) > 10**6:
            raise InvalidCommand(f"{where} is out of range: {value!r}")
        return number
    raise AssertionError(f"unknown argument kind {kind}")  # pragma: no cover - table bug


def parse_command(message: Any) -> Command:
    """Validate one command mapping; raise InvalidCommand naming what is wrong."""
    if not isinstance(message, Mapping):
        raise InvalidCommand(f"a command must be a JSON object, got {type(message).__name__}")
    name = message.get("cmd")
    if not isinstance(name, str):
        raise InvalidCommand('a command needs a "cmd" string')
    spec = COMMANDS.get(name)
    if spec is None:
        raise InvalidCommand(f"unknown command {name!r}")
    args: dict[str, Any] = {}
    for key, value in message.items():
        if key in ("cmd", "id"):
            continue
        if key not in spec:
            raise InvalidCommand(f"{name} has no argument {key!r}")
        args[key] = _convert(name, key, spec[key][0], value)
    for key, (_, required) in spec.items():
        if required and key not in args:
            raise InvalidCommand(f"{name} needs {key!r}")
    return Command(name, args)

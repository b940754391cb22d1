"""The MQTT topic tree and the small control messages, as pure code (docs/mqtt-contract.md).

Shared by ``kiosk sync``, the central consumers and the fleet tools: every topic is built and
parsed here, and every control payload (acks, resend requests, state, command replies) is
validated here, so the two ends cannot drift. Event payloads themselves are built by
``kiosk.protocol.sale_event`` (and later event modules).

Validation functions raise ``ProtocolError`` naming the field and what is wrong; receivers log
it (and park the message) instead of crashing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

ROOT: Final = "pos/v1"
PROVISIONING_ROOT: Final = "prov/v1"

EVENT_TYPES: Final[tuple[str, ...]] = (
    "sale.completed",
    "sale.refunded",
    "sale.voided",
    "shift.closed",
    "drawer.opened",
    "intervention.cleared",
    "stock.adjusted",
)
CONSUMER_GROUPS: Final[tuple[str, ...]] = ("inventory", "finance")

_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_EVENT_TYPE: Final = re.compile(r"[a-z]+(\.[a-z_]+)+")
MAX_ACK_IDS: Final = 1000


class ProtocolError(ValueError):
    """A topic or payload does not follow the contract; the message names what is wrong."""


def _check_id(kind: str, value: str) -> str:
    if not _ID.fullmatch(value):
        raise ProtocolError(f"{kind} {value!r} must be 1-63 lowercase letters, digits or '-'")
    return value


# ------------------------------------------------------------------------------------ topics
def event_topic(kiosk_id: str, event_type: str) -> str:
    """``pos/v1/{kiosk}/evt/{type}``: events from the kiosk's outbox (QoS 1, not retained)."""
    if not _EVENT_TYPE.fullmatch(event_type):
        raise ProtocolError(f"event type {event_type!r} is not like 'sale.completed'")
    return f"{ROOT}/{_check_id('kiosk id', kiosk_id)}/evt/{event_type}"


def ack_topic(kiosk_id: str, group: str) -> str:
    """``pos/v1/{kiosk}/ack/{group}``: a consumer group's application acks to one kiosk."""
    return f"{ROOT}/{_check_id('kiosk id', kiosk_id)}/ack/{_check_id('group', group)}"


def state_topic(kiosk_id: str) -> str:
    """``pos/v1/{kiosk}/state``: retained birth / will of the kiosk's sync agent."""
    return f"{ROOT}/{_check_id('kiosk id', kiosk_id)}/state"


def telemetry_topic(kiosk_id: str) -> str:
    return f"{ROOT}/{_check_id('kiosk id', kiosk_id)}/telemetry"


def command_request_topic(kiosk_id: str) -> str:
    return f"{ROOT}/{_check_id('kiosk id', kiosk_id)}/cmd/req"


def command_response_topic(kiosk_id: str) -> str:
    return f"{ROOT}/{_check_id('kiosk id', kiosk_id)}/cmd/res"


def config_desired_topic(kiosk_id: str) -> str:
    return f"{ROOT}/{_check_id('kiosk id', kiosk_id)}/cfg/desired"


def config_reported_topic(kiosk_id: str) -> str:
    return f"{ROOT}/{_check_id('kiosk id', kiosk_id)}/cfg/reported"


def central_state_topic(group: str) -> str:
    """``pos/v1/central/state/{group}``: retained online/offline of a consumer group."""
    return f"{ROOT}/central/state/{_check_id('group', group)}"


def shared_events_subscription(group: str) -> str:
    """``$share/{group}/pos/v1/+/evt/#``: instances of one group split the events."""
    return f"$share/{_check_id('group', group)}/{ROOT}/+/evt/#"


def alerts_topic(store_id: str, kind: str) -> str:
    """``pos/v1/store/{store}/alert/{kind}`` (e.g. low stock), published by central."""
    return f"{ROOT}/store/{_check_id('store id', store_id)}/alert/{_check_id('alert', kind)}"


@dataclass(frozen=True, slots=True)
class EventTopic:
    kiosk_id: str
    event_type: str


def parse_event_topic(topic: str) -> EventTopic:
    """Split ``pos/v1/{kiosk}/evt/{type}``; anything else raises ProtocolError."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT or parts[3] != "evt":
        raise ProtocolError(f"{topic!r} is not an event topic pos/v1/{{kiosk}}/evt/{{type}}")
    _check_id("kiosk id", parts[2])
    if not _EVENT_TYPE.fullmatch(parts[4]):
        raise ProtocolError(f"{topic!r} has no valid event type")
    return EventTopic(parts[2], parts[4])


def parse_ack_topic(topic: str) -> tuple[str, str]:
    """``pos/v1/{kiosk}/ack/{group}`` -> (kiosk, group)."""
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != ROOT or parts[3] != "ack":
        raise ProtocolError(f"{topic!r} is not an ack topic pos/v1/{{kiosk}}/ack/{{group}}")
    return _check_id("kiosk id", parts[2]), _check_id("group", parts[4])


# ---------------------------------------------------------------------------------- payloads
@dataclass(frozen=True, slots=True)
class Ack:
    """A consumer group's acknowledgement: every seq up to ``up_to_seq`` (inclusive) is applied,
    and/or these ``event_ids`` are (for out-of-order or sparse acks)."""

    up_to_seq: int | None
    event_ids: tuple[str, ...]


def _field(data: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ProtocolError(f"{where}.{name} must be {kind.__name__}, got {value!r}")
    return value


def ack_payload(up_to_seq: int | None = None, event_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    if up_to_seq is None and not event_ids:
        raise ProtocolError("an ack needs up_to_seq or event_ids")
    out: dict[str, Any] = {}
    if up_to_seq is not None:
        out["up_to_seq"] = up_to_seq
    if event_ids:
        out["event_ids"] = list(event_ids)
    return out


def parse_ack(data: Any) -> Ack:
    if not isinstance(data, Mapping):
        raise ProtocolError("an ack must be a JSON object")
    unknown = set(data) - {"up_to_seq", "event_ids"}
    if unknown:
        raise ProtocolError(f"ack has unknown field {sorted(unknown)[0]!r}")
    up_to = None
    if "up_to_seq" in data:
        up_to = _field(data, "up_to_seq", int, "ack")
        if not 0 <= up_to < 2**63:
            raise ProtocolError(f"ack.up_to_seq {up_to} is outside 0..2^63-1")
    ids: tuple[str, ...] = ()
    if "event_ids" in data:
        raw = _field(data, "event_ids", list, "ack")
        if len(raw) > MAX_ACK_IDS or not all(isinstance(i, str) and i for i in raw):
            raise ProtocolError(f"ack.event_ids must be at most {MAX_ACK_IDS} non-empty strings")
        ids = tuple(raw)
    if up_to is None and not ids:
        raise ProtocolError("an ack needs up_to_seq or event_ids")
    return Ack(up_to, ids)


def resend_request(from_seq: int, to_seq: int | None = None) -> dict[str, Any]:
    """The ``resend`` command's arguments: republish the kiosk's events from ``from_seq``."""
    if from_seq < 1 or (to_seq is not None and to_seq < from_seq):
        raise ProtocolError(f"resend range {from_seq}..{to_seq} is not valid")
    out: dict[str, Any] = {"from_seq": from_seq}
    if to_seq is not None:
        out["to_seq"] = to_seq
    return out


def birth_payload(
    boot: int,
    fw: str,
    config_version: int,
    catalog_version: str,
    last_seq: int,
    outbox_pending: int,
    oldest_pending_s: float,
) -> dict[str, Any]:
    """The retained ``state`` message a kiosk's sync agent publishes when it connects."""
    return {
        "online": True,
        "boot": boot,
        "fw": fw,
        "config_version": config_version,
        "catalog_version": catalog_version,
        "last_seq": last_seq,
        "outbox_pending": outbox_pending,
        "oldest_pending_s": round(oldest_pending_s, 3),
    }


def will_payload(boot: int) -> dict[str, Any]:
    """The retained Will (and the clean-stop message): ``{"online": false, "boot": b}``."""
    return {"online": False, "boot": boot}


def central_state_payload(online: bool, timestamp: str) -> dict[str, Any]:
    return {"online": online, "timestamp": timestamp}


def command_response(cmd_id: str, status: str, result: Any = None) -> dict[str, Any]:
    if status not in ("ok", "rejected", "failed"):
        raise ProtocolError(f"command status {status!r} is not ok, rejected or failed")
    return {"cmd_id": cmd_id, "status": status, "result": result}


# ---------------------------------------------------------------------------------- commands
COMMAND_NAMES: Final[tuple[str, ...]] = (
    "ping",
    "resend",
    "print_test",
    "open_drawer",
    "set_out_of_service",
    "reload_catalog",
    "collect_diagnostics",
    "restart",
)
_CMD_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_CMD_NAME: Final = re.compile(r"[a-z][a-z_]{0,31}")


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A fleet command to one kiosk (``cmd/req``): ``name`` with its ``args`` object.

    ``cmd_id`` identifies the request (the kiosk answers it on ``cmd/res`` with the same id and
    treats a repeated id as the same request). The name is checked for shape only: a kiosk
    answers a command it does not know with status ``rejected``.
    """

    cmd_id: str
    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ResendRange:
    """The ``resend`` command's arguments: republish ``from_seq`` .. ``to_seq`` (None: the
    kiosk's last seq at the time of the request), inclusive."""

    from_seq: int
    to_seq: int | None


def command_request(
    cmd_id: str, name: str, args: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``cmd/req`` payload ``{"cmd_id": ..., "cmd": name, "args": {...}}``."""
    return _check_command(cmd_id, name, dict(args or {}))


def _check_command(cmd_id: Any, name: Any, args: Any) -> dict[str, Any]:
    if not isinstance(cmd_id, str) or not _CMD_ID.fullmatch(cmd_id):
        raise ProtocolError(
            f"command.cmd_id {cmd_id!r} must be 1-64 letters, digits or '.', '_', ':', '-'"
        )
    if not isinstance(name, str) or not _CMD_NAME.fullmatch(name):
        raise ProtocolError(f"command.cmd {name!r} must be a lowercase name like 'resend'")
    if not isinstance(args, Mapping):
        raise ProtocolError(f"command.args must be a JSON object, got {args!r}")
    return {"cmd_id": cmd_id, "cmd": name, "args": dict(args)}


def parse_command_request(data: Any) -> CommandRequest:
    """Validate a decoded ``cmd/req`` payload; ``args`` may be left out (``{}``)."""
    if not isinstance(data, Mapping):
        raise ProtocolError("a command must be a JSON object")
    unknown = set(data) - {"cmd_id", "cmd", "args"}
    if unknown:
        raise ProtocolError(f"command has unknown field {sorted(unknown)[0]!r}")
    if "cmd_id" not in data or "cmd" not in data:
        raise ProtocolError("a command needs cmd_id and cmd")
    checked = _check_command(data["cmd_id"], data["cmd"], data.get("args", {}))
    return CommandRequest(checked["cmd_id"], checked["cmd"], checked["args"])


def parse_resend_request(args: Any) -> ResendRange:
    """Validate the ``resend`` command's ``args`` (``{"from_seq": n, "to_seq": m}``)."""
    if not isinstance(args, Mapping):
        raise ProtocolError("resend args must be a JSON object")
    unknown = set(args) - {"from_seq", "to_seq"}
    if unknown:
        raise ProtocolError(f"resend has unknown argument {sorted(unknown)[0]!r}")
    from_seq = _field(args, "from_seq", int, "resend")
    to_seq = None
    if args.get("to_seq") is not None:
        to_seq = _field(args, "to_seq", int, "resend")
    if not 1 <= from_seq < 2**63 or (to_seq is not None and not from_seq <= to_seq < 2**63):
        raise ProtocolError(f"resend range {from_seq}..{to_seq} is not valid")
    return ResendRange(from_seq, to_seq)

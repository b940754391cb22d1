"""Fleet commands on ``pos/v1/{kiosk}/cmd/req``: run, audit locally, answer.

Called on the sync agent's thread for each command message. The request is
``{"cmd_id", "cmd", "args"}`` (``kiosk.protocol.mqtt.parse_command_request``); the answer
``{"cmd_id", "status": "ok"|"rejected"|"failed", "result"}`` goes to the request's MQTT v5
Response Topic with its Correlation Data when it has one, else to ``pos/v1/{kiosk}/cmd/res``.
Every command, its outcome included, is written to the local ``audit`` table (kind
``command``) before the answer is sent. A repeated ``cmd_id`` (QoS 1 redelivery) is answered
again from memory without running twice.

Commands run here: ``ping`` and ``resend {from_seq, to_seq?}``. Commands of the lane and its
devices (``print_test``, ``open_drawer``, ...) are answered ``rejected`` until the command
tables between ``kiosk sync`` and the lane exist; an unknown name is ``rejected`` too.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

import kiosk
from kiosk.protocol.mqtt import (
    COMMAND_NAMES,
    CommandRequest,
    ProtocolError,
    command_response,
    command_response_topic,
    parse_command_request,
    parse_resend_request,
)
from kiosk.sync.client import InboundMessage, PublishOptions
from kiosk.sync.ports import SyncStore
from kiosk.sync.relay import OutboxRelay, Publisher
from kiosk.sync.state import iso_time

logger = logging.getLogger(__name__)

REMEMBERED: Final = 256


class CommandHandler:
    def __init__(
        self,
        store: SyncStore,
        publisher: Publisher,
        relay: OutboxRelay,
        kiosk_id: str,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._relay = relay
        self._kiosk_id = kiosk_id
        self._wall = wall
        self._answered: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def handle(self, message: InboundMessage) -> None:
        try:
            data = json.loads(message.payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            logger.warning("ignored a command that is not JSON: %s", exc)
            return
        try:
            request = parse_command_request(data)
        except ProtocolError as exc:
            cmd_id = data.get("cmd_id") if isinstance(data, dict) else None
            logger.warning("rejected a malformed command %r: %s", cmd_id, exc)
            if isinstance(cmd_id, str) and cmd_id:
                answer = command_response(cmd_id, "rejected", {"error": str(exc)})
                self._audit(None, answer, message)
                self._respond(answer, message)
            return
        previous = self._answered.get(request.cmd_id)
        if previous is not None:
            logger.info("command %s seen before: answering again", request.cmd_id)
            self._respond(previous, message)
            return
        answer = self._run(request)
        self._audit(request, answer, message)
        self._answered[request.cmd_id] = answer
        while len(self._answered) > REMEMBERED:
            self._answered.popitem(last=False)
        self._respond(answer, message)

    def _run(self, request: CommandRequest) -> dict[str, Any]:
        cmd_id = request.cmd_id
        if request.name == "ping":
            if request.args:
                return command_response(cmd_id, "rejected", {"error": "ping takes no arguments"})
            stats = self._store.stats()
            return command_response(
                cmd_id,
                "ok",
                {
                    "pong": True,
                    "at": iso_time(self._wall()),
                    "fw": kiosk.__version__,
                    "last_seq": stats.last_seq,
                    "outbox_pending": stats.unsettled,
                },
            )
        if request.name == "resend":
            try:
                wanted = parse_resend_request(request.args)
            except ProtocolError as exc:
                return command_response(cmd_id, "rejected", {"error": str(exc)})
            last_seq = self._store.stats().last_seq
            first, last = self._relay.request_resend(wanted, last_seq)
            queued = max(0, last - first + 1)
            return command_response(
                cmd_id,
                "ok",
                {"from_seq": first, "to_seq": last, "queued": queued, "last_seq": last_seq},
            )
        if request.name in COMMAND_NAMES:
            error = f"{request.name} is not available on this kiosk yet"
        else:
            error = f"unknown command {request.name!r}"
        return command_response(cmd_id, "rejected", {"error": error})

    def _audit(
        self, request: CommandRequest | None, answer: dict[str, Any], message: InboundMessage
    ) -> None:
        self._store.audit(
            "command",
            {
                "cmd_id": answer["cmd_id"],
                "cmd": request.name if request else None,
                "args": dict(request.args) if request else None,
                "status": answer["status"],
                "result": answer["result"],
                "reply_to": message.response_topic,
            },
        )
        logger.info(
            "command %s %s: %s",
            answer["cmd_id"],
            request.name if request else "(malformed)",
            answer["status"],
            extra={"cmd_id": answer["cmd_id"]},
        )

    def _respond(self, answer: dict[str, Any], message: InboundMessage) -> None:
        topic = message.response_topic or ""
        if not topic or "+" in topic or "#" in topic or "\0" in topic:
            if topic:
                logger.warning("command %s: unusable response topic %r", answer["cmd_id"], topic)
            topic = command_response_topic(self._kiosk_id)
        options = PublishOptions(qos=1, correlation_data=message.correlation_data)
        payload = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if self._publisher.publish(topic, payload, options) is None:
            logger.warning("could not answer command %s on %s", answer["cmd_id"], topic)

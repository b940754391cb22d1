"""Fleet commands on ``pos/v1/{kiosk}/cmd/req``: verify, run, audit locally, answer.

Called on the sync agent's thread for each message on the handler's ``topics`` (commands
here; configuration documents are passed on to ``kiosk.sync.fleet_config.ConfigHandler``).

With a pinned fleet key (``sync.fleet_public_key``) a command is a JWT signed by a fleet key
(``kiosk.sync.signing``): claims ``aud``, ``iat``, ``exp`` (at most ``sync.command_max_ttl_s``
ahead), ``jti`` (the command id), ``cmd`` and ``args``. Its ``jti`` is recorded in kiosk.db
before it runs and kept until it expires, so a replay (after a restart too) is refused and
nothing runs twice. Plain JSON ``{"cmd_id", "cmd", "args"}`` is accepted only for the names
in ``sync.unsigned_commands`` (default ``resend``, which central consumers send unsigned).
Without a pinned key every command is plain JSON, as before signing existed (the broker ACL
is then the only protection; a warning says so at start).

Every command and every refusal (unsigned, bad signature, unknown or retired key, wrong
audience, expired, no exp, exp too far, replayed, ...) is written to the local ``audit``
table (kind ``command``) before it is answered and logged with its id; a refusal runs nothing.
The answer ``{"cmd_id", "status": "ok"|"rejected"|"failed", "result"}`` (a refusal's result is
``{"error", "reason"}``) goes to the request's MQTT v5 Response Topic with its Correlation Data
when it has one, else to ``pos/v1/{kiosk}/cmd/res``. An unsigned command whose ``cmd_id`` was
seen (a QoS 1 redelivery) is answered again from memory without running twice.

Commands run here: ``ping``, ``resend {from_seq, to_seq?}`` and (signed only)
``rotate_fleet_key {public_key, overlap_s}``. Commands of the lane and its devices
(``print_test``, ``open_drawer``, ...) are answered ``rejected`` until the command tables
between ``kiosk sync`` and the lane exist; an unknown name is ``rejected`` too.
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
    command_request_topic,
    command_response,
    command_response_topic,
    parse_command_request,
    parse_resend_request,
)
from kiosk.sync.client import InboundMessage, PublishOptions
from kiosk.sync.fleet_config import ConfigHandler
from kiosk.sync.ports import SyncStore
from kiosk.sync.relay import OutboxRelay, Publisher
from kiosk.sync.settings import SyncSettings
from kiosk.sync.signing import (
    ROTATE_COMMAND,
    TYP_COMMAND,
    FleetVerifier,
    Refusal,
    TrustStore,
    VerifiedToken,
    looks_signed,
    unverified_jti,
)
from kiosk.sync.state import iso_time

logger = logging.getLogger(__name__)

REMEMBERED: Final = 256
_CLAIMS: Final = frozenset({"aud", "iat", "exp", "jti", "nbf", "iss", "sub", "cmd", "args"})


class CommandHandler:
    def __init__(
        self,
        store: SyncStore,
        publisher: Publisher,
        relay: OutboxRelay,
        settings: SyncSettings,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._relay = relay
        self._settings = settings
        self._kiosk_id = settings.kiosk_id
        self._wall = wall
        self._answered: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._cmd_topic = command_request_topic(settings.kiosk_id)
        self._trust: TrustStore | None = None
        self.verifier: FleetVerifier | None = None
        if settings.fleet_public_key_pem:
            if not isinstance(store, TrustStore):
                raise TypeError("a pinned fleet key needs a store that keeps fleet keys")
            self._trust = store
            self.verifier = FleetVerifier(
                store,
                settings.fleet_public_key_pem,
                kiosk_id=settings.kiosk_id,
                store_id=settings.store_id,
                wall=wall,
            )
            logger.info(
                "fleet commands must be signed; current fleet key %s", self.verifier.current_kid
            )
        else:
            logger.warning(
                "sync.fleet_public_key is not set: fleet commands are NOT signed (broker ACL only)"
            )
        self.config = ConfigHandler(
            self._trust, publisher, self.verifier, store.audit, settings, wall=wall
        )
        self.topics: tuple[str, ...] = (self._cmd_topic, *self.config.topics)

    def handle(self, message: InboundMessage) -> None:
        if message.topic != self._cmd_topic:
            self.config.handle(message)
        elif self.verifier is not None and looks_signed(message.payload):
            self._handle_signed(message, self.verifier)
        else:
            self._handle_plain(message)

    # --------------------------------------------------------------------- signed commands
    def _handle_signed(self, message: InboundMessage, verifier: FleetVerifier) -> None:
        kid = ""
        try:
            token = verifier.verify(
                message.payload,
                TYP_COMMAND,
                verifier.audiences,
                max_ttl_s=self._settings.command_max_ttl_s,
            )
            kid = token.kid
            request = self._request(token)
            assert self._trust is not None
            if not self._trust.remember_token(token.jti, token.exp, "command", self._wall()):
                raise Refusal("replayed", f"command {token.jti} was received before")
        except Refusal as refusal:
            cmd_id = unverified_jti(message.payload) or "unknown"
            self._refuse(cmd_id, refusal, message, kid=kid, signed=True)
            return
        answer = self._run(request, token)
        self._audit(request, answer, message, kid=token.kid, signed=True)
        self._respond(answer, message)

    @staticmethod
    def _request(token: VerifiedToken) -> CommandRequest:
        claims = token.claims
        unknown = set(claims) - _CLAIMS
        if unknown:
            raise Refusal("malformed", f"command token has unknown claim {min(unknown)!r}")
        data = {"cmd_id": token.jti, "cmd": claims.get("cmd"), "args": claims.get("args", {})}
        try:
            return parse_command_request(data)
        except ProtocolError as exc:
            raise Refusal("malformed", str(exc)) from None

    # ---------------------------------------------------------------------- plain commands
    def _handle_plain(self, message: InboundMessage) -> None:
        try:
            data = json.loads(message.payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            logger.warning("ignored a command that is not JSON: %s", exc)
            if self.verifier is not None:
                self._refuse("unknown", Refusal("unsigned", "not a signed command"), message)
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
        if self.verifier is not None and request.name not in self._settings.unsigned_commands:
            refusal = Refusal(
                "unsigned", f"{request.name} must be a signed command (EdDSA JWT by a fleet key)"
            )
            self._refuse(request.cmd_id, refusal, message, name=request.name)
            return
        previous = self._answered.get(request.cmd_id)
        if previous is not None:
            logger.info("command %s seen before: answering again", request.cmd_id)
            self._respond(previous, message)
            return
        answer = self._run(request, None)
        self._audit(request, answer, message)
        self._answered[request.cmd_id] = answer
        while len(self._answered) > REMEMBERED:
            self._answered.popitem(last=False)
        self._respond(answer, message)

    # ------------------------------------------------------------------------- running
    def _run(self, request: CommandRequest, token: VerifiedToken | None) -> dict[str, Any]:
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
        if request.name == ROTATE_COMMAND:
            if token is None or self.verifier is None:
                error = f"{ROTATE_COMMAND} must be signed by the current fleet key"
                return command_response(cmd_id, "rejected", {"error": error, "reason": "unsigned"})
            try:
                return command_response(cmd_id, "ok", self.verifier.rotate(token, request.args))
            except Refusal as refusal:
                return command_response(
                    cmd_id, "rejected", {"error": refusal.message, "reason": refusal.reason}
                )
        if request.name in COMMAND_NAMES:
            error = f"{request.name} is not available on this kiosk yet"
        else:
            error = f"unknown command {request.name!r}"
        return command_response(cmd_id, "rejected", {"error": error})

    # ----------------------------------------------------------------- audit and answer
    def _refuse(
        self,
        cmd_id: str,
        refusal: Refusal,
        message: InboundMessage,
        *,
        kid: str = "",
        signed: bool = False,
        name: str | None = None,
    ) -> None:
        """Answer, audit and log a command that is not run."""
        logger.warning(
            "refused command %s (key %s) on %s: %s: %s",
            cmd_id,
            kid or "-",
            message.topic,
            refusal.reason,
            refusal.message,
            extra={"cmd_id": cmd_id, "reason": refusal.reason},
        )
        answer = command_response(
            cmd_id, "rejected", {"error": refusal.message, "reason": refusal.reason}
        )
        self._store.audit(
            "command",
            {
                "cmd_id": cmd_id,
                "cmd": name,
                "args": None,
                "status": "rejected",
                "result": answer["result"],
                "reply_to": message.response_topic,
                "signed": signed,
                "kid": kid or None,
            },
        )
        self._respond(answer, message)

    def _audit(
        self,
        request: CommandRequest | None,
        answer: dict[str, Any],
        message: InboundMessage,
        *,
        kid: str = "",
        signed: bool = False,
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
                "signed": signed,
                "kid": kid or None,
            },
        )
        logger.info(
            "command %s %s (key %s): %s",
            answer["cmd_id"],
            request.name if request else "(malformed)",
            kid or "-",
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

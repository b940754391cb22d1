"""Fleet configuration documents on ``cfg/desired``: verify, apply atomically, report.

Called on the sync agent's thread (through ``CommandHandler.handle``) for the retained
documents on ``pos/v1/{kiosk}/cfg/desired`` (scope ``kiosk``, ``aud`` = the kiosk id) and
``pos/v1/store/{store}/cfg/desired`` (scope ``store``, ``aud`` = ``store:{store}``). A document
is a JWT signed by a fleet key (``typ`` ``pos-cfg+jwt``, ``kiosk.sync.signing``) with claims
``aud``, ``iat``, ``exp``, ``jti``, ``config_version`` (a whole number >= 1) and ``config`` (a
JSON object of dotted lowercase keys). Each scope has its own version:

- a version at or below the applied one is ignored (logged; the retained document comes back
  on every connect), even when it has expired since;
- a document that fails (unsigned, bad signature, unknown key, wrong audience, expired, bad
  ``config_version`` or ``config``) is rejected: nothing is applied, and it is reported, logged
  and audited with the reason;
- a valid, higher one is applied in one kiosk.db transaction (the document in ``fleet_config``
  and ``kiosk_state.config_version``, the highest of both scopes, reported in the birth) and
  reported.

Reports go to ``pos/v1/{kiosk}/cfg/reported`` (QoS 1, retained): ``{"config_version", "scope",
"status": "applied"|"rejected", "jti"}`` plus ``error`` and ``reason`` when rejected (a rejected
document's ``config_version`` is null unless its signature verified; its ``jti`` is read
without verification, only so the sender can match the report). The kiosk keeps
the applied documents; no key of them changes its behaviour yet (the lane reads none so far).
Without a pinned fleet key every document is rejected (``no_fleet_key``).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from kiosk.protocol.mqtt import ROOT, config_desired_topic, config_reported_topic
from kiosk.sync.client import InboundMessage, PublishOptions
from kiosk.sync.relay import Publisher
from kiosk.sync.settings import SyncSettings
from kiosk.sync.signing import TYP_CONFIG, FleetVerifier, Refusal, TrustStore, unverified_jti

logger = logging.getLogger(__name__)

MAX_VERSION: Final = 2**63 - 1
MAX_CONFIG_BYTES: Final = 32 * 1024
MAX_CONFIG_TTL_S: Final = 400 * 24 * 3600.0
_KEY: Final = re.compile(r"[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62}){0,7}")
_CLAIMS: Final = frozenset({"aud", "iat", "exp", "jti", "nbf", "iss", "sub"})

Audit = Callable[[str, Mapping[str, Any]], None]


class ConfigHandler:
    def __init__(
        self,
        trust: TrustStore | None,
        publisher: Publisher,
        verifier: FleetVerifier | None,
        audit: Audit,
        settings: SyncSettings,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._trust = trust
        self._publisher = publisher
        self._verifier = verifier
        self._audit = audit
        self._wall = wall
        self._reported = config_reported_topic(settings.kiosk_id)
        self._scopes: dict[str, tuple[str, str]] = {
            config_desired_topic(settings.kiosk_id): ("kiosk", settings.kiosk_id)
        }
        if settings.store_id:
            store_topic = f"{ROOT}/store/{settings.store_id}/cfg/desired"
            self._scopes[store_topic] = ("store", f"store:{settings.store_id}")
        self.topics: tuple[str, ...] = tuple(self._scopes)

    def handle(self, message: InboundMessage) -> None:
        scope, audience = self._scopes[message.topic]
        if not message.payload:
            return  # the retained document was cleared
        version: int | None = None
        try:
            if self._verifier is None or self._trust is None:
                raise Refusal("no_fleet_key", "no fleet key is pinned (sync.fleet_public_key)")
            token = self._verifier.verify(
                message.payload,
                TYP_CONFIG,
                (audience,),
                max_ttl_s=MAX_CONFIG_TTL_S,
                allow_expired=True,
            )
            version = _version(token.claims.get("config_version"))
            applied = self._trust.config_version(scope)
            if version <= applied:
                logger.info(
                    "config %s version %d ignored: version %d is applied", scope, version, applied
                )
                return
            if token.expired:
                raise Refusal("expired", "the config document has expired")
            body = _config_body(token.claims)
        except Refusal as refusal:
            self._report_rejected(scope, version, refusal, message)
            return
        if not self._trust.apply_config(scope, version, body, token.jti, token.kid):
            logger.info("config %s version %d ignored: already applied", scope, version)
            return
        logger.info(
            "config %s version %d applied (document %s, key %s)",
            scope,
            version,
            token.jti,
            token.kid,
        )
        self._audit(
            "config",
            {
                "scope": scope,
                "config_version": version,
                "status": "applied",
                "jti": token.jti,
                "kid": token.kid,
            },
        )
        self._report(
            {"config_version": version, "scope": scope, "status": "applied", "jti": token.jti}
        )

    def _report_rejected(
        self, scope: str, version: int | None, refusal: Refusal, message: InboundMessage
    ) -> None:
        logger.warning(
            "rejected config document on %s (version %s): %s: %s",
            message.topic,
            version,
            refusal.reason,
            refusal.message,
            extra={"reason": refusal.reason},
        )
        self._audit(
            "config",
            {
                "scope": scope,
                "config_version": version,
                "status": "rejected",
                "reason": refusal.reason,
                "error": refusal.message,
            },
        )
        self._report(
            {
                "config_version": version,
                "scope": scope,
                "status": "rejected",
                "jti": unverified_jti(message.payload),
                "error": refusal.message,
                "reason": refusal.reason,
            }
        )

    def _report(self, report: dict[str, Any]) -> None:
        payload = json.dumps(report, separators=(",", ":")).encode("utf-8")
        if (
            self._publisher.publish(self._reported, payload, PublishOptions(qos=1, retain=True))
            is None
        ):
            logger.warning("could not report config %s", report)


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise Refusal("malformed", f"config_version {value!r} must be a whole number >= 1")
    return value


def _config_body(claims: Mapping[str, Any]) -> str:
    """The ``config`` claim as canonical JSON; ``Refusal`` naming what is wrong."""
    unknown = set(claims) - _CLAIMS - {"config_version", "config"}
    if unknown:
        raise Refusal("malformed", f"config document has unknown claim {min(unknown)!r}")
    config = claims.get("config")
    if not isinstance(config, dict):
        raise Refusal("malformed", "config must be a JSON object")
    for key in config:
        if not _KEY.fullmatch(key):
            raise Refusal("malformed", f"config key {key!r} must be dotted lowercase names")
    body = json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if len(body.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise Refusal("malformed", f"config is larger than {MAX_CONFIG_BYTES} bytes")
    return body

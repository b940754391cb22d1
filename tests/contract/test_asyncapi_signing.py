"""Signed commands, configuration documents and their reports fit docs/asyncapi.yaml.

The tokens come from ``central.fleet`` (what ``kiosk-central fleet`` sends), the reports and
refusals from the kiosk's handlers (``kiosk.sync.commands``, ``kiosk.sync.fleet_config``) run
over the in-memory store of tests/unit/test_sync_signing.py.
"""

from __future__ import annotations

from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central import fleet
from kiosk.sync.signing import REASONS
from tests.contract.test_asyncapi import assert_fits, channel_of, doc, schema_validator
from tests.unit.test_sync_signing import (
    CFG_KIOSK,
    CMD_REQ,
    KIOSK,
    NOW,
    Clock,
    FakeStore,
    _handler,
    _msg,
)

__all__ = ["doc"]  # the module-scoped fixture, shared


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_signed_tokens_and_their_claims_fit(doc: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.generate()
    _jti, command = fleet.sign_command(key, KIOSK, "resend", {"from_seq": 4})
    _jti, config = fleet.sign_config(key, "store:s0142", 3, {"lane.idle_s": 90})
    token = schema_validator(doc, "signedToken")
    assert token.is_valid(command) and token.is_valid(config)
    assert not token.is_valid('{"cmd_id": "c", "cmd": "ping"}')
    assert not list(schema_validator(doc, "signedCommandClaims").iter_errors(_claims(command)))
    assert not list(schema_validator(doc, "configClaims").iter_errors(_claims(config)))
    assert channel_of(doc, CMD_REQ) == "commandRequest"
    assert set(doc["channels"]["commandRequest"]["messages"]) == {"commandRequest", "signedCommand"}


def test_answers_refusals_and_config_reports_fit(doc: dict[str, Any]) -> None:
    key, clock = Ed25519PrivateKey.generate(), Clock()
    handler, publisher, _relay = _handler(FakeStore(), key, clock)
    sign = fleet.sign_command
    new_pem = fleet.public_pem(Ed25519PrivateKey.generate().public_key())
    handler.handle(_msg(sign(key, KIOSK, "ping", now=NOW)[1].encode()))
    handler.handle(_msg(sign(key, KIOSK, "resend", {"from_seq": 2}, now=NOW)[1].encode()))
    handler.handle(_msg(sign(key, "s0142-k99", "ping", now=NOW)[1].encode()))
    handler.handle(_msg(b'{"cmd_id": "u-1", "cmd": "ping"}'))
    handler.handle(
        _msg(sign(key, KIOSK, "rotate_fleet_key", {"public_key": new_pem}, now=NOW)[1].encode())
    )
    handler.handle(_msg(fleet.sign_config(key, KIOSK, 1, {"a": 1}, now=NOW)[1].encode(), CFG_KIOSK))
    handler.handle(_msg(b"not-a-token", CFG_KIOSK))
    statuses = []
    for topic, payload, _options in publisher.sent:
        assert_fits(doc, topic, payload)
        statuses.append(payload["status"])
    assert statuses == ["ok", "ok", "rejected", "rejected", "ok", "applied", "rejected"]


def test_the_documented_refusal_reasons_are_the_code_s(doc: dict[str, Any]) -> None:
    assert doc["components"]["schemas"]["refusalReason"]["enum"] == list(REASONS)

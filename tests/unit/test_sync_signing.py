"""Signed fleet commands and config documents: the verifier, the handlers, the admin signer.

``kiosk.sync.signing`` checks tokens made by ``central.fleet`` (the two sides share only the
documented wire format). The handlers run over an in-memory store with the kiosk.db semantics
of ``TrustStore``; tests/integration/test_sync_signed_commands.py runs the same through
kiosk.db and a real Mosquitto.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from central import fleet
from kiosk.config import BrokerConfig, Config, KioskConfig, PathsConfig, StoreConfig
from kiosk.errors import ConfigError
from kiosk.sync.client import InboundMessage, PublishOptions
from kiosk.sync.commands import CommandHandler
from kiosk.sync.settings import SyncSettings
from kiosk.sync.signing import (
    TYP_COMMAND,
    FleetVerifier,
    Refusal,
    TrustStore,
    key_id,
    load_public_key_pem,
)

KIOSK, STORE = "s0142-k03", "s0142"
NOW = 1_800_000_000.0
CMD_REQ = f"pos/v1/{KIOSK}/cmd/req"
CFG_KIOSK = f"pos/v1/{KIOSK}/cfg/desired"
CFG_STORE = f"pos/v1/store/{STORE}/cfg/desired"


# --------------------------------------------------------------------------------- fakes
@dataclass
class KeyRow:
    kid: str
    public_key: str
    retire_at: float | None = None


@dataclass
class Stats:
    unsettled: int = 0
    unpublished: int = 0
    oldest_unsettled_s: float = 0.0
    last_seq: int = 7


@dataclass
class FakeStore:
    """``SyncStore`` (the parts commands use) and ``TrustStore`` in memory."""

    keys: list[KeyRow] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    configs: dict[str, tuple[int, str]] = field(default_factory=dict)
    audits: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def stats(self) -> Stats:
        return Stats()

    def audit(self, kind: str, detail: Mapping[str, Any]) -> None:
        self.audits.append((kind, dict(detail)))

    def fleet_keys(self) -> Sequence[KeyRow]:
        return list(self.keys)

    def add_fleet_key(
        self, kid: str, public_key: str, origin: str, retire_others_at: float | None
    ) -> None:
        if all(k.kid != kid for k in self.keys):
            self.keys.append(KeyRow(kid, public_key))
        if retire_others_at is not None:
            for k in self.keys:
                if k.kid != kid and (k.retire_at is None or k.retire_at > retire_others_at):
                    k.retire_at = retire_others_at

    def remember_token(self, jti: str, exp: float, kind: str, now: float) -> bool:
        if jti in self.tokens:
            return False
        self.tokens[jti] = exp
        return True

    def config_version(self, scope: str) -> int:
        return self.configs.get(scope, (0, ""))[0]

    def apply_config(self, scope: str, version: int, body: str, jti: str, kid: str) -> bool:
        if version <= self.config_version(scope):
            return False
        self.configs[scope] = (version, body)
        return True


@dataclass
class FakePublisher:
    sent: list[tuple[str, dict[str, Any], PublishOptions]] = field(default_factory=list)
    connected: bool = True
    receive_maximum: int = 100

    def publish(self, topic: str, payload: bytes, options: PublishOptions) -> int | None:
        self.sent.append((topic, json.loads(payload), options))
        return len(self.sent)


@dataclass
class FakeRelay:
    resends: list[Any] = field(default_factory=list)

    def request_resend(self, wanted: Any, last_seq: int) -> tuple[int, int]:
        self.resends.append(wanted)
        return wanted.from_seq, last_seq


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------------------ fixtures
def _pem(key: Ed25519PrivateKey) -> str:
    return fleet.public_pem(key.public_key())


@pytest.fixture
def fleet_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _settings(pem: str = "", **kw: Any) -> SyncSettings:
    config = Config(
        store=StoreConfig(id=STORE),
        kiosk=KioskConfig(id=KIOSK),
        paths=PathsConfig(db="/nonexistent/kiosk.db"),
        broker=BrokerConfig(host="127.0.0.1", port=1),
    )
    base = SyncSettings.from_config(config, {})
    return SyncSettings(
        **{
            **{f: getattr(base, f) for f in base.__dataclass_fields__},
            "fleet_public_key_pem": pem,
            **kw,
        }
    )


def _verifier(store: FakeStore, key: Ed25519PrivateKey, clock: Clock) -> FleetVerifier:
    return FleetVerifier(store, _pem(key), kiosk_id=KIOSK, store_id=STORE, wall=clock)


def _command(
    key: Ed25519PrivateKey, cmd: str = "ping", args: dict[str, Any] | None = None, **kw: Any
) -> bytes:
    aud = kw.pop("aud", KIOSK)
    kw.setdefault("now", NOW)
    return fleet.sign_command(key, aud, cmd, args, **kw)[1].encode()


def _raw(key: Ed25519PrivateKey, claims: dict[str, Any], **headers: Any) -> bytes:
    head = {"typ": TYP_COMMAND, "kid": fleet.key_id(key.public_key()), **headers}
    return jwt.encode(claims, key, algorithm="EdDSA", headers=head).encode()


def _verify(verifier: FleetVerifier, token: bytes, **kw: Any) -> Any:
    kw.setdefault("max_ttl_s", 900.0)
    return verifier.verify(token, TYP_COMMAND, verifier.audiences, **kw)


def _refused(verifier: FleetVerifier, token: bytes, reason: str, **kw: Any) -> str:
    with pytest.raises(Refusal) as caught:
        _verify(verifier, token, **kw)
    assert caught.value.reason == reason, caught.value.message
    return caught.value.message


# -------------------------------------------------------------------------- verification
def test_a_good_command_verifies(fleet_key: Ed25519PrivateKey, clock: Clock) -> None:
    verifier = _verifier(FakeStore(), fleet_key, clock)
    token = _verify(verifier, _command(fleet_key, jti="c-1"))
    assert (token.jti, token.audience, token.kid) == ("c-1", KIOSK, verifier.current_kid)
    assert token.claims["cmd"] == "ping"
    store_wide = _verify(verifier, _command(fleet_key, aud=f"store:{STORE}"))
    assert store_wide.audience == f"store:{STORE}"
    listed = _verify(verifier, _command(fleet_key, aud=["s0142-k09", KIOSK]))
    assert listed.audience == KIOSK


def test_both_sides_compute_the_same_key_id(fleet_key: Ed25519PrivateKey) -> None:
    assert key_id(fleet_key.public_key()) == fleet.key_id(fleet_key.public_key())
    raw = fleet_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert len(base64.urlsafe_b64decode(key_id(fleet_key.public_key()) + "=")) == 32
    assert len(raw) == 32


def test_a_tampered_token_is_refused(fleet_key: Ed25519PrivateKey, clock: Clock) -> None:
    verifier = _verifier(FakeStore(), fleet_key, clock)
    head, body, sig = _command(fleet_key).split(b".")
    claims = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    claims["cmd"] = "open_drawer"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    message = _refused(verifier, b".".join((head, forged, sig)), "bad_signature")
    assert verifier.current_kid in message


def test_a_token_of_another_key_is_refused(fleet_key: Ed25519PrivateKey, clock: Clock) -> None:
    verifier = _verifier(FakeStore(), fleet_key, clock)
    other = Ed25519PrivateKey.generate()
    _refused(verifier, _command(other), "unknown_key")
    # the same with the pinned key's id in the header: the signature does not verify
    claims = {"aud": KIOSK, "iat": NOW, "exp": NOW + 60, "jti": "x", "cmd": "ping"}
    forged = _raw(other, claims, kid=verifier.current_kid)
    _refused(verifier, forged, "bad_signature")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "s0142-k04"}, "wrong_audience"),
        ({"aud": "store:s0999"}, "wrong_audience"),
        ({"aud": None}, "wrong_audience"),
        ({"exp": None}, "no_expiry"),
        ({"iat": NOW - 900, "exp": NOW - 120}, "expired"),
        ({"exp": NOW + 3600}, "expiry_too_far"),
        ({"iat": NOW + 600, "exp": NOW + 660}, "issued_in_future"),
        ({"jti": None}, "malformed"),
        ({"jti": "bad id with spaces"}, "malformed"),
        ({"iat": "yesterday"}, "malformed"),
        ({"exp": NOW - 10, "iat": NOW}, "malformed"),
    ],
)
def test_bad_claims_are_refused_with_their_reason(
    fleet_key: Ed25519PrivateKey, clock: Clock, claims: dict[str, Any], reason: str
) -> None:
    verifier = _verifier(FakeStore(), fleet_key, clock)
    base = {"aud": KIOSK, "iat": NOW, "exp": NOW + 300, "jti": "c-1", "cmd": "ping"}
    merged = {k: v for k, v in {**base, **claims}.items() if v is not None}
    _refused(verifier, _raw(fleet_key, merged), reason)


def test_shape_type_and_algorithm_are_checked(fleet_key: Ed25519PrivateKey, clock: Clock) -> None:
    verifier = _verifier(FakeStore(), fleet_key, clock)
    _refused(verifier, b'{"cmd_id": "c-1", "cmd": "ping"}', "unsigned")
    config = fleet.sign_config(fleet_key, KIOSK, 1, {}, now=NOW)[1].encode()
    _refused(verifier, config, "wrong_type")
    hmac = jwt.encode(
        {"aud": KIOSK, "iat": NOW, "exp": NOW + 60, "jti": "h", "cmd": "ping"},
        "a-shared-secret-that-is-long-enough",
        algorithm="HS256",
        headers={"typ": TYP_COMMAND, "kid": verifier.current_kid},
    ).encode()
    assert "HS256" in _refused(verifier, hmac, "malformed")
    _refused(verifier, b"abc.def.ghi", "malformed")
    _refused(verifier, b"a." * 40_000 + b"a", "malformed")


# -------------------------------------------------------------------------------- keys
def test_a_rotation_accepts_both_keys_for_the_overlap_then_only_the_new(
    fleet_key: Ed25519PrivateKey, clock: Clock
) -> None:
    store = FakeStore()
    verifier = _verifier(store, fleet_key, clock)
    old_kid = verifier.current_kid
    new = Ed25519PrivateKey.generate()
    rotation = _verify(verifier, _command(fleet_key, "rotate_fleet_key"))
    result = verifier.rotate(rotation, {"public_key": _pem(new), "overlap_s": 3600})
    assert result == {
        "kid": fleet.key_id(new.public_key()),
        "previous_kid": old_kid,
        "previous_valid_s": 3600,
    }
    assert verifier.current_kid == result["kid"]
    _verify(verifier, _command(fleet_key))
    _verify(verifier, _command(new))
    # a rotation must be signed by the current key, not the old one still in its overlap
    again = _verify(verifier, _command(fleet_key, "rotate_fleet_key"))
    with pytest.raises(Refusal) as caught:
        verifier.rotate(again, {"public_key": _pem(Ed25519PrivateKey.generate())})
    assert caught.value.reason == "not_current_key"
    clock.now += 3601
    _refused(verifier, _command(fleet_key, now=clock.now), "retired_key")
    _verify(verifier, _command(new, now=clock.now))
    # a restart with the old key still pinned in the config keeps it retired
    restarted = _verifier(store, fleet_key, clock)
    assert restarted.current_kid == result["kid"]
    _refused(restarted, _command(fleet_key, now=clock.now), "retired_key")


def test_a_rotation_without_overlap_switches_at_once(
    fleet_key: Ed25519PrivateKey, clock: Clock
) -> None:
    verifier = _verifier(FakeStore(), fleet_key, clock)
    new = Ed25519PrivateKey.generate()
    verifier.rotate(_verify(verifier, _command(fleet_key)), {"public_key": _pem(new)})
    clock.now += 0.001
    _refused(verifier, _command(fleet_key, now=clock.now), "retired_key")
    _verify(verifier, _command(new, now=clock.now))


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({}, "needs public_key"),
        ({"public_key": "not a key"}, "is not a PEM public key"),
        ({"public_key": "@pinned"}, "already known"),
        ({"public_key": "@new", "overlap_s": -1}, "overlap_s -1 must be"),
        ({"public_key": "@new", "overlap_s": 1.5}, "whole seconds"),
        ({"public_key": "@new", "extra": 1}, "unknown argument 'extra'"),
    ],
)
def test_bad_rotations_are_refused(
    fleet_key: Ed25519PrivateKey, clock: Clock, args: dict[str, Any], problem: str
) -> None:
    verifier = _verifier(FakeStore(), fleet_key, clock)
    pems = {"@pinned": _pem(fleet_key), "@new": _pem(Ed25519PrivateKey.generate())}
    args = {k: pems.get(v, v) if isinstance(v, str) else v for k, v in args.items()}
    with pytest.raises(Refusal, match=problem):
        verifier.rotate(_verify(verifier, _command(fleet_key)), args)
    assert len(verifier._keys) == 1


def test_public_keys_must_be_ed25519_pem() -> None:
    rsa = generate_private_key(public_exponent=65537, key_size=2048).public_key()
    rsa_pem = rsa.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="not an Ed25519 public key"):
        load_public_key_pem(rsa_pem)
    with pytest.raises(ValueError, match="is not a PEM public key"):
        load_public_key_pem("hello")


def test_the_pinned_key_setting_names_the_key_when_wrong(tmp_path: Path) -> None:
    config = Config(
        store=StoreConfig(id=STORE),
        kiosk=KioskConfig(id=KIOSK),
        paths=PathsConfig(db="/x/kiosk.db"),
        broker=BrokerConfig(),
    )
    good = tmp_path / "fleet.pub"
    good.write_text(_pem(Ed25519PrivateKey.generate()))
    settings = SyncSettings.from_config(
        config, {"fleet_public_key": "fleet.pub"}, base_dir=tmp_path
    )
    assert settings.fleet_public_key == str(good)
    assert settings.fleet_public_key_pem == good.read_text()
    (tmp_path / "bad.pub").write_text("not a key")
    for name, problem in (("missing.pub", "cannot read the fleet key"), ("bad.pub", "not a PEM")):
        with pytest.raises(ConfigError, match=problem) as caught:
            SyncSettings.from_config(config, {"fleet_public_key": name}, base_dir=tmp_path)
        assert caught.value.key == "sync.fleet_public_key"
    for key, value in (("command_max_ttl_s", 5), ("unsigned_commands", ["Ping"])):
        with pytest.raises(ConfigError) as caught:
            SyncSettings.from_config(config, {key: value})
        assert caught.value.key == f"sync.{key}"


# ----------------------------------------------------------------------- command handler
def _handler(
    store: FakeStore, key: Ed25519PrivateKey | None, clock: Clock
) -> tuple[CommandHandler, FakePublisher, FakeRelay]:
    publisher, relay = FakePublisher(), FakeRelay()
    settings = _settings(_pem(key) if key else "")
    handler = CommandHandler(store, publisher, relay, settings, wall=clock)  # type: ignore[arg-type]
    return handler, publisher, relay


def _msg(payload: bytes, topic: str = CMD_REQ, **kw: Any) -> InboundMessage:
    return InboundMessage(topic, payload, 1, False, **kw)


def test_a_signed_command_runs_once_and_its_replay_is_refused(
    fleet_key: Ed25519PrivateKey, clock: Clock
) -> None:
    store = FakeStore()
    assert isinstance(store, TrustStore)
    handler, publisher, relay = _handler(store, fleet_key, clock)
    token = _command(fleet_key, "resend", {"from_seq": 3}, jti="c-9")
    message = _msg(token, response_topic="fleet/replies", correlation_data=b"c-9")
    handler.handle(message)
    handler.handle(message)
    # a restarted agent (new handler, same kiosk.db) refuses it too
    restarted, publisher2, relay2 = _handler(store, fleet_key, clock)
    restarted.handle(message)
    assert len(relay.resends) == 1 and relay2.resends == []
    (first_topic, first, options), (_t, second, _o) = publisher.sent
    assert (first_topic, options.correlation_data) == ("fleet/replies", b"c-9")
    assert first["status"] == "ok" and first["result"]["queued"] == 5
    assert second == publisher2.sent[0][1]
    assert second["status"] == "rejected"
    assert second["result"]["reason"] == "replayed" and "c-9" in second["result"]["error"]
    statuses = [(d["cmd_id"], d["status"], d["signed"]) for _k, d in store.audits]
    assert statuses == [("c-9", "ok", True), ("c-9", "rejected", True), ("c-9", "rejected", True)]


@pytest.mark.parametrize(
    "payload",
    [
        b'{"cmd_id": "u-1", "cmd": "ping"}',
        b'{"cmd_id": "u-1", "cmd": "rotate_fleet_key", "args": {"public_key": "x"}}',
        b"definitely not json",
    ],
)
def test_unsigned_commands_are_refused_when_a_key_is_pinned(
    fleet_key: Ed25519PrivateKey, clock: Clock, payload: bytes
) -> None:
    store = FakeStore()
    handler, publisher, _relay = _handler(store, fleet_key, clock)
    handler.handle(_msg(payload))
    ((topic, answer, _o),) = publisher.sent
    assert topic == f"pos/v1/{KIOSK}/cmd/res"
    assert answer["status"] == "rejected" and answer["result"]["reason"] == "unsigned"
    assert store.audits[0][1]["status"] == "rejected"
    assert len(store.keys) == 1 and store.tokens == {}


def test_unsigned_resend_stays_allowed_by_default_and_can_be_forbidden(
    fleet_key: Ed25519PrivateKey, clock: Clock
) -> None:
    payload = b'{"cmd_id": "r-1", "cmd": "resend", "args": {"from_seq": 1}}'
    handler, publisher, relay = _handler(FakeStore(), fleet_key, clock)
    handler.handle(_msg(payload))
    assert publisher.sent[0][1]["status"] == "ok" and len(relay.resends) == 1
    publisher, relay = FakePublisher(), FakeRelay()
    strict = CommandHandler(
        FakeStore(),  # type: ignore[arg-type]
        publisher,
        relay,  # type: ignore[arg-type]
        _settings(_pem(fleet_key), unsigned_commands=()),
        wall=clock,
    )
    strict.handle(_msg(payload))
    assert publisher.sent[0][1]["result"]["reason"] == "unsigned" and relay.resends == []


def test_forged_commands_are_refused_named_audited_and_not_run(
    fleet_key: Ed25519PrivateKey, clock: Clock
) -> None:
    store = FakeStore()
    handler, publisher, relay = _handler(store, fleet_key, clock)
    intruder = Ed25519PrivateKey.generate()
    handler.handle(_msg(_command(intruder, "resend", {"from_seq": 1}, jti="evil-1")))
    handler.handle(_msg(_command(fleet_key, "resend", {"from_seq": 1}, aud="s0142-k04")))
    handler.handle(_msg(_command(fleet_key, "resend", {"from_seq": 1}, ttl_s=7200)))
    reasons = [(a["cmd_id"], a["result"]["reason"]) for _t, a, _o in publisher.sent]
    assert reasons[0] == ("evil-1", "unknown_key")
    assert [r for _i, r in reasons[1:]] == ["wrong_audience", "expiry_too_far"]
    assert relay.resends == [] and store.tokens == {}
    assert [d["status"] for _k, d in store.audits] == ["rejected"] * 3


def test_a_signed_rotation_command_rotates_the_key(
    fleet_key: Ed25519PrivateKey, clock: Clock
) -> None:
    store = FakeStore()
    handler, publisher, _relay = _handler(store, fleet_key, clock)
    new = Ed25519PrivateKey.generate()
    handler.handle(_msg(_command(fleet_key, "rotate_fleet_key", {"public_key": _pem(new)})))
    assert publisher.sent[-1][1]["status"] == "ok"
    clock.now += 1
    handler.handle(_msg(_command(new, "ping", now=clock.now)))
    assert publisher.sent[-1][1]["result"]["pong"] is True
    handler.handle(_msg(_command(fleet_key, "ping", now=clock.now)))
    assert publisher.sent[-1][1]["result"]["reason"] == "retired_key"


def test_without_a_pinned_key_commands_stay_plain_and_rotation_is_refused(clock: Clock) -> None:
    store = FakeStore()
    handler, publisher, _relay = _handler(store, None, clock)
    handler.handle(_msg(b'{"cmd_id": "p-1", "cmd": "ping"}'))
    handler.handle(_msg(b'{"cmd_id": "p-2", "cmd": "rotate_fleet_key"}'))
    assert publisher.sent[0][1]["status"] == "ok"
    assert publisher.sent[1][1]["result"]["reason"] == "unsigned"
    assert handler.topics == (CMD_REQ, CFG_KIOSK, CFG_STORE)


# ------------------------------------------------------------------------ config handler
def _config(key: Ed25519PrivateKey, version: Any, config: Any, **kw: Any) -> bytes:
    aud = kw.pop("aud", KIOSK)
    claims = {
        "aud": aud,
        "iat": kw.pop("iat", NOW),
        "exp": kw.pop("exp", NOW + 86400),
        "jti": "cfg-1",
        "config_version": version,
        "config": config,
        **kw,
    }
    head = {"typ": "pos-cfg+jwt", "kid": fleet.key_id(key.public_key())}
    return jwt.encode(claims, key, algorithm="EdDSA", headers=head).encode()


def test_config_documents_apply_once_per_higher_version(
    fleet_key: Ed25519PrivateKey, clock: Clock
) -> None:
    store = FakeStore()
    handler, publisher, _relay = _handler(store, fleet_key, clock)
    jti, token = fleet.sign_config(fleet_key, KIOSK, 3, {"lane.idle_s": 90}, now=NOW)
    signed = token.encode()
    handler.handle(_msg(signed, CFG_KIOSK))
    handler.handle(_msg(signed, CFG_KIOSK))  # the retained document again: ignored
    handler.handle(_msg(_config(fleet_key, 2, {"x": 1}), CFG_KIOSK))  # lower: ignored
    store_doc = _config(fleet_key, 1, {"receipt.footer": "hi"}, aud=f"store:{STORE}")
    handler.handle(_msg(store_doc, CFG_STORE))
    handler.handle(_msg(b"", CFG_KIOSK))  # a cleared retained document
    assert store.configs == {
        "kiosk": (3, '{"lane.idle_s":90}'),
        "store": (1, '{"receipt.footer":"hi"}'),
    }
    reports = [(t, a) for t, a, o in publisher.sent if o.retain]
    assert reports == [
        (
            f"pos/v1/{KIOSK}/cfg/reported",
            {"config_version": 3, "scope": "kiosk", "status": "applied", "jti": jti},
        ),
        (
            f"pos/v1/{KIOSK}/cfg/reported",
            {"config_version": 1, "scope": "store", "status": "applied", "jti": "cfg-1"},
        ),
    ]
    # once applied, the same document is ignored even after it expired
    clock.now += 2 * 86400
    handler.handle(_msg(signed, CFG_KIOSK))
    assert len(publisher.sent) == 2


@pytest.mark.parametrize(
    ("make", "reason", "version"),
    [
        (lambda k: _config(k, 0, {}), "malformed", None),
        (lambda k: _config(k, True, {}), "malformed", None),
        (lambda k: _config(k, 5, [1]), "malformed", 5),
        (lambda k: _config(k, 5, {"Bad Key": 1}), "malformed", 5),
        (lambda k: _config(k, 5, {"a": "x" * 40_000}), "malformed", 5),
        (lambda k: _config(k, 5, {}, extra=1), "malformed", 5),
        (lambda k: _config(k, 5, {}, aud=f"store:{STORE}"), "wrong_audience", None),
        (lambda k: _config(k, 5, {}, iat=NOW - 999, exp=NOW - 500), "expired", 5),
        (lambda k: _config(Ed25519PrivateKey.generate(), 5, {}), "unknown_key", None),
        (lambda k: b'{"config_version": 5, "config": {}}', "unsigned", None),
    ],
)
def test_invalid_config_documents_are_rejected_and_reported(
    fleet_key: Ed25519PrivateKey, clock: Clock, make: Any, reason: str, version: int | None
) -> None:
    store = FakeStore()
    handler, publisher, _relay = _handler(store, fleet_key, clock)
    handler.handle(_msg(make(fleet_key), CFG_KIOSK))
    ((topic, report, options),) = publisher.sent
    assert topic == f"pos/v1/{KIOSK}/cfg/reported" and options.retain
    assert report["status"] == "rejected" and report["reason"] == reason
    assert report["config_version"] == version and report["error"]
    assert report["jti"] == (None if reason == "unsigned" else "cfg-1")
    assert store.configs == {}
    assert store.audits[0][1]["status"] == "rejected"


def test_without_a_pinned_key_config_documents_are_rejected(
    fleet_key: Ed25519PrivateKey, clock: Clock
) -> None:
    store = FakeStore()
    handler, publisher, _relay = _handler(store, None, clock)
    handler.handle(_msg(fleet.sign_config(fleet_key, KIOSK, 1, {})[1].encode(), CFG_KIOSK))
    assert publisher.sent[0][1]["reason"] == "no_fleet_key" and store.configs == {}

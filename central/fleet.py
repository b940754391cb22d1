"""Fleet administration: Ed25519 fleet keys, signed commands and config documents, sending them.

``kiosk-central fleet ...`` (``central.cli``) runs these on the main thread (paho's network
thread only while sending). The wire format is the kiosk's (``kiosk.sync.signing``, which this
package may not import; docs/mqtt-contract.md "Signed commands and configuration"): a compact
JWS, header ``{"alg": "EdDSA", "typ": "pos-cmd+jwt" | "pos-cfg+jwt", "kid": <RFC 7638
thumbprint>}``, claims ``aud``, ``iat``, ``exp``, ``jti`` plus ``cmd``/``args`` for a command
(the ``jti`` is the command id) or ``config_version``/``config`` for a config document.

- ``generate_keypair``: a new key pair as PEM files (the private one mode 0600, PKCS #8).
- ``sign_command`` / ``sign_config``: a token (and its ``jti``).
- ``send_command``: publish a signed command on ``pos/v1/{kiosk}/cmd/req`` with an MQTT v5
  Response Topic (default ``pos/v1/{kiosk}/cmd/res``) and Correlation Data (the ``jti``), and
  wait for the kiosk's answer.
- ``send_config``: publish a config document retained on ``cfg/desired`` and, for one kiosk,
  wait for its ``cfg/reported`` of that version.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import jwt
import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from central.config import MqttConfig
from kiosk.protocol.mqtt import (
    ROOT,
    command_request_topic,
    command_response_topic,
    config_desired_topic,
    config_reported_topic,
)

logger = logging.getLogger(__name__)

ALGORITHM: Final = "EdDSA"
TYP_COMMAND: Final = "pos-cmd+jwt"
TYP_CONFIG: Final = "pos-cfg+jwt"
DEFAULT_COMMAND_TTL_S: Final = 300
DEFAULT_CONFIG_TTL_S: Final = 30 * 24 * 3600


class FleetError(ValueError):
    """A fleet operation cannot be done; the message says why."""


# ------------------------------------------------------------------------------------ keys
def key_id(key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint (base64url SHA-256): the ``kid`` the kiosk looks keys up by."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    jwk = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(jwk.encode()).digest()).rstrip(b"=").decode()


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def generate_keypair(private_path: Path, public_path: Path) -> str:
    """Write a new Ed25519 key pair (private PEM mode 0600, never overwritten); its ``kid``."""
    if private_path.exists() or public_path.exists():
        raise FleetError(f"{private_path} or {public_path} exists: keys are never overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path.write_text(public_pem(key.public_key()), encoding="ascii")
    return key_id(key.public_key())


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise FleetError(f"cannot read the fleet key {path}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise FleetError(f"the fleet key {path} is not an unencrypted PEM key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise FleetError(f"the fleet key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise FleetError(f"cannot read the public key {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise FleetError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise FleetError(f"{path} is not an Ed25519 public key")
    return key


# --------------------------------------------------------------------------------- signing
def audience(kiosk: str | None, store: str | None) -> str:
    if (kiosk is None) == (store is None):
        raise FleetError("name exactly one of a kiosk or a store")
    return kiosk if kiosk is not None else f"store:{store}"


def _sign(key: Ed25519PrivateKey, typ: str, claims: dict[str, Any]) -> str:
    headers = {"typ": typ, "kid": key_id(key.public_key())}
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers=headers)


def sign_command(
    key: Ed25519PrivateKey,
    aud: str,
    cmd: str,
    args: Mapping[str, Any] | None = None,
    *,
    ttl_s: int = DEFAULT_COMMAND_TTL_S,
    jti: str | None = None,
    now: float | None = None,
) -> tuple[str, str]:
    """``(jti, token)`` of a signed command for ``aud`` (a kiosk id or ``store:{id}``)."""
    issued = int(time.time() if now is None else now)
    cmd_id = jti or f"c-{uuid.uuid4().hex}"
    claims = {
        "aud": aud,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": cmd_id,
        "cmd": cmd,
        "args": dict(args or {}),
    }
    return cmd_id, _sign(key, TYP_COMMAND, claims)


def sign_config(
    key: Ed25519PrivateKey,
    aud: str,
    version: int,
    config: Mapping[str, Any],
    *,
    ttl_s: int = DEFAULT_CONFIG_TTL_S,
    now: float | None = None,
) -> tuple[str, str]:
    """``(jti, token)`` of a signed config document."""
    if isinstance(version, bool) or version < 1:
        raise FleetError(f"config_version {version!r} must be a whole number >= 1")
    issued = int(time.time() if now is None else now)
    doc_id = f"cfg-{uuid.uuid4().hex}"
    claims = {
        "aud": aud,
        "iat": issued,
        "exp": issued + ttl_s,
        "jti": doc_id,
        "config_version": version,
        "config": dict(config),
    }
    return doc_id, _sign(key, TYP_CONFIG, claims)


# --------------------------------------------------------------------------------- sending
class _Link:
    """One short MQTT v5 session: subscribe, publish, wait for a matching message."""

    def __init__(self, config: MqttConfig, client_id: str) -> None:
        endpoint = config.brokers[0]
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if endpoint.tls:
            self.client.tls_set(
                ca_certs=endpoint.ca_file or None,
                certfile=endpoint.cert_file or None,
                keyfile=endpoint.key_file or None,
            )
        if config.username:
            self.client.username_pw_set(config.username, config.password or None)
        self.endpoint = endpoint
        self.subscribed = threading.Event()
        self.found = threading.Event()
        self.match: Callable[[mqtt.MQTTMessage], bool] = lambda _m: False
        self.answer: dict[str, Any] | None = None
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        if self.found.is_set() or not self.match(message):
            return
        try:
            self.answer = json.loads(message.payload)
        except ValueError:
            return
        self.found.set()

    def run(
        self,
        listen: str | None,
        topic: str,
        token: str,
        properties: Properties,
        *,
        retain: bool,
        timeout_s: float,
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        try:
            self.client.connect(self.endpoint.host, self.endpoint.port, keepalive=30)
        except OSError as exc:
            raise FleetError(f"cannot reach the broker {self.endpoint.host}: {exc}") from None
        self.client.loop_start()
        try:
            if listen is not None:
                self.client.subscribe(listen, qos=1)
                if not self.subscribed.wait(max(0.0, deadline - time.monotonic())):
                    raise FleetError(f"no SUBACK for {listen}")
            info = self.client.publish(topic, token, qos=1, retain=retain, properties=properties)
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if info.rc != mqtt.MQTT_ERR_SUCCESS or not info.is_published():
                raise FleetError(f"the broker did not take the message on {topic}")
            if listen is None:
                return None
            if not self.found.wait(max(0.0, deadline - time.monotonic())):
                raise FleetError(f"no answer on {listen} within {timeout_s:g} s")
            return self.answer
        finally:
            self.client.disconnect()
            self.client.loop_stop()


def send_command(
    config: MqttConfig,
    kiosk_id: str,
    jti: str,
    token: str,
    *,
    response_topic: str | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Publish a signed command to ``kiosk_id`` and return its answer (``FleetError`` on
    timeout). The answer is matched by Correlation Data (the ``jti``) or its ``cmd_id``."""
    reply = response_topic or command_response_topic(kiosk_id)
    link = _Link(config, f"fleet-{uuid.uuid4().hex[:12]}")
    correlation = jti.encode("utf-8")

    def match(message: mqtt.MQTTMessage) -> bool:
        data = getattr(message.properties, "CorrelationData", None)
        return bool(data == correlation or f'"cmd_id":"{jti}"' in message.payload.decode())

    link.match = match
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ResponseTopic = reply
    properties.CorrelationData = correlation
    properties.ContentType = "application/jwt"
    answer = link.run(
        reply,
        command_request_topic(kiosk_id),
        token,
        properties,
        retain=False,
        timeout_s=timeout_s,
    )
    assert answer is not None
    return answer


def send_config(
    config: MqttConfig,
    token: str,
    jti: str,
    *,
    kiosk_id: str | None = None,
    store_id: str | None = None,
    wait_kiosk: str | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any] | None:
    """Publish a config document (retained) for a kiosk or a store; with ``wait_kiosk`` (by
    default the kiosk itself) return that kiosk's ``cfg/reported`` about this document (its
    ``jti``)."""
    if kiosk_id is not None:
        topic = config_desired_topic(kiosk_id)
        wait_kiosk = wait_kiosk or kiosk_id
    elif store_id is not None:
        topic = f"{ROOT}/store/{store_id}/cfg/desired"
    else:
        raise FleetError("name a kiosk or a store")
    link = _Link(config, f"fleet-{uuid.uuid4().hex[:12]}")

    def match(message: mqtt.MQTTMessage) -> bool:
        if message.retain:
            return False  # an earlier report, retained: wait for the kiosk's answer to this one
        try:
            data = json.loads(message.payload)
        except ValueError:
            return False
        return isinstance(data, dict) and data.get("jti") == jti

    link.match = match
    listen = config_reported_topic(wait_kiosk) if wait_kiosk else None
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = "application/jwt"
    return link.run(listen, topic, token, properties, retain=True, timeout_s=timeout_s)


# ------------------------------------------------------------------------------------ CLI
def add_parser(commands: Any) -> None:
    """``kiosk-central fleet ...`` (``commands`` is the top-level subparsers object)."""
    fleet = commands.add_parser("fleet", help="fleet keys, signed commands and config documents")
    sub = fleet.add_subparsers(dest="fleet_command", required=True)
    keygen = sub.add_parser("keygen", help="create an Ed25519 fleet key pair")
    keygen.add_argument("--out", required=True, type=Path, help="folder for NAME.key, NAME.pub")
    keygen.add_argument("--name", default="fleet")

    def signing(p: Any, *, store: bool = True) -> None:
        p.add_argument("--key", required=True, type=Path, help="the fleet private key (PEM)")
        target = p.add_mutually_exclusive_group(required=True)
        target.add_argument("--kiosk", help="kiosk id (the aud claim)")
        if store:
            target.add_argument("--store", help="store id (aud store:ID)")

    def command(p: Any) -> None:
        p.add_argument("--cmd", required=True, help="command name, e.g. ping")
        p.add_argument("--args", default="{}", help="arguments as a JSON object")
        p.add_argument("--ttl", type=int, default=DEFAULT_COMMAND_TTL_S, help="seconds valid")
        p.add_argument("--id", help="the command id (jti; default a new UUID)")

    def config_doc(p: Any) -> None:
        p.add_argument("--version", required=True, type=int, help="config_version (>= 1)")
        p.add_argument("--file", required=True, type=Path, help="the config as a JSON object")
        p.add_argument("--ttl", type=int, default=DEFAULT_CONFIG_TTL_S, help="seconds valid")

    def sending(p: Any) -> None:
        p.add_argument("--config", required=True, type=Path, help="central.toml ([mqtt])")
        p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")

    p = sub.add_parser("sign-command", help="print a signed command")
    signing(p)
    command(p)
    p = sub.add_parser("send-command", help="sign, send and wait for the answer")
    signing(p, store=False)
    command(p)
    sending(p)
    p.add_argument("--response-topic", help="default pos/v1/{kiosk}/cmd/res")
    p = sub.add_parser("rotate-key", help="send a signed key rotation to a kiosk")
    signing(p, store=False)
    sending(p)
    p.add_argument("--new-public-key", required=True, type=Path, help="the new key (PEM)")
    p.add_argument("--overlap-s", type=int, default=0, help="old key still valid (seconds)")
    p = sub.add_parser("sign-config", help="print a signed config document")
    signing(p)
    config_doc(p)
    p = sub.add_parser("send-config", help="sign and publish a config document (retained)")
    signing(p)
    config_doc(p)
    sending(p)


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise FleetError(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise FleetError(f"{what} must be a JSON object")
    return value


def run(args: Any, load_mqtt: Callable[[Path], MqttConfig], say: Callable[[str], None]) -> int:
    """Run ``kiosk-central fleet ...``; 0 done (command ``ok``), 1 refused or failed."""
    what = args.fleet_command
    if what == "keygen":
        args.out.mkdir(parents=True, exist_ok=True)
        private, public = args.out / f"{args.name}.key", args.out / f"{args.name}.pub"
        say(f"{generate_keypair(private, public)} {private} {public}")
        return 0
    key = load_private_key(args.key)
    aud = audience(args.kiosk, getattr(args, "store", None))
    if what in ("sign-command", "send-command", "rotate-key"):
        if what == "rotate-key":
            new_key = public_pem(load_public_key(args.new_public_key))
            name, cmd_args = (
                "rotate_fleet_key",
                {"public_key": new_key, "overlap_s": args.overlap_s},
            )
            ttl, cmd_id = DEFAULT_COMMAND_TTL_S, None
        else:
            name, cmd_args = args.cmd, _json_object(args.args, "--args")
            ttl, cmd_id = args.ttl, args.id
        jti, token = sign_command(key, aud, name, cmd_args, ttl_s=ttl, jti=cmd_id)
        if what == "sign-command":
            say(token)
            return 0
        answer = send_command(
            load_mqtt(args.config),
            args.kiosk,
            jti,
            token,
            response_topic=getattr(args, "response_topic", None),
            timeout_s=args.timeout,
        )
        say(json.dumps(answer, ensure_ascii=False))
        return 0 if answer.get("status") == "ok" else 1
    try:
        text = args.file.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetError(f"cannot read {args.file}: {exc.strerror}") from None
    jti, token = sign_config(
        key, aud, args.version, _json_object(text, str(args.file)), ttl_s=args.ttl
    )
    if what == "sign-config":
        say(token)
        return 0
    report = send_config(
        load_mqtt(args.config),
        token,
        jti,
        kiosk_id=args.kiosk,
        store_id=args.store,
        timeout_s=args.timeout,
    )
    say(json.dumps(report) if report is not None else "published")
    return 0 if report is None or report.get("status") == "applied" else 1

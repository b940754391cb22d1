"""Verifying signed fleet messages: commands and configuration documents as EdDSA JWTs.

Called on the sync agent's thread (``CommandHandler`` and ``ConfigHandler``); the keys and the
seen token ids live in kiosk.db behind the ``TrustStore`` port (``kiosk.store.fleet_trust``
implements it). Nothing here publishes or runs anything: a token either verifies into a
``VerifiedToken`` or raises ``Refusal`` with a reason code and a message saying what was wrong.

A signed message is a compact JWS (``header.claims.signature``, ASCII) with header
``{"alg": "EdDSA", "typ": "pos-cmd+jwt" | "pos-cfg+jwt", "kid": <RFC 7638 thumbprint>}``,
signed with an Ed25519 fleet key. Claims: ``aud`` (the kiosk id or ``store:{store id}``, a
string or a list), ``iat``, ``exp`` and ``jti``; commands add ``cmd`` and ``args``, config
documents ``config_version`` and ``config``.

Keys. The kiosk pins one public key in its config (``sync.fleet_public_key``). The first time
the pinned key is seen it is recorded in kiosk.db as the current key. A ``rotate_fleet_key``
command, signed by the *current* key, names a new key: the new key becomes current and every
older key stays valid for the overlap the command asks for (0 to 30 days; 0 switches at
once), then it is refused. A pinned key that kiosk.db already retired stays retired.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

logger = logging.getLogger(__name__)

ALGORITHM: Final = "EdDSA"
TYP_COMMAND: Final = "pos-cmd+jwt"
TYP_CONFIG: Final = "pos-cfg+jwt"
ROTATE_COMMAND: Final = "rotate_fleet_key"
CLOCK_SKEW_S: Final = 60.0
MAX_OVERLAP_S: Final = 30 * 24 * 3600
MAX_TOKEN_BYTES: Final = 64 * 1024
_JTI: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_COMPACT: Final = re.compile(rb"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

# Reason codes of a refusal (also in the answer's ``result.reason``).
REASONS: Final[tuple[str, ...]] = (
    "unsigned",
    "malformed",
    "wrong_type",
    "unknown_key",
    "retired_key",
    "bad_signature",
    "wrong_audience",
    "no_expiry",
    "expired",
    "expiry_too_far",
    "issued_in_future",
    "replayed",
    "not_current_key",
    "no_fleet_key",
)


class Refusal(Exception):
    """A fleet message that must not be acted on: ``reason`` (one of ``REASONS``) and why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature, type, key and audience were checked."""

    kid: str
    jti: str
    iat: float
    exp: float
    audience: str
    claims: Mapping[str, Any]
    expired: bool = False


class FleetKeyRow(Protocol):
    """A fleet public key recorded in kiosk.db: PEM text, and the time (Unix seconds) after
    which it is refused (None: in use)."""

    @property
    def kid(self) -> str: ...
    @property
    def public_key(self) -> str: ...
    @property
    def retire_at(self) -> float | None: ...


@runtime_checkable
class TrustStore(Protocol):
    """What the verifier and the config handler keep in kiosk.db (each a short transaction)."""

    def fleet_keys(self) -> Sequence[FleetKeyRow]:
        """Every recorded key, oldest first (the last one not retired is current)."""
        ...

    def add_fleet_key(
        self, kid: str, public_key: str, origin: str, retire_others_at: float | None
    ) -> None:
        """Record a key (``origin`` ``config`` or ``rollover``); a key already recorded is left
        as it is. With ``retire_others_at``, every other key not yet retired gets that time."""
        ...

    def remember_token(self, jti: str, exp: float, kind: str, now: float) -> bool:
        """Record a token id until ``exp``; False when it was already recorded. Ids whose
        ``exp`` is well past are forgotten."""
        ...

    def config_version(self, scope: str) -> int:
        """The applied config version of ``scope`` (``kiosk`` or ``store``), 0 when none."""
        ...

    def apply_config(self, scope: str, version: int, body: str, jti: str, kid: str) -> bool:
        """Store the document and ``kiosk_state.config_version`` in one transaction when
        ``version`` is above the applied one; False (nothing written) otherwise."""
        ...


# ------------------------------------------------------------------------------ keys
def load_public_key_pem(text: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text; ``ValueError`` saying what is wrong."""
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"is not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"is a {type(key).__name__}, not an Ed25519 public key")
    return key


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint of the key (base64url SHA-256): the JWT ``kid``."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    jwk = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    digest = hashlib.sha256(jwk.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def looks_signed(payload: bytes) -> bool:
    """Whether the payload has the shape of a compact JWS (a JSON command does not)."""
    return _COMPACT.fullmatch(payload.strip()) is not None


def unverified_jti(payload: bytes) -> str | None:
    """The token's ``jti`` read WITHOUT verification, only to name it in an answer or log."""
    try:
        claims = jwt.decode(payload, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError):
        return None
    jti = claims.get("jti") if isinstance(claims, dict) else None
    return jti if isinstance(jti, str) and _JTI.fullmatch(jti) else None


# ------------------------------------------------------------------------- the verifier
@dataclass(frozen=True, slots=True)
class _Key:
    kid: str
    key: Ed25519PublicKey
    retire_at: float | None


class FleetVerifier:
    """Checks tokens against the fleet keys kept in kiosk.db (loaded at start, reloaded after
    a rotation)."""

    def __init__(
        self,
        trust: TrustStore,
        pinned_pem: str,
        *,
        kiosk_id: str,
        store_id: str,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._trust = trust
        self._wall = wall
        self.kiosk_id = kiosk_id
        self.store_id = store_id
        pinned = load_public_key_pem(pinned_pem)
        trust.add_fleet_key(key_id(pinned), public_key_pem(pinned), "config", None)
        self._keys: dict[str, _Key] = {}
        self.current_kid = ""
        self.reload()
        if self._keys[key_id(pinned)].retire_at is not None:
            logger.warning(
                "the pinned fleet key %s was rotated out; the current key is %s",
                key_id(pinned),
                self.current_kid,
            )

    def reload(self) -> None:
        keys: dict[str, _Key] = {}
        current = ""
        for row in self._trust.fleet_keys():
            keys[row.kid] = _Key(row.kid, load_public_key_pem(row.public_key), row.retire_at)
            if row.retire_at is None:
                current = row.kid
        self._keys = keys
        self.current_kid = current

    @property
    def audiences(self) -> tuple[str, ...]:
        """What a command's ``aud`` may name: this kiosk, or its store."""
        return (self.kiosk_id, f"store:{self.store_id}") if self.store_id else (self.kiosk_id,)

    def verify(
        self,
        token: bytes,
        typ: str,
        audiences: Iterable[str],
        *,
        max_ttl_s: float | None,
        allow_expired: bool = False,
    ) -> VerifiedToken:
        """Check ``token``: shape, ``typ``, a known and unretired key, the signature, the
        audience, ``iat`` and ``exp`` (at most ``max_ttl_s`` ahead when given). With
        ``allow_expired`` an expired token is returned with ``expired`` set."""
        now = self._wall()
        if len(token) > MAX_TOKEN_BYTES:
            raise Refusal("malformed", f"token is larger than {MAX_TOKEN_BYTES} bytes")
        if not looks_signed(token):
            raise Refusal("unsigned", "not a signed token (a compact EdDSA JWT is required)")
        try:
            header = jwt.get_unverified_header(token.strip())
        except jwt.PyJWTError as exc:
            raise Refusal("malformed", f"unreadable token header: {exc}") from None
        if header.get("alg") != ALGORITHM:
            raise Refusal("malformed", f"alg {header.get('alg')!r} is not {ALGORITHM}")
        if header.get("typ") != typ:
            raise Refusal("wrong_type", f"typ {header.get('typ')!r} is not {typ!r}")
        kid = header.get("kid")
        entry = self._keys.get(kid) if isinstance(kid, str) else None
        if entry is None or not isinstance(kid, str):
            raise Refusal("unknown_key", f"key id {kid!r} is not a fleet key of this kiosk")
        if entry.retire_at is not None and now > entry.retire_at:
            raise Refusal("retired_key", f"fleet key {kid} was retired by a key rotation")
        claims = self._decode(token.strip(), entry)
        aud = self._audience(claims, audiences)
        iat, exp = _number(claims, "iat"), claims.get("exp")
        if exp is None:
            raise Refusal("no_expiry", "the token has no exp claim")
        exp = _number(claims, "exp")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not _JTI.fullmatch(jti):
            raise Refusal("malformed", f"jti {jti!r} must be 1-64 letters, digits or . _ : -")
        if iat > now + CLOCK_SKEW_S:
            raise Refusal("issued_in_future", f"iat {iat:.0f} is ahead of the kiosk clock")
        if exp <= iat:
            raise Refusal("malformed", "exp is not after iat")
        if max_ttl_s is not None and exp > now + max_ttl_s + CLOCK_SKEW_S:
            raise Refusal(
                "expiry_too_far", f"exp is more than {max_ttl_s:.0f} s ahead (the most allowed)"
            )
        expired = now > exp + CLOCK_SKEW_S
        if expired and not allow_expired:
            raise Refusal("expired", f"the token expired {now - exp:.0f} s ago")
        return VerifiedToken(kid, jti, iat, exp, aud, claims, expired)

    def _decode(self, token: bytes, entry: _Key) -> dict[str, Any]:
        options: Any = {
            "verify_signature": True,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": False,
            "verify_iss": False,
            "require": [],
        }
        try:
            claims = jwt.decode(token, entry.key, algorithms=[ALGORITHM], options=options)
        except jwt.InvalidSignatureError:
            raise Refusal(
                "bad_signature", f"signature does not verify with key {entry.kid}"
            ) from None
        except jwt.PyJWTError as exc:
            raise Refusal("malformed", f"unreadable token: {exc}") from None
        if not isinstance(claims, dict):
            raise Refusal("malformed", "the token's claims are not a JSON object")
        return claims

    @staticmethod
    def _audience(claims: Mapping[str, Any], allowed: Iterable[str]) -> str:
        aud = claims.get("aud")
        named = [aud] if isinstance(aud, str) else aud
        if not isinstance(named, list) or not named or not all(isinstance(a, str) for a in named):
            raise Refusal("wrong_audience", f"aud {aud!r} must name this kiosk or its store")
        for candidate in allowed:
            if candidate in named:
                return candidate
        raise Refusal("wrong_audience", f"aud {aud!r} is not for {' or '.join(map(repr, allowed))}")

    # ---------------------------------------------------------------------- rotation
    def rotate(self, token: VerifiedToken, args: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a verified ``rotate_fleet_key`` command; ``Refusal`` when it may not."""
        if token.kid != self.current_kid:
            raise Refusal(
                "not_current_key",
                f"a key rotation must be signed by the current key {self.current_kid}",
            )
        unknown = set(args) - {"public_key", "overlap_s"}
        if unknown:
            raise Refusal("malformed", f"{ROTATE_COMMAND} has unknown argument {min(unknown)!r}")
        pem = args.get("public_key")
        if not isinstance(pem, str):
            raise Refusal("malformed", f"{ROTATE_COMMAND} needs public_key (PEM text)")
        try:
            new_key = load_public_key_pem(pem)
        except ValueError as exc:
            raise Refusal("malformed", f"public_key {exc}") from None
        overlap = args.get("overlap_s", 0)
        if isinstance(overlap, bool) or not isinstance(overlap, int):
            raise Refusal("malformed", f"overlap_s must be whole seconds, got {overlap!r}")
        if not 0 <= overlap <= MAX_OVERLAP_S:
            raise Refusal("malformed", f"overlap_s {overlap} must be 0..{MAX_OVERLAP_S}")
        new_kid = key_id(new_key)
        if new_kid in self._keys:
            raise Refusal("malformed", f"key {new_kid} is already known to this kiosk")
        until = self._wall() + overlap
        self._trust.add_fleet_key(new_kid, public_key_pem(new_key), "rollover", until)
        previous = self.current_kid
        self.reload()
        logger.warning(
            "fleet key rotated from %s to %s; the old key is accepted for %d s",
            previous,
            new_kid,
            overlap,
        )
        return {"kid": new_kid, "previous_kid": previous, "previous_valid_s": overlap}


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refusal("malformed", f"{name} {value!r} must be a number (Unix seconds)")
    return float(value)

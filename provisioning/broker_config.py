"""Generate a store's Mosquitto files: ACL, password file, bridge to central, mosquitto.conf.

A provisioning tool run by hand on the fleet admin's machine (``python -m
provisioning.broker_config store|central|conf|examples ...``); no kiosk thread calls it. The
functions are pure (text in, text out; randomness only through ``new_secret``/salts) so tests
render the same files they run a real broker with. docs/operations.md, "Store broker
(Mosquitto)", explains the model; in short:

- every identity is a username in the password file; on the listeners the username is forced
  to be the client id (``use_username_as_clientid``), so no client can take over another's
  session by choosing its client id;
- kiosks (username = kiosk id) are scoped by ``pattern`` rules with ``%u``: one rule serves
  every kiosk, and each may publish only its own evt/state/telemetry/cfg/reported/cmd/res and
  read only its own ack/cfg/desired/cmd/req, the store-wide config and catalog, and the
  central state;
- consumers (one username per process instance, each in a consumer group) read every kiosk's
  events and state and write acks, central state, alerts and resend requests; admins read and
  write all of ``pos/v1``; ``pattern`` rules apply to every user, so each non-kiosk identity
  also gets a ``deny`` for the kiosk-shaped subtree under its own name;
- a store broker forwards to the central broker over a bridge whose identity, on the central
  broker, may use the topics of that store's kiosks only.

Mosquitto 2.0's acl_file does not check SUBSCRIBE: a forbidden subscription is granted and
filtered message by message at delivery (docs/operations.md lists this and the other quirks).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.protocol.mqtt import ROOT

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # the kiosk id shape of kiosk.protocol.mqtt
RESERVED = frozenset({"store", "central"})  # second topic levels that are not kiosks
PBKDF2_ITERATIONS = 10_000
SALT_BYTES = 12  # what mosquitto_passwd 2.0 uses
DEFAULT_CENTRAL_CAFILE = "/etc/mosquitto/certs/central-ca.crt"

# Topic suffixes under pos/v1/{kiosk}/ by direction, seen from the kiosk.
KIOSK_PUBLISHES = ("evt/#", "state", "telemetry", "cfg/reported", "cmd/res")
KIOSK_READS = ("ack/#", "cfg/desired", "cmd/req")


class BrokerConfigError(ValueError):
    """A store, kiosk, consumer, admin or setting is not valid; the message names it."""


def check_name(kind: str, value: str) -> str:
    """Usernames, ids and groups must be one safe topic level: no wildcard, '/', space or '$'."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise BrokerConfigError(f"{kind} {value!r} must be 1-63 lowercase letters, digits or '-'")
    return value


@dataclass(frozen=True, slots=True)
class Consumer:
    """One consumer process instance: its own username, in a shared-subscription group."""

    username: str
    group: str

    def __post_init__(self) -> None:
        check_name("consumer username", self.username)
        check_name("consumer group", self.group)

    @classmethod
    def parse(cls, text: str) -> Consumer:
        """``inventory-1:inventory``; a bare ``inventory`` is its own group."""
        username, _, group = text.partition(":")
        return cls(username, group or username)


@dataclass(frozen=True, slots=True)
class Store:
    """The identities of one store: its kiosks, and who else connects to its broker."""

    store_id: str
    kiosk_ids: tuple[str, ...]
    consumers: tuple[Consumer, ...] = ()
    admins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_name("store id", self.store_id)
        if not self.kiosk_ids:
            raise BrokerConfigError(f"store {self.store_id!r} has no kiosks")
        for kiosk in self.kiosk_ids:
            check_name("kiosk id", kiosk)
            if kiosk in RESERVED:
                raise BrokerConfigError(f"kiosk id {kiosk!r} is reserved for {ROOT}/{kiosk}/...")
        for admin in self.admins:
            check_name("admin username", admin)
        for name in self.usernames:
            if name.startswith(("bridge-", "local-bridge-")):
                raise BrokerConfigError(f"username {name!r}: 'bridge-' names are for bridges")
        seen: set[str] = set()
        for name in self.usernames:
            if name in seen:
                raise BrokerConfigError(f"username {name!r} is given twice in {self.store_id!r}")
            seen.add(name)

    @property
    def bridge_username(self) -> str:
        """The store broker's identity on the central broker."""
        return f"bridge-{self.store_id}"

    @property
    def usernames(self) -> tuple[str, ...]:
        """Every identity that logs in to the store broker."""
        return (*self.kiosk_ids, *(c.username for c in self.consumers), *self.admins)


# ------------------------------------------------------------------------------------- ACL
def _shared_reads(store_id: str) -> list[str]:
    """What every kiosk of a store reads besides its own topics."""
    return [
        f"topic read {ROOT}/store/{store_id}/cfg/desired",
        f"topic read {ROOT}/store/{store_id}/catalog/#",
        f"topic read {ROOT}/central/state/+",
    ]


def _consumer_block(consumer: Consumer, *, deny_own_subtree: bool) -> list[str]:
    lines = [f"user {consumer.username}"]
    if deny_own_subtree:
        lines.append(f"topic deny {ROOT}/{consumer.username}/#")
    lines += [
        f"topic read {ROOT}/+/evt/#",
        f"topic read {ROOT}/+/state",
        f"topic read {ROOT}/+/cmd/res",
        f"topic write {ROOT}/+/ack/{consumer.group}",
        f"topic write {ROOT}/+/cmd/req",
        f"topic readwrite {ROOT}/central/state/{consumer.group}",
        f"topic write {ROOT}/store/+/alert/#",
        "",
    ]
    return lines


def _admin_block(admin: str, *, deny_own_subtree: bool) -> list[str]:
    lines = [f"user {admin}"]
    if deny_own_subtree:
        lines.append(f"topic deny {ROOT}/{admin}/#")
    lines += [f"topic readwrite {ROOT}/#", "topic readwrite prov/v1/#", "topic read $SYS/#", ""]
    return lines


def store_acl(store: Store) -> str:
    """The store broker's acl_file."""
    s = store.store_id
    lines = [
        f"# Mosquitto ACL of the store broker of {s}. Generated by provisioning.broker_config;",
        "# regenerate instead of editing. Reload with SIGHUP (systemctl reload mosquitto).",
        "#",
        "# Kiosks: the username is the kiosk id. Pattern rules apply to every user.",
        *(f"pattern write {ROOT}/%u/{suffix}" for suffix in KIOSK_PUBLISHES),
        *(f"pattern read {ROOT}/%u/{suffix}" for suffix in KIOSK_READS),
        "",
        "# Kiosks also read the store-wide topics and the central state (a pattern rule",
        "# without %u would do, but mosquitto warns about one at every start).",
    ]
    for kiosk in store.kiosk_ids:
        lines += [f"user {kiosk}", *_shared_reads(s), ""]
    lines += [
        "# Consumers: every kiosk's events (through $share/<group>/...), acks of their group.",
    ]
    for consumer in store.consumers:
        lines += _consumer_block(consumer, deny_own_subtree=True)
    lines.append("# Admins: all of pos/v1 and prov/v1, and the broker's $SYS statistics.")
    for admin in store.admins:
        lines += _admin_block(admin, deny_own_subtree=True)
    return "\n".join(lines).rstrip("\n") + "\n"


def bridge_user_block(store: Store) -> list[str]:
    """A store bridge's rights on the central broker: the topics of that store's kiosks."""
    user = store.bridge_username
    lines = [f"user {user}", f"topic write $SYS/broker/connection/{user}/state"]
    for kiosk in store.kiosk_ids:
        lines += [f"topic write {ROOT}/{kiosk}/{suffix}" for suffix in KIOSK_PUBLISHES]
        lines += [f"topic read {ROOT}/{kiosk}/{suffix}" for suffix in KIOSK_READS]
    return [*lines, *_shared_reads(store.store_id), ""]


def central_acl(
    stores: Sequence[Store], consumers: Sequence[Consumer], admins: Sequence[str]
) -> str:
    """The central broker's acl_file: consumers, admins and one bridge identity per store."""
    for admin in admins:
        check_name("admin username", admin)
    lines = [
        "# Mosquitto ACL of the central broker. Generated by provisioning.broker_config.",
        "# No pattern rules: kiosks connect to their store broker, which bridges here.",
        "",
    ]
    for consumer in consumers:
        lines += _consumer_block(consumer, deny_own_subtree=False)
    for admin in admins:
        lines += _admin_block(admin, deny_own_subtree=False)
    for store in stores:
        lines += bridge_user_block(store)
    return "\n".join(lines).rstrip("\n") + "\n"


# ------------------------------------------------------------------------------- passwords
def new_secret() -> str:
    """A random password (256 bits, URL-safe): identities never get human-chosen ones."""
    return secrets.token_urlsafe(32)


def hash_password(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """Mosquitto 2.0's ``$7$`` format: PBKDF2-HMAC-SHA512, base64 salt and 64-byte hash."""
    if not password or ":" in password or password.strip() != password:
        raise BrokerConfigError("a password must be non-empty, without ':' or edge spaces")
    if iterations < 1:
        raise BrokerConfigError(f"iterations must be at least 1, got {iterations}")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(encoded: str, password: str) -> bool:
    """Check ``password`` against one hash as written by mosquitto_passwd 2.0 or here."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != "7" or not parts[2].isdigit():
        raise BrokerConfigError(f"{encoded[:12]!r}... is not a mosquitto $7$ password hash")
    salt, digest = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    mine = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]))
    return hmac.compare_digest(mine, digest)


def password_file(
    credentials: Mapping[str, str], *, hasher: Callable[[str], str] = hash_password
) -> str:
    """``username:hash`` lines, sorted by username, for mosquitto's password_file."""
    for username in credentials:
        check_name("username", username)
    return "".join(f"{name}:{hasher(credentials[name])}\n" for name in sorted(credentials))


# ---------------------------------------------------------------------------------- bridge
@dataclass(frozen=True, slots=True)
class BridgeSettings:
    """Where and how a store broker reaches the central broker."""

    addresses: tuple[tuple[str, int], ...]
    cafile: str | None = DEFAULT_CENTRAL_CAFILE
    protocol: str = "mqttv50"
    restart_timeout: tuple[int, int] = (2, 30)
    keepalive: int = 30

    def __post_init__(self) -> None:
        if not self.addresses:
            raise BrokerConfigError("the bridge needs at least one central broker address")
        for host, port in self.addresses:
            if not host or any(c.isspace() for c in host) or not 0 < port < 65536:
                raise BrokerConfigError(f"bridge address {host}:{port} is not host:port")
        if self.protocol not in ("mqttv50", "mqttv311"):
            raise BrokerConfigError(f"bridge protocol {self.protocol!r} is not mqttv50/mqttv311")
        base, cap = self.restart_timeout
        if not 0 < base <= cap:
            raise BrokerConfigError(f"restart_timeout {base} {cap} needs 0 < base <= cap")


def bridge_conf(store: Store, password: str, settings: BridgeSettings) -> str:
    """The store broker's bridge to central (a conf.d drop-in). It holds the bridge password:
    install it readable by root and the mosquitto group only."""
    user = store.bridge_username
    s = store.store_id
    lines = [
        f"# Bridge from the store broker of {s} to the central broker. Generated by",
        "# provisioning.broker_config; holds a password: mode 0640, root:mosquitto.",
        f"connection central-{s}",
        "address " + " ".join(f"{host}:{port}" for host, port in settings.addresses),
        f"bridge_protocol_version {settings.protocol}",
        f"remote_clientid {user}",
        f"remote_username {user}",
        f"remote_password {password}",
        f"local_clientid local-{user}",
        "# Persistent sessions on both ends: while central is unreachable the store broker",
        "# queues outgoing messages (max_queued_messages) and central queues incoming ones.",
        "cleansession false",
        "local_cleansession false",
        "start_type automatic",
        f"restart_timeout {settings.restart_timeout[0]} {settings.restart_timeout[1]}",
        f"keepalive_interval {settings.keepalive}",
        "notifications true",
        "try_private true",
    ]
    if settings.cafile:
        lines += [f"bridge_cafile {settings.cafile}", "bridge_insecure false"]
    lines += [
        "# Out to central: what kiosks publish. The central ACL of this bridge's identity",
        "# admits only this store's kiosks.",
        *(
            f"topic {ROOT}/+/{suffix} out {0 if suffix == 'telemetry' else 1}"
            for suffix in KIOSK_PUBLISHES
        ),
        "# In from central: acks, configuration, commands, catalog and central state.",
        *(f"topic {ROOT}/+/{suffix} in 1" for suffix in KIOSK_READS),
        f"topic {ROOT}/store/{s}/cfg/desired in 1",
        f"topic {ROOT}/store/{s}/catalog/# in 1",
        f"topic {ROOT}/central/state/+ in 1",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- mosquitto.conf
@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """The store broker's mosquitto.conf; the defaults are the production file's values."""

    tls_port: int = 8883
    local_port: int | None = 1883  # plain MQTT on 127.0.0.1 for the server's own processes
    cafile: str = "/etc/mosquitto/certs/ca.crt"
    certfile: str = "/etc/mosquitto/certs/server.crt"
    keyfile: str = "/etc/mosquitto/certs/server.key"
    password_file: str = "/etc/mosquitto/kiosk/passwd"
    acl_file: str = "/etc/mosquitto/kiosk/acl"
    persistence_location: str = "/var/lib/mosquitto/"
    include_dir: str | None = "/etc/mosquitto/conf.d"
    user: str = "mosquitto"
    pid_file: str | None = "/run/mosquitto/mosquitto.pid"
    log_dest: str = "file /var/log/mosquitto/mosquitto.log"
    autosave_interval: int = 60
    max_queued_messages: int = 100_000
    max_queued_bytes: int = 256 * 1024 * 1024
    max_inflight_messages: int = 1000
    max_packet_size: int = 1024 * 1024
    max_connections: int = 1000
    extra: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        for name in ("tls_port", "local_port"):
            port = getattr(self, name)
            if port is not None and not 0 < port < 65536:
                raise BrokerConfigError(f"{name} {port} is not a TCP port")
        for name in ("max_queued_messages", "max_inflight_messages", "max_packet_size"):
            if getattr(self, name) < 1:
                raise BrokerConfigError(f"{name} must be at least 1")


def mosquitto_conf(settings: BrokerSettings | None = None) -> str:
    """The store broker's whole mosquitto.conf (it replaces Debian's /etc/mosquitto one)."""
    c = settings or BrokerSettings()
    lines = [
        "# Store broker of the kiosk fleet (Mosquitto 2.0). Generated by",
        "# `python -m provisioning.broker_config conf`; see docs/operations.md,",
        '# "Store broker (Mosquitto)". Install as /etc/mosquitto/mosquitto.conf.',
        "per_listener_settings false",
        f"user {c.user}",
    ]
    if c.pid_file:
        lines.append(f"pid_file {c.pid_file}")
    lines += [
        "",
        "# Kiosks, consumers and admins: TLS, server certificate from the store CA.",
        f"listener {c.tls_port}",
        f"cafile {c.cafile}",
        f"certfile {c.certfile}",
        f"keyfile {c.keyfile}",
        "tls_version tlsv1.2",
        "require_certificate false",
        "# The username is the client id: nobody takes over another identity's session.",
        "use_username_as_clientid true",
        f"max_connections {c.max_connections}",
    ]
    if c.local_port is not None:
        lines += [
            "",
            "# Processes on this server only: loopback, no TLS, same passwords and ACL.",
            f"listener {c.local_port} 127.0.0.1",
            "use_username_as_clientid true",
            f"max_connections {c.max_connections}",
        ]
    lines += [
        "",
        "# Identities and rights (provisioning/broker_config.py writes both files).",
        "allow_anonymous false",
        f"password_file {c.password_file}",
        f"acl_file {c.acl_file}",
        "",
        "# Persistence: retained messages, sessions and their queues survive a restart (a",
        "# crash loses what arrived since the last autosave; kiosk outboxes resend it).",
        "persistence true",
        f"persistence_location {c.persistence_location}",
        f"autosave_interval {c.autosave_interval}",
        "",
        "# Limits. QoS 2 is not used (docs/mqtt-contract.md); queues are per client and",
        "# include a bridge's queue while central is unreachable.",
        "max_qos 1",
        f"max_inflight_messages {c.max_inflight_messages}",
        f"max_queued_messages {c.max_queued_messages}",
        f"max_queued_bytes {c.max_queued_bytes}",
        "queue_qos0_messages false",
        f"max_packet_size {c.max_packet_size}",
        "max_keepalive 300",
        "persistent_client_expiration 30d",
        "set_tcp_nodelay true",
        "",
        f"log_dest {c.log_dest}",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        *c.extra,
    ]
    if c.include_dir:
        lines += [
            "",
            "# The bridge to central (bridge-central.conf) goes here.",
            f"include_dir {c.include_dir}",
        ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------- examples
EXAMPLE_STORE = Store(
    "s0001",
    ("s0001-k01", "s0001-k02"),
    (Consumer("inventory-1", "inventory"), Consumer("finance-1", "finance")),
    ("ops",),
)


def example_files() -> dict[str, str]:
    """provisioning/mosquitto/: the production mosquitto.conf and, for a sample store, the
    generated ACLs and bridge (tests/test_provisioning_broker.py keeps them current)."""
    bridge = BridgeSettings((("central.example.net", 8883),))
    secret = "SECRET-FROM-credentials/bridge-s0001.secret"
    return {
        "mosquitto.conf": mosquitto_conf(),
        "acl.example": store_acl(EXAMPLE_STORE),
        "bridge-central.conf.example": bridge_conf(EXAMPLE_STORE, secret, bridge),
        "central-acl.example": central_acl([EXAMPLE_STORE], EXAMPLE_STORE.consumers, ["ops"]),
    }


# -------------------------------------------------------------------------------------- CLI
def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)


def load_or_create_secrets(folder: Path, usernames: Iterable[str]) -> dict[str, str]:
    """Each identity's password from ``folder/<name>.secret``, created (0600) when missing,
    so a rerun after adding a kiosk keeps every other identity's password."""
    out: dict[str, str] = {}
    for name in usernames:
        path = folder / f"{check_name('username', name)}.secret"
        if path.exists():
            secret = path.read_text(encoding="utf-8").strip()
            if not secret:
                raise BrokerConfigError(f"{path} is empty: delete it to get a new password")
        else:
            secret = new_secret()
            _write(path, secret + "\n", 0o600)
        out[name] = secret
    return out


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def _store_spec(text: str) -> tuple[str, tuple[str, ...]]:
    store, _, kiosks = text.partition("=")
    if not kiosks:
        raise argparse.ArgumentTypeError(f"{text!r} is not STORE=KIOSK,KIOSK,...")
    return store, tuple(k for k in kiosks.split(",") if k)


def _consumer(text: str) -> Consumer:
    try:
        return Consumer.parse(text)
    except BrokerConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m provisioning.broker_config",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    store = sub.add_parser("store", help="a store broker's acl, passwd and bridge-central.conf")
    store.add_argument("--out", type=Path, required=True, help="fleet folder (credentials/)")
    store.add_argument("--store", required=True, help="store id, e.g. s0142")
    store.add_argument("--kiosk", action="append", required=True, help="kiosk id (repeat)")
    store.add_argument(
        "--central",
        type=_address,
        action="append",
        default=[],
        help="central broker HOST:PORT (repeat for fallbacks); no bridge if absent",
    )
    store.add_argument("--central-cafile", default=DEFAULT_CENTRAL_CAFILE)
    store.add_argument("--bridge-protocol", default="mqttv50", choices=("mqttv50", "mqttv311"))
    central = sub.add_parser("central", help="the central broker's acl and passwd")
    central.add_argument("--out", type=Path, required=True, help="fleet folder (credentials/)")
    central.add_argument(
        "--store",
        type=_store_spec,
        action="append",
        default=[],
        metavar="STORE=KIOSK,...",
        help="a bridged store and its kiosks",
    )
    for cmd in (store, central):
        cmd.add_argument(
            "--consumer",
            type=_consumer,
            action="append",
            default=[],
            metavar="USER[:GROUP]",
            help="consumer instance, e.g. inventory-1:inventory",
        )
        cmd.add_argument("--admin", action="append", default=[], help="admin username (repeat)")
    examples = sub.add_parser("examples", help="write provisioning/mosquitto/'s sample files")
    examples.add_argument("folder", type=Path)
    conf = sub.add_parser("conf", help="print the store broker's mosquitto.conf")
    conf.add_argument("--tls-port", type=int, default=8883)
    conf.add_argument("--local-port", type=int, default=1883, help="0: no loopback listener")
    return p


def _store_files(args: argparse.Namespace) -> list[Path]:
    store = Store(args.store, tuple(args.kiosk), tuple(args.consumer), tuple(args.admin))
    bridged = bool(args.central)
    names = (*store.usernames, *([store.bridge_username] if bridged else []))
    creds = load_or_create_secrets(args.out / "credentials", names)
    folder: Path = args.out / f"store-{store.store_id}"
    files = {
        "acl": store_acl(store),
        "passwd": password_file({name: creds[name] for name in store.usernames}),
    }
    if bridged:
        settings = BridgeSettings(
            tuple(args.central), args.central_cafile or None, args.bridge_protocol
        )
        files["bridge-central.conf"] = bridge_conf(store, creds[store.bridge_username], settings)
    for name, text in files.items():
        _write(folder / name, text, 0o640)
    return [folder / name for name in files]


def _central_files(args: argparse.Namespace) -> list[Path]:
    stores = [Store(store_id, kiosks) for store_id, kiosks in args.store]
    names = [c.username for c in args.consumer] + list(args.admin)
    names += [store.bridge_username for store in stores]
    creds = load_or_create_secrets(args.out / "credentials", names)
    folder: Path = args.out / "central"
    _write(folder / "acl", central_acl(stores, args.consumer, args.admin), 0o640)
    _write(folder / "passwd", password_file(creds), 0o640)
    return [folder / "acl", folder / "passwd"]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "examples":
            for name, text in example_files().items():
                _write(args.folder / name, text, 0o644)
            return 0
        if args.command == "conf":
            local = args.local_port or None
            sys.stdout.write(mosquitto_conf(BrokerSettings(args.tls_port, local)))
            return 0
        written = _store_files(args) if args.command == "store" else _central_files(args)
    except BrokerConfigError as exc:
        print(f"broker_config: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

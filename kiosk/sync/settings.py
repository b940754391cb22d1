"""``SyncSettings``: what ``kiosk sync`` needs, from the kiosk config and its ``[sync]`` table.

Built once at start-up on the main thread and then only read. ``SyncSettings.from_config``
takes the typed ``kiosk.config.Config`` (kiosk id, ``[broker]`` credentials, the kiosk.db path)
and the raw ``[sync]`` TOML table, validates every key and raises
``ConfigError("sync.<key>", problem)`` for a bad or unknown one. docs/mqtt-contract.md lists
the keys with their defaults.

The broker list: ``[sync] brokers = ["store-server:8883", "backup:8883"]`` is tried in order;
without it the one broker of ``[broker]`` (host, port). Every broker uses the same identity
(client id = kiosk id; ``[broker]`` username/password and/or the TLS client certificate).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kiosk.config import Config
from kiosk.errors import ConfigError
from kiosk.protocol.mqtt import CONSUMER_GROUPS
from kiosk.sync.signing import load_public_key_pem

_GROUP: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_HOST: Final = re.compile(r"[A-Za-z0-9._:-]{1,253}")
_COMMAND: Final = re.compile(r"[a-z][a-z_]{0,31}")
MAX_SESSION_EXPIRY_S: Final = 2**32 - 1


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """TLS for every broker: ``ca_file`` (None: the system CAs), client ``cert_file`` and
    ``key_file`` (both or neither)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True, slots=True)
class SyncSettings:
    kiosk_id: str
    db_path: str
    brokers: tuple[BrokerAddress, ...]
    tls: TlsFiles | None = None
    username: str = ""
    password: str = ""
    window: int = 100
    ack_timeout_s: float = 300.0
    retry_min_s: float = 1.0
    retry_max_s: float = 60.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    connect_timeout_s: float = 10.0
    keepalive_s: int = 30
    telemetry_s: float = 60.0
    required_groups: tuple[str, ...] = CONSUMER_GROUPS
    session_expiry_s: int = 7 * 24 * 3600
    purge_after_days: int = 30
    stop_timeout_s: float = 5.0
    nice: int = 10  # the process's CPU niceness at least (0-19): the lane comes first
    store_id: str = ""
    fleet_public_key: str | None = None  # the PEM file pinned by sync.fleet_public_key
    fleet_public_key_pem: str = ""
    command_max_ttl_s: float = 900.0
    unsigned_commands: tuple[str, ...] = ("resend",)

    @classmethod
    def from_config(
        cls, config: Config, table: Mapping[str, Any], *, base_dir: Path | None = None
    ) -> SyncSettings:
        """Settings from the kiosk ``config`` and the raw ``[sync]`` ``table``.

        Relative TLS file names are taken relative to ``base_dir`` (the config file's folder)
        when it is given.
        """
        reader = _Table(table)
        d = cls(kiosk_id=config.kiosk.id, db_path=config.paths.db, brokers=())
        default_broker = BrokerAddress(config.broker.host, config.broker.port)
        brokers = reader.brokers("brokers", default_broker)
        retry_min = reader.number("retry_min_s", d.retry_min_s, low=0.01)
        reconnect_min = reader.number("reconnect_min_s", d.reconnect_min_s, low=0.01)
        tls = reader.tls(config.broker.tls, base_dir)
        settings = cls(
            kiosk_id=config.kiosk.id,
            db_path=config.paths.db,
            brokers=brokers,
            tls=tls,
            username=config.broker.username,
            password=config.broker.password,
            window=int(reader.number("window", d.window, low=1, high=65535, integer=True)),
            ack_timeout_s=reader.number("ack_timeout_s", d.ack_timeout_s, low=0.1),
            retry_min_s=retry_min,
            retry_max_s=reader.number("retry_max_s", max(d.retry_max_s, retry_min), low=retry_min),
            reconnect_min_s=reconnect_min,
            reconnect_max_s=reader.number(
                "reconnect_max_s", max(d.reconnect_max_s, reconnect_min), low=reconnect_min
            ),
            connect_timeout_s=reader.number("connect_timeout_s", d.connect_timeout_s, low=0.1),
            keepalive_s=int(
                reader.number("keepalive_s", d.keepalive_s, low=1, high=65535, integer=True)
            ),
            telemetry_s=reader.number("telemetry_s", d.telemetry_s, low=0.1),
            required_groups=reader.groups("required_groups", d.required_groups),
            session_expiry_s=int(
                reader.number(
                    "session_expiry_s",
                    d.session_expiry_s,
                    low=0,
                    high=MAX_SESSION_EXPIRY_S,
                    integer=True,
                )
            ),
            purge_after_days=int(
                reader.number("purge_after_days", d.purge_after_days, low=1, integer=True)
            ),
            stop_timeout_s=reader.number("stop_timeout_s", d.stop_timeout_s, low=0.1),
            nice=int(reader.number("nice", d.nice, low=0, high=19, integer=True)),
            store_id=config.store.id,
            command_max_ttl_s=reader.number(
                "command_max_ttl_s", d.command_max_ttl_s, low=10, high=86400
            ),
            unsigned_commands=reader.names("unsigned_commands", d.unsigned_commands),
            **reader.fleet_key("fleet_public_key", base_dir),
        )
        reader.finish()
        return settings


class _Table:
    """Typed reads from the raw ``[sync]`` table, remembering which keys were used."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        if not isinstance(table, Mapping):
            raise ConfigError("sync", f"must be a table, got {type(table).__name__}")
        self.data = table
        self.used: set[str] = set()

    def _get(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def number(
        self,
        key: str,
        default: float,
        *,
        low: float,
        high: float | None = None,
        integer: bool = False,
    ) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"sync.{key}", f"must be a number, got {value!r}")
        if integer and not isinstance(value, int):
            raise ConfigError(f"sync.{key}", f"must be a whole number, got {value!r}")
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            upper = "" if high is None else f" and at most {high:g}"
            raise ConfigError(f"sync.{key}", f"{value!r} must be at least {low:g}{upper}")
        return value

    def text(self, key: str) -> str | None:
        value = self._get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(f"sync.{key}", f"must be a non-empty string, got {value!r}")
        return value

    def brokers(self, key: str, default: BrokerAddress) -> tuple[BrokerAddress, ...]:
        value = self._get(key)
        if value is None:
            return (default,)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"sync.{key}", "must be a non-empty list of 'host:port' strings")
        out = tuple(_broker_address(f"sync.{key}", item, default.port) for item in value)
        if len(set(out)) != len(out):
            raise ConfigError(f"sync.{key}", "lists the same broker twice")
        return out

    def groups(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not value:
            raise ConfigError(f"sync.{key}", "must be a non-empty list of consumer group names")
        for group in value:
            if not isinstance(group, str) or not _GROUP.fullmatch(group):
                raise ConfigError(
                    f"sync.{key}", f"{group!r} must be 1-63 lowercase letters, digits or '-'"
                )
        if len(set(value)) != len(value):
            raise ConfigError(f"sync.{key}", "names the same group twice")
        return tuple(value)

    def names(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(
            isinstance(v, str) and _COMMAND.fullmatch(v) for v in value
        ):
            raise ConfigError(f"sync.{key}", f"must be a list of command names, got {value!r}")
        return tuple(value)

    def fleet_key(self, key: str, base_dir: Path | None) -> dict[str, Any]:
        """The pinned fleet public key: its path and PEM text (``{}`` when not set)."""
        name = self.text(key)
        if name is None:
            return {}
        path = base_dir / name if base_dir is not None else Path(name)
        try:
            pem = path.read_text(encoding="ascii")
            load_public_key_pem(pem)
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"sync.{key}", f"cannot read the fleet key {path}: {exc}") from None
        except ValueError as exc:
            raise ConfigError(f"sync.{key}", f"the fleet key {path} {exc}") from None
        return {"fleet_public_key": str(path), "fleet_public_key_pem": pem}

    def tls(self, enabled: bool, base_dir: Path | None) -> TlsFiles | None:
        files = {k: self.text(k) for k in ("tls_ca_file", "tls_cert_file", "tls_key_file")}
        if not enabled:
            given = [k for k, v in files.items() if v is not None]
            if given:
                raise ConfigError(f"sync.{given[0]}", "is set but broker.tls is false")
            return None
        if (files["tls_cert_file"] is None) != (files["tls_key_file"] is None):
            missing = "tls_key_file" if files["tls_key_file"] is None else "tls_cert_file"
            raise ConfigError(
                f"sync.{missing}", "a client certificate needs both tls_cert_file and tls_key_file"
            )

        def resolve(name: str | None) -> str | None:
            if name is None or base_dir is None:
                return name
            return str(base_dir / name)

        return TlsFiles(
            resolve(files["tls_ca_file"]),
            resolve(files["tls_cert_file"]),
            resolve(files["tls_key_file"]),
        )

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(f"sync.{unknown[0]}", "unknown key (check the spelling)")


def _broker_address(key: str, item: Any, default_port: int) -> BrokerAddress:
    """``"host"``, ``"host:port"`` or ``"[v6-address]:port"``."""
    if not isinstance(item, str) or not item:
        raise ConfigError(key, f"{item!r} is not a 'host:port' string")
    host, port_text = item, ""
    if item.startswith("["):
        end = item.find("]")
        if end < 0 or (end + 1 < len(item) and item[end + 1] != ":"):
            raise ConfigError(key, f"{item!r} is not '[address]:port'")
        host, port_text = item[1:end], item[end + 2 :]
    elif item.count(":") == 1:
        host, port_text = item.split(":")
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ConfigError(key, f"{item!r} has no valid port (1..65535)")
        port = int(port_text)
    if not _HOST.fullmatch(host):
        raise ConfigError(key, f"{item!r} has no valid host name")
    return BrokerAddress(host, port)

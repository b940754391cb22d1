"""central.toml: the typed configuration of the central consumers and the back-office commands.

Read once at start-up by ``central.cli`` (main thread) and then only read. ``load_config(path)``
reads the file and the secrets it names; ``parse_config(text, base_dir, env, read_file)`` does
the parsing without I/O of its own. Every problem raises ``CentralConfigError`` naming the
dotted key, e.g. ``central.toml key 'consumer.batch_size': must be an integer 1..10000``.

docs/central.md lists every key with its default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

SecretReader = Callable[[str], str]

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class CentralConfigError(ValueError):
    """central.toml is wrong: ``key`` is the dotted key, ``problem`` what is wrong with it."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"central.toml key {key!r}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class BrokerEndpoint:
    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""


@dataclass(frozen=True)
class MqttConfig:
    brokers: tuple[BrokerEndpoint, ...] = (BrokerEndpoint(),)
    client_id: str = ""  # empty: central-{group}-{hostname}
    username: str = ""
    password: str = ""
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0


@dataclass(frozen=True)
class ConsumerConfig:
    batch_size: int = 500
    batch_ms: int = 50
    reorder_timeout_s: float = 10.0
    resend_interval_s: float = 30.0
    resend_max_interval_s: float = 600.0
    max_payload_bytes: int = 256 * 1024


@dataclass(frozen=True)
class KioskRegistry:
    """Which kiosks may send events: any ``{store}-...`` kiosk of ``stores``, or a listed one."""

    stores: frozenset[str] = frozenset()
    known: Mapping[str, str] = field(default_factory=dict)  # kiosk id -> store id

    def problem(self, kiosk_id: str, store_id: str) -> str | None:
        """None when ``kiosk_id`` of ``store_id`` is known, else why not."""
        if kiosk_id in self.known:
            if self.known[kiosk_id] != store_id:
                return (
                    f"kiosk {kiosk_id} is registered to store {self.known[kiosk_id]}, "
                    f"the event says store {store_id}"
                )
            return None
        if store_id in self.stores and kiosk_id.startswith(f"{store_id}-"):
            return None
        return f"kiosk {kiosk_id} of store {store_id} is not in kiosks.stores or kiosks.known"


@dataclass(frozen=True)
class InventoryConfig:
    group: str = "inventory"
    low_stock_default: Decimal = Decimal(0)  # 0: no alert unless the SKU has its own threshold
    low_stock: Mapping[str, Decimal] = field(default_factory=dict)

    def threshold(self, sku: str) -> Decimal:
        return self.low_stock.get(sku, self.low_stock_default)


@dataclass(frozen=True)
class FinanceConfig:
    group: str = "finance"


@dataclass(frozen=True)
class CentralConfig:
    database_url: str
    mqtt: MqttConfig = MqttConfig()
    consumer: ConsumerConfig = ConsumerConfig()
    kiosks: KioskRegistry = KioskRegistry()
    inventory: InventoryConfig = InventoryConfig()
    finance: FinanceConfig = FinanceConfig()


# ------------------------------------------------------------------------------------ parsing
class _Section:
    """One TOML table with its dotted path, handing out typed values and refusing unknown keys."""

    def __init__(self, data: Mapping[str, Any], path: str) -> None:
        self.data = data
        self.path = path
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, default: Any) -> Any:
        self.used.add(name)
        return self.data.get(name, default)

    def sub(self, name: str) -> _Section:
        value = self.get(name, {})
        if not isinstance(value, Mapping):
            raise CentralConfigError(self.key(name), "must be a table")
        return _Section(value, self.key(name))

    def text(self, name: str, default: str) -> str:
        value = self.get(name, default)
        if not isinstance(value, str):
            raise CentralConfigError(self.key(name), f"must be a string, got {value!r}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise CentralConfigError(self.key(name), f"must be an integer {low}..{high}")
        return value

    def seconds(self, name: str, default: float, low: float, high: float) -> float:
        value = self.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CentralConfigError(self.key(name), "must be a number of seconds")
        if not low <= value <= high:
            raise CentralConfigError(self.key(name), f"must be {low}..{high} seconds")
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name, default)
        if not isinstance(value, bool):
            raise CentralConfigError(self.key(name), "must be true or false")
        return value

    def ident(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not _ID.fullmatch(value):
            raise CentralConfigError(self.key(name), "must be 1-63 lowercase letters, digits, '-'")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise CentralConfigError(self.key(unknown[0]), "unknown key")


def _quantity(key: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CentralConfigError(key, 'must be a quantity as a string ("2.5") or an integer')
    try:
        qty = Decimal(value)
    except InvalidOperation:
        raise CentralConfigError(key, f"{value!r} is not a quantity") from None
    if not qty.is_finite() or qty < 0:
        raise CentralConfigError(key, "must be a quantity of 0 or more")
    return qty


def _secret(s: _Section, name: str, env: Mapping[str, str], read_file: SecretReader) -> str:
    """Inline ``name``, or ``name_env`` (an environment variable), or ``name_file``."""
    inline = s.text(name, "")
    env_name = s.text(f"{name}_env", "")
    file_name = s.text(f"{name}_file", "")
    if sum(bool(v) for v in (inline, env_name, file_name)) > 1:
        raise CentralConfigError(s.key(name), f"give one of {name}, {name}_env, {name}_file")
    if env_name:
        if env_name not in env:
            raise CentralConfigError(s.key(f"{name}_env"), f"${env_name} is not set")
        return env[env_name]
    if file_name:
        try:
            return read_file(file_name).strip()
        except OSError as exc:
            raise CentralConfigError(s.key(f"{name}_file"), f"cannot read: {exc}") from None
    return inline


def _brokers(root: _Section, base_dir: Path) -> tuple[BrokerEndpoint, ...]:
    raw = root.get("broker", [{}])
    if not isinstance(raw, list) or not raw:
        raise CentralConfigError("broker", "must be one or more [[broker]] tables")
    out = []
    for i, table in enumerate(raw):
        if not isinstance(table, Mapping):
            raise CentralConfigError(f"broker[{i}]", "must be a table")
        s = _Section(table, f"broker[{i}]")
        tls = s.flag("tls", False)
        files = {k: s.text(k, "") for k in ("ca_file", "cert_file", "key_file")}
        files = {k: str(base_dir / v) if v else "" for k, v in files.items()}
        if bool(files["cert_file"]) != bool(files["key_file"]):
            raise CentralConfigError(s.key("cert_file"), "cert_file and key_file go together")
        if (files["ca_file"] or files["cert_file"]) and not tls:
            raise CentralConfigError(s.key("tls"), "certificate files need tls = true")
        out.append(
            BrokerEndpoint(
                host=s.text("host", "127.0.0.1"),
                port=s.integer("port", 8883 if tls else 1883, 1, 65535),
                tls=tls,
                **files,
            )
        )
        s.done()
    return tuple(out)


def _database_url(s: _Section, base_dir: Path) -> str:
    url = s.text("url", "sqlite:///central.db")
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        if not relative or relative.startswith(":memory:"):
            raise CentralConfigError(s.key("url"), "needs a database file, not memory")
        url = f"sqlite:///{(base_dir / relative).resolve()}"
    elif not url.startswith(("sqlite:////", "postgresql://", "postgresql+psycopg://")):
        raise CentralConfigError(s.key("url"), "must be sqlite:///FILE or postgresql://...")
    return url


def _kiosks(s: _Section) -> KioskRegistry:
    stores = s.get("stores", [])
    if not isinstance(stores, list) or not all(
        isinstance(x, str) and _ID.fullmatch(x) for x in stores
    ):
        raise CentralConfigError(s.key("stores"), "must be a list of store ids")
    known = s.get("known", {})
    if not isinstance(known, Mapping) or not all(
        _ID.fullmatch(k) and isinstance(v, str) and _ID.fullmatch(v) for k, v in known.items()
    ):
        raise CentralConfigError(s.key("known"), "must be a table of kiosk id = store id")
    if not stores and not known:
        raise CentralConfigError(s.key("stores"), "list the stores (or known kiosks) to accept")
    s.done()
    return KioskRegistry(frozenset(stores), dict(known))


def _inventory(s: _Section) -> InventoryConfig:
    group = s.ident("group", "inventory")
    default = _quantity(s.key("low_stock_default"), s.get("low_stock_default", "0"))
    table = s.sub("low_stock")
    thresholds = {sku: _quantity(table.key(sku), v) for sku, v in table.data.items()}
    s.done()
    return InventoryConfig(group, default, thresholds)


def parse_config(
    text: str,
    base_dir: Path,
    env: Mapping[str, str] | None = None,
    read_file: SecretReader | None = None,
) -> CentralConfig:
    """Parse central.toml ``text``; relative paths are relative to ``base_dir``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CentralConfigError("(file)", f"not valid TOML: {exc}") from None
    root = _Section(data, "")
    reader = read_file or (lambda name: (base_dir / name).read_text(encoding="utf-8"))
    db = root.sub("database")
    database_url = _database_url(db, base_dir)
    db.done()
    m = root.sub("mqtt")
    client_id = m.text("client_id", "")
    if client_id and not _ID.fullmatch(client_id):
        raise CentralConfigError(m.key("client_id"), "must be 1-63 lowercase letters, digits, '-'")
    low = m.seconds("reconnect_min_s", 0.5, 0.01, 60)
    mqtt = MqttConfig(
        brokers=_brokers(root, base_dir),
        client_id=client_id,
        username=m.text("username", ""),
        password=_secret(m, "password", env or {}, reader),
        keepalive_s=m.integer("keepalive_s", 30, 5, 3600),
        session_expiry_s=m.integer("session_expiry_s", 7 * 24 * 3600, 60, 2**32 - 2),
        reconnect_min_s=low,
        reconnect_max_s=m.seconds("reconnect_max_s", 30.0, low, 3600),
    )
    m.done()
    c = root.sub("consumer")
    reorder = c.seconds("reorder_timeout_s", 10.0, 0.05, 3600)
    resend = c.seconds("resend_interval_s", 30.0, 0.05, 86400)
    consumer = ConsumerConfig(
        batch_size=c.integer("batch_size", 500, 1, 10000),
        batch_ms=c.integer("batch_ms", 50, 1, 10000),
        reorder_timeout_s=reorder,
        resend_interval_s=resend,
        resend_max_interval_s=c.seconds("resend_max_interval_s", 600.0, resend, 86400),
        max_payload_bytes=c.integer("max_payload_bytes", 256 * 1024, 1024, 64 * 1024 * 1024),
    )
    c.done()
    kiosks = _kiosks(root.sub("kiosks"))
    inventory = _inventory(root.sub("inventory"))
    f = root.sub("finance")
    finance = FinanceConfig(group=f.ident("group", "finance"))
    f.done()
    if inventory.group == finance.group:
        raise CentralConfigError("finance.group", "must differ from inventory.group")
    root.done()
    return CentralConfig(database_url, mqtt, consumer, kiosks, inventory, finance)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> CentralConfig:
    """Read and parse the central.toml at ``path`` (main thread, at start-up)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CentralConfigError("(file)", f"cannot read {path}: {exc}") from None
    return parse_config(text, path.resolve().parent, env)

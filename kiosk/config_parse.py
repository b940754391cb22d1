"""Parsing of the kiosk's TOML configuration into the typed ``kiosk.config.Config``.

Pure core, called once at start-up by whoever reads the file (``kiosk.app.read_config``, the
``kiosk config check`` command) through ``kiosk.config.parse_config``. ``parse_config(text, env,
read_file)`` takes the TOML text, the environment and a credentials-file reader as values. Every
problem raises ``ConfigError`` naming the dotted key and what is wrong with it, e.g.
``config key 'tax.codes.VAT13': not a rate``; an unknown key is an error too.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from kiosk.config import (
    DEVICE_KINDS,
    DEVICE_TABLES,
    LANGUAGES,
    PIN_FACTORY_NAMES,
    BarcodeConfig,
    BrokerConfig,
    CashConfig,
    Config,
    DevicesConfig,
    DeviceValue,
    KioskConfig,
    LaneConfig,
    LoyaltyConfig,
    MembersConfig,
    PathsConfig,
    PaymentsConfig,
    ReceiptConfig,
    SecretReader,
    StaffConfig,
    StoreConfig,
    TaxConfig,
    UiConfig,
    VariableMeasureLayout,
)
from kiosk.errors import ConfigError
from kiosk.money import CURRENCY_EXPONENTS, ROUNDING_MODES

T = TypeVar("T")


class _Section:
    """Reads typed values out of one TOML table, remembering which keys were used."""

    def __init__(self, name: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ConfigError(name, f"must be a table, got {type(data).__name__}")
        self.name = name
        self.data: dict[str, Any] = data
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name}.{key}" if self.name else key

    def get(self, key: str, kind: type[T], default: T) -> T:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and kind is not bool:
            raise ConfigError(self.key(key), f"must be {kind.__name__}, got a boolean")
        if not isinstance(value, kind):
            raise ConfigError(self.key(key), f"must be {kind.__name__}, got {value!r}")
        return value

    def text_list(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.get(key, list, list(default))
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(self.key(key), f"must be a list of strings, has {item!r}")
        return tuple(value)

    def choice(self, key: str, choices: tuple[str, ...] | list[str], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise ConfigError(self.key(key), f"{value!r} is not one of {', '.join(choices)}")
        return value

    def int_range(self, key: str, low: int, high: int, default: int) -> int:
        value = self.get(key, int, default)
        if not low <= value <= high:
            raise ConfigError(self.key(key), f"{value} is outside {low}..{high}")
        return value

    def pattern(self, key: str, default: str) -> str:
        value = self.get(key, str, default)
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(self.key(key), f"not a valid regular expression: {exc}") from None
        return value

    def sub(self, key: str) -> _Section:
        self.used.add(key)
        return _Section(self.key(key), self.data.get(key, {}))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key (check the spelling)")


def _identifier(section: _Section, key: str, default: str) -> str:
    value = section.get(key, str, default)
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", value):
        raise ConfigError(
            section.key(key), f"{value!r} must be 1-63 lowercase letters, digits or '-'"
        )
    return value


def _store(s: _Section) -> StoreConfig:
    d = StoreConfig()
    currency = s.get("currency", str, d.currency)
    if currency not in CURRENCY_EXPONENTS:
        raise ConfigError(s.key("currency"), f"{currency!r} is not a supported ISO 4217 code")
    tz = s.get("time_zone", str, d.time_zone)
    if not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z0-9_+-]+)*", tz):
        raise ConfigError(s.key("time_zone"), f"{tz!r} is not an IANA time zone name")
    cfg = StoreConfig(
        id=_identifier(s, "id", d.id),
        name=s.get("name", str, d.name),
        address=s.text_list("address", d.address),
        currency=currency,
        time_zone=tz,
        business_day_cutoff_hour=s.int_range(
            "business_day_cutoff_hour", 0, 23, d.business_day_cutoff_hour
        ),
    )
    s.finish()
    return cfg


def _kiosk(s: _Section, store_id: str) -> KioskConfig:
    d = KioskConfig()
    kiosk_id = _identifier(s, "id", f"{store_id}-k01")
    languages = s.text_list("languages", d.languages)
    for lang in languages:
        if lang not in LANGUAGES:
            raise ConfigError(s.key("languages"), f"{lang!r} is not one of {', '.join(LANGUAGES)}")
    if not languages:
        raise ConfigError(s.key("languages"), "needs at least one language")
    default_language = s.get("default_language", str, languages[0])
    if default_language not in languages:
        raise ConfigError(s.key("default_language"), f"{default_language!r} is not in languages")
    idle_prompt_s = _idle_seconds(s, "idle_prompt_s", d.idle_prompt_s)
    idle_suspend_s = _idle_seconds(s, "idle_suspend_s", d.idle_suspend_s)
    s.finish()
    return KioskConfig(
        id=kiosk_id,
        languages=languages,
        default_language=default_language,
        idle_prompt_s=idle_prompt_s,
        idle_suspend_s=idle_suspend_s,
    )


def _idle_seconds(s: _Section, key: str, default: float) -> float:
    """``kiosk.idle_prompt_s`` / ``kiosk.idle_suspend_s``: more than 0, less than an hour."""
    value = s.get(key, float, default)
    if not 0 < value < 3600:
        raise ConfigError(s.key(key), f"{value} must be more than 0 and less than 3600 seconds")
    return value


def _rate(section: _Section, code: str, value: Any) -> Decimal:
    key = section.key(code)
    if isinstance(value, float):
        raise ConfigError(key, 'write the rate as a string ("0.13"), never a float')
    if not isinstance(value, str):
        raise ConfigError(key, f'must be a rate string like "0.13", got {value!r}')
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise ConfigError(key, f"{value!r} is not a rate") from None
    if not rate.is_finite() or not Decimal(0) <= rate < Decimal(1):
        raise ConfigError(key, f'{value!r} must be a fraction from 0 to below 1 ("0.13")')
    return rate


def _tax(s: _Section) -> TaxConfig:
    d = TaxConfig()
    mode = s.choice("mode", ("inclusive", "exclusive"), d.mode)
    rounding = s.choice("rounding", ("per_line", "per_total"), d.rounding)
    codes_section = s.sub("codes")
    codes = (
        {code: _rate(codes_section, code, v) for code, v in codes_section.data.items()}
        if codes_section.data
        else dict(d.codes)
    )
    cfg = TaxConfig(
        mode=mode,  # type: ignore[arg-type]
        rounding=rounding,  # type: ignore[arg-type]
        rounding_mode=s.choice("rounding_mode", tuple(ROUNDING_MODES), d.rounding_mode),
        codes=codes,
    )
    s.finish()
    return cfg


def _cash(s: _Section) -> CashConfig:
    d = CashConfig()
    cfg = CashConfig(
        rounding_increment=s.int_range("rounding_increment", 1, 100_000, d.rounding_increment),
        rounding_mode=s.choice("rounding_mode", tuple(ROUNDING_MODES), d.rounding_mode),
        max_tendered=s.int_range("max_tendered", 1, 10**12, d.max_tendered),
    )
    s.finish()
    return cfg


def _layout(s: _Section) -> VariableMeasureLayout:
    prefix = s.get("prefix", str, "")
    if not re.fullmatch(r"2[0-9]", prefix):
        raise ConfigError(s.key("prefix"), f"{prefix!r} must be a GS1 prefix from 20 to 29")
    layout = VariableMeasureLayout(
        prefix=prefix,
        kind=s.choice("kind", ("price", "weight"), "price"),  # type: ignore[arg-type]
        item_start=s.int_range("item_start", 2, 11, 2),
        item_length=s.int_range("item_length", 1, 10, 5),
        value_start=s.int_range("value_start", 2, 11, 7),
        value_length=s.int_range("value_length", 1, 10, 5),
        decimals=s.int_range("decimals", 0, 4, 3),
    )
    if layout.item_start + layout.item_length > 12 or layout.value_start + layout.value_length > 12:
        raise ConfigError(s.name, "item and value must end before the check digit (position 12)")
    s.finish()
    return layout


def _barcodes(s: _Section) -> BarcodeConfig:
    d = BarcodeConfig()
    layouts_raw: list[Any] = s.get("variable_measure", list, [])
    layouts = d.variable_measure
    if "variable_measure" in s.data:
        layouts = tuple(
            _layout(_Section(f"{s.key('variable_measure')}[{i}]", item))
            for i, item in enumerate(layouts_raw)
        )
        prefixes = [layout.prefix for layout in layouts]
        if len(set(prefixes)) != len(prefixes):
            raise ConfigError(s.key("variable_measure"), "a prefix is listed twice")
    cfg = BarcodeConfig(
        max_length=s.int_range("max_length", 8, 4096, d.max_length),
        variable_measure=layouts,
        staff_badge=s.pattern("staff_badge", d.staff_badge),
        member=s.pattern("member", d.member),
        coupon=s.pattern("coupon", d.coupon),
        wallet=s.pattern("wallet", d.wallet),
        receipt=s.pattern("receipt", d.receipt),
    )
    s.finish()
    return cfg


def _lane(s: _Section) -> LaneConfig:
    d = LaneConfig()
    cfg = LaneConfig(
        remove_line_needs_attendant=s.get(
            "remove_line_needs_attendant", bool, d.remove_line_needs_attendant
        ),
        max_quantity_per_line=s.int_range(
            "max_quantity_per_line", 1, 9999, d.max_quantity_per_line
        ),
        age_check_once_per_sale=s.get("age_check_once_per_sale", bool, d.age_check_once_per_sale),
        idle_timeout_s=s.int_range("idle_timeout_s", 10, 3600, d.idle_timeout_s),
    )
    s.finish()
    return cfg


def _staff(s: _Section) -> StaffConfig:
    d = StaffConfig()
    cfg = StaffConfig(
        max_failures=s.int_range("max_failures", 1, 100, d.max_failures),
        lockout_s=s.int_range("lockout_s", 1, 86_400, d.lockout_s),
        pin_min_length=s.int_range("pin_min_length", 4, 16, d.pin_min_length),
    )
    s.finish()
    return cfg


def _payments(s: _Section) -> PaymentsConfig:
    d = PaymentsConfig()
    methods = s.text_list("methods", d.methods)
    for method in methods:
        if method not in ("card", "wallet", "cash"):
            raise ConfigError(s.key("methods"), f"{method!r} is not one of card, wallet, cash")
    timeout = s.get("terminal_timeout_s", float, d.terminal_timeout_s)
    if not 0 < timeout <= 600:
        raise ConfigError(s.key("terminal_timeout_s"), f"{timeout} is outside 0..600 seconds")
    cfg = PaymentsConfig(
        methods=methods,
        card_terminal=s.choice("card_terminal", ("sim",), d.card_terminal),
        wallet_gateway=s.choice("wallet_gateway", ("sim",), d.wallet_gateway),
        terminal_timeout_s=timeout,
    )
    s.finish()
    return cfg


def _scanners(s: _Section) -> tuple[str, ...]:
    """``scanners = ["serial", "hid"]``, or the shorthand ``scanner = "serial"``."""
    kinds = DEVICE_KINDS["scanner"]
    if "scanners" not in s.data:
        return (s.choice("scanner", kinds, DevicesConfig.scanners[0]),)
    if "scanner" in s.data:
        raise ConfigError(s.key("scanner"), "give either scanner or scanners, not both")
    scanners = s.text_list("scanners", ())
    if not scanners:
        raise ConfigError(s.key("scanners"), "needs at least one scanner")
    for kind in scanners:
        if kind not in kinds:
            raise ConfigError(s.key("scanners"), f"{kind!r} is not one of {', '.join(kinds)}")
        if scanners.count(kind) > 1:
            raise ConfigError(s.key("scanners"), f"{kind!r} is listed twice (one per kind)")
    return scanners


def _device_table(s: _Section) -> dict[str, DeviceValue]:
    """An adapter's settings table: scalars or lists of scalars, checked further by the
    composition root against the adapter's settings (``kiosk.app.device_settings``)."""
    table: dict[str, DeviceValue] = {}
    for key, value in s.data.items():
        s.used.add(key)
        if isinstance(value, list):
            bad = [item for item in value if not isinstance(item, str | int | float | bool)]
            if bad:
                raise ConfigError(
                    s.key(key), f"a list of strings, numbers or booleans, has {bad[0]!r}"
                )
            table[key] = tuple(value)
        elif isinstance(value, str | int | float | bool):
            table[key] = value
        else:
            raise ConfigError(
                s.key(key), f"must be a string, number or boolean (or a list), got {value!r}"
            )
    return table


def _raw_table(s: _Section) -> dict[str, Any]:
    """A table whose keys an adapter validates (``[sync]``): only its shape is checked here."""
    s.used.update(s.data)
    return dict(s.data)


def _devices(s: _Section) -> DevicesConfig:
    d = DevicesConfig()
    printer = s.choice("printer", DEVICE_KINDS["printer"], d.printer)
    drawer = s.choice("drawer", DEVICE_KINDS["drawer"], d.drawer)
    light = s.choice("light", DEVICE_KINDS["light"], d.light)
    scanners = _scanners(s)
    pin_factory = s.get("pin_factory", str, d.pin_factory)
    if pin_factory and pin_factory not in PIN_FACTORY_NAMES:
        raise ConfigError(
            s.key("pin_factory"), f"{pin_factory!r} is not one of {', '.join(PIN_FACTORY_NAMES)}"
        )
    gpio = [role for role, kind in (("drawer", drawer), ("light", light)) if kind == "gpio"]
    if gpio and not pin_factory:
        raise ConfigError(
            s.key("pin_factory"),
            f'{gpio[0]} = "gpio" needs a pin factory: "lgpio" on a Raspberry Pi 5, '
            f'"rpigpio" on a Pi 4 or older, "mock" for simulated pins',
        )
    if drawer == "printer" and printer != "escpos":
        raise ConfigError(
            s.key("drawer"),
            '"printer" kicks the drawer through the receipt printer\'s drawer port and needs '
            'printer = "escpos"',
        )
    tables = {name: _device_table(s.sub(name)) for name in DEVICE_TABLES}
    cfg = DevicesConfig(
        printer=printer,
        drawer=drawer,
        light=light,
        scanners=scanners,
        pin_factory=pin_factory,
        **tables,
    )
    s.finish()
    return cfg


def _secret(s: _Section, key: str, env: Mapping[str, str], read_file: SecretReader | None) -> str:
    """A secret is given inline, or (better) as ``<key>_env`` naming an environment variable, or
    ``<key>_file`` naming a credentials file (read by the caller-supplied ``read_file``)."""
    env_key, file_key = f"{key}_env", f"{key}_file"
    given = [k for k in (key, env_key, file_key) if k in s.data]
    if len(given) > 1:
        raise ConfigError(s.key(given[1]), f"give only one of {key}, {env_key}, {file_key}")
    env_name = s.get(env_key, str, "")
    if env_name:
        if env_name not in env:
            raise ConfigError(s.key(env_key), f"environment variable {env_name} is not set")
        return env[env_name]
    file_name = s.get(file_key, str, "")
    if file_name:
        if read_file is None:
            raise ConfigError(s.key(file_key), "credentials files cannot be read here")
        try:
            return read_file(file_name).strip()
        except OSError as exc:
            raise ConfigError(s.key(file_key), f"cannot read {file_name}: {exc}") from None
    return s.get(key, str, "")


def _broker(s: _Section, env: Mapping[str, str], read_file: SecretReader | None) -> BrokerConfig:
    d = BrokerConfig()
    cfg = BrokerConfig(
        host=s.get("host", str, d.host),
        port=s.int_range("port", 1, 65535, d.port),
        tls=s.get("tls", bool, d.tls),
        username=s.get("username", str, d.username),
        password=_secret(s, "password", env, read_file),
    )
    s.finish()
    return cfg


def _members(s: _Section, env: Mapping[str, str], read_file: SecretReader | None) -> MembersConfig:
    key = _secret(s, "phone_key", env, read_file)
    if key and len(key.encode()) < 16:
        raise ConfigError(s.key("phone_key"), "must be at least 16 bytes long")
    s.finish()
    return MembersConfig(phone_key=key)


def _multiplier(section: _Section, level: str, value: Any) -> Decimal:
    key = section.key(level)
    if isinstance(value, float):
        raise ConfigError(key, 'write the multiplier as a string ("1.5"), never a float')
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(key, f'must be a multiplier string like "1.5", got {value!r}')
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ConfigError(key, f"{value!r} is not a number") from None
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(100):
        raise ConfigError(key, f"{value!r} must be from 0 to 100")
    return number


def _loyalty(s: _Section) -> LoyaltyConfig:
    d = LoyaltyConfig()
    big = 10**12
    levels = s.sub("levels")
    levels.used.update(levels.data)
    cfg = LoyaltyConfig(
        enabled=s.get("enabled", bool, d.enabled),
        earn_points=s.int_range("earn_points", 0, 1_000_000, d.earn_points),
        earn_per=s.int_range("earn_per", 1, big, d.earn_per),
        earn_rounding=s.choice("earn_rounding", ("down", "half_up"), d.earn_rounding),
        exclude_tax=s.get("exclude_tax", bool, d.exclude_tax),
        exclude_stored_value=s.get("exclude_stored_value", bool, d.exclude_stored_value),
        redeem_points=s.int_range("redeem_points", 1, 1_000_000, d.redeem_points),
        redeem_value=s.int_range("redeem_value", 1, 1_000_000, d.redeem_value),
        max_points_per_sale=s.int_range("max_points_per_sale", 0, big, d.max_points_per_sale),
        max_points_per_day=s.int_range("max_points_per_day", 0, big, d.max_points_per_day),
        max_stored_value_per_sale=s.int_range(
            "max_stored_value_per_sale", 0, big, d.max_stored_value_per_sale
        ),
        max_stored_value_per_day=s.int_range(
            "max_stored_value_per_day", 0, big, d.max_stored_value_per_day
        ),
        levels={name: _multiplier(levels, name, value) for name, value in levels.data.items()},
    )
    s.finish()
    return cfg


def _paths(s: _Section) -> PathsConfig:
    data_dir = s.get("data_dir", str, PathsConfig.data_dir)
    cfg = PathsConfig(
        data_dir=data_dir,
        db=s.get("db", str, f"{data_dir}/kiosk.db"),
        backups=s.get("backups", str, f"{data_dir}/backups"),
        receipts=s.get("receipts", str, f"{data_dir}/receipts"),
        log_dir=s.get("log_dir", str, f"{data_dir}/log"),
        pictures=s.get("pictures", str, f"{data_dir}/pictures"),
    )
    s.finish()
    return cfg


def _receipt(s: _Section, languages: tuple[str, ...]) -> ReceiptConfig:
    d = ReceiptConfig()
    width = s.get("width", int, d.width)
    if width not in (32, 42, 48):
        raise ConfigError(s.key("width"), f"{width} must be 32, 42 or 48 columns")
    language = s.get("language", str, d.language)
    if language and language not in languages:
        raise ConfigError(s.key("language"), f"{language!r} is not in kiosk.languages")
    cfg = ReceiptConfig(
        width=width,
        header=s.text_list("header", d.header),
        footer=s.text_list("footer", d.footer),
        language=language,
    )
    s.finish()
    return cfg


FONT_SUFFIXES = (".ttf", ".otf", ".ttc")


def _ui(s: _Section) -> UiConfig:
    d = UiConfig()
    font = s.get("font", str, d.font)
    if font and not (font.startswith("/") and font.lower().endswith(FONT_SUFFIXES)):
        raise ConfigError(
            s.key("font"), f"{font!r} is not an absolute path of a {'/'.join(FONT_SUFFIXES)} file"
        )
    after = s.get("attract_after_receipt_s", float, d.attract_after_receipt_s)
    if not 5 <= after <= 600:
        raise ConfigError(s.key("attract_after_receipt_s"), f"{after:g} is outside 5..600 seconds")
    cfg = UiConfig(
        font=font,
        high_contrast=s.get("high_contrast", bool, d.high_contrast),
        attract_after_receipt_s=after,
    )
    s.finish()
    return cfg


def parse_config(
    text: str, env: Mapping[str, str] | None = None, read_file: SecretReader | None = None
) -> Config:
    """Parse and validate TOML ``text``; ``env`` supplies secrets named by ``*_env`` keys and
    ``read_file`` reads credentials files named by ``*_file`` keys."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", f"not valid TOML: {exc}") from None
    env = env or {}
    root = _Section("", data)
    store = _store(root.sub("store"))
    kiosk = _kiosk(root.sub("kiosk"), store.id)
    if not kiosk.id.startswith(f"{store.id}-"):
        raise ConfigError("kiosk.id", f"{kiosk.id!r} must start with the store id '{store.id}-'")
    config = Config(
        store=store,
        kiosk=kiosk,
        tax=_tax(root.sub("tax")),
        cash=_cash(root.sub("cash")),
        barcodes=_barcodes(root.sub("barcodes")),
        lane=_lane(root.sub("lane")),
        staff=_staff(root.sub("staff")),
        payments=_payments(root.sub("payments")),
        devices=_devices(root.sub("devices")),
        broker=_broker(root.sub("broker"), env, read_file),
        members=_members(root.sub("members"), env, read_file),
        loyalty=_loyalty(root.sub("loyalty")),
        paths=_paths(root.sub("paths")),
        receipt=_receipt(root.sub("receipt"), kiosk.languages),
        ui=_ui(root.sub("ui")),
        sync=_raw_table(root.sub("sync")),
    )
    root.finish()
    return config

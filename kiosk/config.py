"""Typed kiosk configuration: the frozen dataclasses, their defaults, and ``parse_config``.

Pure core. The values are read once at start-up and then only read, from any thread.
``parse_config(text, env, read_file)`` takes the TOML text, the environment and a
credentials-file reader as values; the caller (``kiosk.app`` or the CLI) reads the file. The
parsing itself lives in ``kiosk.config_parse``; every problem raises ``ConfigError`` naming the
dotted key and what is wrong with it, e.g. ``config key 'tax.codes.VAT13': not a rate``.

docs/configuration.md documents every key; ``kiosk/demo/kiosk.toml`` is a complete example.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from kiosk.errors import ConfigError

__all__ = [
    "DEVICE_KINDS",
    "DEVICE_TABLES",
    "LANGUAGES",
    "PIN_FACTORY_NAMES",
    "BarcodeConfig",
    "BrokerConfig",
    "CashConfig",
    "Config",
    "ConfigError",
    "DeviceScalar",
    "DeviceValue",
    "DevicesConfig",
    "KioskConfig",
    "LaneConfig",
    "LoyaltyConfig",
    "MembersConfig",
    "PathsConfig",
    "PaymentsConfig",
    "ReceiptConfig",
    "SecretReader",
    "StaffConfig",
    "StoreConfig",
    "TaxConfig",
    "UiConfig",
    "VariableMeasureLayout",
    "parse_config",
]

# Reads a credentials file named by a ``<key>_file`` setting and returns its text.
SecretReader = Callable[[str], str]

LANGUAGES = ("zh_CN", "en", "zh_TW", "ja", "ko", "de", "fr", "es")


@dataclass(frozen=True)
class StoreConfig:
    id: str = "s0001"
    name: str = "Demo Store"
    address: tuple[str, ...] = ()
    currency: str = "CNY"
    time_zone: str = "Asia/Shanghai"
    business_day_cutoff_hour: int = 4


@dataclass(frozen=True)
class KioskConfig:
    id: str = "s0001-k01"
    languages: tuple[str, ...] = ("zh_CN", "en")
    default_language: str = "zh_CN"
    # An abandoned basket (kiosk.lane_idle): prompt the customer after this long without
    # input, then suspend the sale for an attendant this long after the prompt.
    idle_prompt_s: float = 60.0
    idle_suspend_s: float = 30.0


@dataclass(frozen=True)
class TaxConfig:
    mode: Literal["inclusive", "exclusive"] = "inclusive"
    rounding: Literal["per_line", "per_total"] = "per_line"
    rounding_mode: str = "half_up"
    codes: Mapping[str, Decimal] = field(
        default_factory=lambda: {"VAT13": Decimal("0.13"), "VAT9": Decimal("0.09")}
    )


@dataclass(frozen=True)
class CashConfig:
    rounding_increment: int = 1  # minor units; 10 = 0.10 CNY, 5 = 0.05 CHF
    rounding_mode: str = "half_up"
    max_tendered: int = 1_000_000  # minor units; larger amounts are typing mistakes


@dataclass(frozen=True)
class VariableMeasureLayout:
    """GS1 variable-measure (restricted circulation, prefix 20-29) EAN-13 layout.

    Positions are 0-based into the 13 digits. ``kind`` says whether the value is the price
    (in minor units) or the weight (in units of 10**-decimals kg).
    """

    prefix: str
    kind: Literal["price", "weight"]
    item_start: int = 2
    item_length: int = 5
    value_start: int = 7
    value_length: int = 5
    decimals: int = 3


@dataclass(frozen=True)
class BarcodeConfig:
    max_length: int = 128
    variable_measure: tuple[VariableMeasureLayout, ...] = (
        VariableMeasureLayout(prefix="20", kind="price"),
        VariableMeasureLayout(prefix="21", kind="weight"),
        VariableMeasureLayout(prefix="22", kind="weight"),
    )
    staff_badge: str = r"^ST\d{4,8}$"
    member: str = r"^M\d{6,10}$"
    coupon: str = r"^CP[A-Z0-9]{4,16}$"
    # WeChat Pay (18 digits starting 10-15) and Alipay (16-24 digits starting 25-30) codes.
    wallet: str = r"^(1[0-5]\d{16}|(2[5-9]|30)\d{14,22})$"
    receipt: str = r"^R[A-Za-z0-9-]+-\d+$"


@dataclass(frozen=True)
class LaneConfig:
    remove_line_needs_attendant: bool = True
    max_quantity_per_line: int = 99
    age_check_once_per_sale: bool = True
    idle_timeout_s: int = 120


@dataclass(frozen=True)
class StaffConfig:
    max_failures: int = 5
    lockout_s: int = 300
    pin_min_length: int = 4


@dataclass(frozen=True)
class PaymentsConfig:
    methods: tuple[str, ...] = ("card", "wallet", "cash")
    card_terminal: str = "sim"
    wallet_gateway: str = "sim"
    terminal_timeout_s: float = 60.0


# A device setting as TOML gives it: a scalar, or a list of scalars (HID allow-lists).
DeviceScalar = str | int | float | bool
DeviceValue = DeviceScalar | tuple[DeviceScalar, ...]

# The adapter kinds each device may be; "fake" is the drivable simulation of kiosk.hw.fake.
DEVICE_KINDS: Mapping[str, tuple[str, ...]] = {
    "printer": ("fake", "escpos"),
    "drawer": ("fake", "gpio", "printer"),
    "light": ("fake", "gpio"),
    "scanner": ("fake", "serial", "hid"),
}
# The per-adapter settings tables under [devices]; their keys are the fields of the adapter's
# settings dataclass, checked by kiosk.app (the core keeps them as tables of scalars).
DEVICE_TABLES: tuple[str, ...] = (
    "escpos_printer",
    "gpio_drawer",
    "gpio_light",
    "serial_scanner",
    "hid_scanner",
    "printer_drawer",
)
PIN_FACTORY_NAMES: tuple[str, ...] = ("mock", "rpigpio", "lgpio")


@dataclass(frozen=True)
class DevicesConfig:
    """Which adapter drives each device, and each adapter's settings table (raw TOML values).

    ``scanners`` lists scanner kinds, one scanner per kind (a lane may have a hand scanner and
    a bioptic). ``pin_factory`` is the gpiozero backend; empty when no device uses GPIO."""

    printer: str = "fake"
    drawer: str = "fake"
    light: str = "fake"
    scanners: tuple[str, ...] = ("fake",)
    pin_factory: str = ""
    escpos_printer: Mapping[str, DeviceValue] = field(default_factory=dict)
    gpio_drawer: Mapping[str, DeviceValue] = field(default_factory=dict)
    gpio_light: Mapping[str, DeviceValue] = field(default_factory=dict)
    serial_scanner: Mapping[str, DeviceValue] = field(default_factory=dict)
    hid_scanner: Mapping[str, DeviceValue] = field(default_factory=dict)
    printer_drawer: Mapping[str, DeviceValue] = field(default_factory=dict)

    def table(self, name: str) -> Mapping[str, DeviceValue]:
        """The settings table ``name`` (one of ``DEVICE_TABLES``), empty when not given."""
        if name not in DEVICE_TABLES:
            raise ValueError(f"{name!r} is not a device settings table")
        table: Mapping[str, DeviceValue] = getattr(self, name)
        return table

    @property
    def uses_gpio(self) -> bool:
        return "gpio" in (self.drawer, self.light)


@dataclass(frozen=True)
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    username: str = ""
    password: str = ""


@dataclass(frozen=True)
class MembersConfig:
    # Secret key for the keyed hash (HMAC-SHA256) under which phone numbers are looked up.
    phone_key: str = ""


@dataclass(frozen=True)
class LoyaltyConfig:
    """Member points and stored value (``kiosk.loyalty``; docs/loyalty.md). Amounts are minor
    units. ``levels`` maps a member level to its earning multiplier (unlisted levels: 1)."""

    enabled: bool = True
    earn_points: int = 1  # points earned ...
    earn_per: int = 100  # ... per this many minor units spent
    earn_rounding: str = "down"  # down or half_up, once per sale
    exclude_tax: bool = True  # earn on the amount without tax
    exclude_stored_value: bool = True  # what stored value paid earns nothing
    redeem_points: int = 100  # this many points ...
    redeem_value: int = 100  # ... pay this many minor units
    max_points_per_sale: int = 10_000
    max_points_per_day: int = 20_000
    max_stored_value_per_sale: int = 50_000  # minor units
    max_stored_value_per_day: int = 100_000  # minor units
    levels: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class PathsConfig:
    data_dir: str = "var/kiosk"
    db: str = "var/kiosk/kiosk.db"
    backups: str = "var/kiosk/backups"
    receipts: str = "var/kiosk/receipts"
    log_dir: str = "var/kiosk/log"
    pictures: str = "var/kiosk/pictures"  # category pictures (catalog ``category_picture``)


@dataclass(frozen=True)
class ReceiptConfig:
    width: int = 42
    header: tuple[str, ...] = ()
    footer: tuple[str, ...] = ("Thank you / 谢谢惠顾",)
    language: str = ""  # empty: the customer's language


@dataclass(frozen=True)
class UiConfig:
    """The touchscreen (``kiosk run``; ``--font`` and ``--high-contrast`` override)."""

    font: str = ""  # a font file with CJK glyphs; empty: Noto Sans CJK (fonts-noto-cjk)
    high_contrast: bool = False
    attract_after_receipt_s: float = 30.0  # receipt screen -> next customer (QR: 3 times)


@dataclass(frozen=True)
class Config:
    store: StoreConfig = field(default_factory=StoreConfig)
    kiosk: KioskConfig = field(default_factory=KioskConfig)
    tax: TaxConfig = field(default_factory=TaxConfig)
    cash: CashConfig = field(default_factory=CashConfig)
    barcodes: BarcodeConfig = field(default_factory=BarcodeConfig)
    lane: LaneConfig = field(default_factory=LaneConfig)
    staff: StaffConfig = field(default_factory=StaffConfig)
    payments: PaymentsConfig = field(default_factory=PaymentsConfig)
    devices: DevicesConfig = field(default_factory=DevicesConfig)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    members: MembersConfig = field(default_factory=MembersConfig)
    loyalty: LoyaltyConfig = field(default_factory=LoyaltyConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    receipt: ReceiptConfig = field(default_factory=ReceiptConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    # The raw [sync] table: `kiosk sync` validates it into kiosk.sync.settings.SyncSettings
    # (and `kiosk config check` does too), because its keys belong to that adapter.
    sync: Mapping[str, Any] = field(default_factory=dict)


def parse_config(
    text: str, env: Mapping[str, str] | None = None, read_file: SecretReader | None = None
) -> Config:
    """Parse and validate TOML ``text``; ``env`` supplies secrets named by ``*_env`` keys and
    ``read_file`` reads credentials files named by ``*_file`` keys. Raises ``ConfigError``.

    The work is done by ``kiosk.config_parse.parse_config``, imported here at call time because
    that module imports this one's dataclasses.
    """
    from kiosk.config_parse import parse_config as parse

    return parse(text, env, read_file)

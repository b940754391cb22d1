"""kiosk.config.parse_config (and kiosk.app.read_config for files): every section's validation
names the dotted key and why; defaults; secrets from env vars and files; the shipped demo
config."""

from __future__ import annotations

import dataclasses
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from kiosk.app import DeviceSettings, device_settings, read_config, time_zone
from kiosk.config import (
    DEVICE_TABLES,
    BarcodeConfig,
    Config,
    KioskConfig,
    PathsConfig,
    StoreConfig,
    VariableMeasureLayout,
    parse_config,
)
from kiosk.errors import ConfigError

KEY = "k" * 32  # a member phone key long enough


def error_for(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env or {})
    return caught.value


def demo_text() -> str:
    return (resources.files("kiosk") / "demo" / "kiosk.toml").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ unknown keys
def test_unknown_key_message_names_the_dotted_key() -> None:
    exc = error_for('[tax]\ncodez = "x"\n')
    assert exc.key == "tax.codez"
    assert str(exc).startswith("config key 'tax.codez': unknown key")


@pytest.mark.parametrize(
    "section",
    [
        "store",
        "kiosk",
        "tax",
        "cash",
        "barcodes",
        "lane",
        "staff",
        "payments",
        "devices",
        "broker",
        "members",
        "paths",
        "receipt",
    ],
)
def test_unknown_key_is_refused_in_every_section(section: str) -> None:
    exc = error_for(f"[{section}]\nspeling = 1\n")
    assert exc.key == f"{section}.speling"
    assert "unknown key" in exc.problem


def test_unknown_top_level_section_is_refused() -> None:
    exc = error_for("[stores]\nid = 's0001'\n")
    assert exc.key == "stores"
    assert "unknown key" in exc.problem


def test_unknown_key_in_a_variable_measure_layout_names_its_index() -> None:
    text = (
        "[[barcodes.variable_measure]]\nprefix = '20'\nkind = 'price'\n"
        "[[barcodes.variable_measure]]\nprefix = '21'\nkind = 'weight'\ndecimalz = 3\n"
    )
    exc = error_for(text)
    assert exc.key == "barcodes.variable_measure[1].decimalz"


def test_section_that_is_not_a_table_is_refused() -> None:
    exc = error_for("store = 5\n")
    assert exc.key == "store"
    assert "must be a table" in exc.problem


def test_text_that_is_not_toml_is_refused() -> None:
    exc = error_for("[store\nid = 1\n")
    assert exc.key == "(file)"
    assert "not valid TOML" in exc.problem


# ------------------------------------------------------------------------------ types
@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[store]\nname = 5", "store.name", "must be str, got 5"),
        ("[store]\naddress = 'one line'", "store.address", "must be list"),
        ("[store]\naddress = ['a', 2]", "store.address", "list of strings"),
        ("[store]\ncurrency = 156", "store.currency", "must be str"),
        ("[kiosk]\nlanguages = 'en'", "kiosk.languages", "must be list"),
        ("[tax]\nmode = 1", "tax.mode", "must be str"),
        ("[tax]\nmode = 'included'", "tax.mode", "not one of inclusive, exclusive"),
        ("[tax]\nrounding = 'per_item'", "tax.rounding", "not one of per_line, per_total"),
        ("[tax]\nrounding_mode = 'bankers'", "tax.rounding_mode", "not one of"),
        ("[tax]\ncodes = 'VAT13'", "tax.codes", "must be a table"),
        ("[cash]\nrounding_increment = '10'", "cash.rounding_increment", "must be int"),
        ("[cash]\nmax_tendered = 1.5", "cash.max_tendered", "must be int"),
        ("[barcodes]\nmember = 5", "barcodes.member", "must be str"),
        ("[barcodes]\nmember = '^M(\\d+$'", "barcodes.member", "not a valid regular expression"),
        ("[barcodes]\nvariable_measure = 'x'", "barcodes.variable_measure", "must be list"),
        ("[lane]\nremove_line_needs_attendant = 'yes'", "lane.remove_line_needs_attendant", "bool"),
        ("[lane]\nmax_quantity_per_line = true", "lane.max_quantity_per_line", "a boolean"),
        ("[staff]\nlockout_s = '300'", "staff.lockout_s", "must be int"),
        ("[payments]\nmethods = 'card'", "payments.methods", "must be list"),
        ("[payments]\nmethods = ['card', 'cheque']", "payments.methods", "'cheque' is not one"),
        ("[payments]\nterminal_timeout_s = '60'", "payments.terminal_timeout_s", "float"),
        ("[payments]\ncard_terminal = 'ingenico'", "payments.card_terminal", "not one of sim"),
        ("[devices]\nprinter = 'epson'", "devices.printer", "not one of fake"),
        ("[broker]\nport = '1883'", "broker.port", "must be int"),
        ("[broker]\ntls = 1", "broker.tls", "must be bool"),
        ("[members]\nphone_key = 12345", "members.phone_key", "must be str"),
        ("[paths]\ndb = 1", "paths.db", "must be str"),
        ("[receipt]\nwidth = '42'", "receipt.width", "must be int"),
        ("[receipt]\nheader = 'Tel 1'", "receipt.header", "must be list"),
    ],
)
def test_wrong_type_names_key_and_problem(text: str, key: str, problem: str) -> None:
    exc = error_for(text + "\n")
    assert exc.key == key
    assert problem in exc.problem


def test_integer_is_accepted_where_a_float_is_expected() -> None:
    config = parse_config("[payments]\nterminal_timeout_s = 30\n")
    assert config.payments.terminal_timeout_s == 30.0
    assert isinstance(config.payments.terminal_timeout_s, float)


# ------------------------------------------------------------------------------ ranges
@pytest.mark.parametrize(
    ("section", "key", "value", "bounds"),
    [
        ("store", "business_day_cutoff_hour", 24, "0..23"),
        ("store", "business_day_cutoff_hour", -1, "0..23"),
        ("cash", "rounding_increment", 0, "1..100000"),
        ("cash", "max_tendered", 0, "1..1000000000000"),
        ("barcodes", "max_length", 7, "8..4096"),
        ("lane", "max_quantity_per_line", 0, "1..9999"),
        ("lane", "max_quantity_per_line", 10_000, "1..9999"),
        ("lane", "idle_timeout_s", 9, "10..3600"),
        ("staff", "max_failures", 0, "1..100"),
        ("staff", "lockout_s", 86_401, "1..86400"),
        ("staff", "pin_min_length", 3, "4..16"),
        ("broker", "port", 0, "1..65535"),
        ("broker", "port", 65_536, "1..65535"),
    ],
)
def test_out_of_range_int_names_key_and_bounds(
    section: str, key: str, value: int, bounds: str
) -> None:
    exc = error_for(f"[{section}]\n{key} = {value}\n")
    assert exc.key == f"{section}.{key}"
    assert exc.problem == f"{value} is outside {bounds}"


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("store", "business_day_cutoff_hour", 0),
        ("store", "business_day_cutoff_hour", 23),
        ("lane", "max_quantity_per_line", 9999),
        ("staff", "pin_min_length", 16),
        ("broker", "port", 65_535),
    ],
)
def test_range_limits_are_accepted(section: str, key: str, value: int) -> None:
    config = parse_config(f"[{section}]\n{key} = {value}\n")
    assert getattr(getattr(config, section), key) == value


@pytest.mark.parametrize("timeout", ["0", "-1.0", "600.5", "nan", "inf"])
def test_terminal_timeout_outside_zero_to_600_is_refused(timeout: str) -> None:
    exc = error_for(f"[payments]\nterminal_timeout_s = {timeout}\n")
    assert exc.key == "payments.terminal_timeout_s"
    assert "outside 0..600 seconds" in exc.problem


# ------------------------------------------------------------------------------ store / kiosk
@pytest.mark.parametrize("currency", ["XXX", "cny", "RMB", ""])
def test_unsupported_currency_is_refused(currency: str) -> None:
    exc = error_for(f'[store]\ncurrency = "{currency}"\n')
    assert exc.key == "store.currency"
    assert "not a supported ISO 4217 code" in exc.problem


def test_supported_currency_is_accepted() -> None:
    assert parse_config('[store]\ncurrency = "EUR"\n').store.currency == "EUR"


@pytest.mark.parametrize("tz", ["Asia Shanghai", "../etc/passwd", "", "Europe/Zürich"])
def test_time_zone_that_is_not_an_iana_name_is_refused(tz: str) -> None:
    exc = error_for(f'[store]\ntime_zone = "{tz}"\n')
    assert exc.key == "store.time_zone"
    assert "not an IANA time zone name" in exc.problem


def test_well_formed_but_unknown_time_zone_is_refused_when_looked_up() -> None:
    config = parse_config('[store]\ntime_zone = "Mars/Olympus_Mons"\n')
    with pytest.raises(ConfigError) as caught:
        time_zone(config)
    assert caught.value.key == "store.time_zone"
    assert "'Mars/Olympus_Mons' is not in the time zone database" in caught.value.problem


def test_known_time_zone_is_looked_up() -> None:
    config = parse_config('[store]\ntime_zone = "Europe/Zurich"\n')
    assert time_zone(config).key == "Europe/Zurich"


@pytest.mark.parametrize("store_id", ["S0001", "-s1", "s_1", "", "s" * 64])
def test_store_id_that_is_not_a_lowercase_identifier_is_refused(store_id: str) -> None:
    exc = error_for(f'[store]\nid = "{store_id}"\n')
    assert exc.key == "store.id"
    assert "lowercase letters, digits or '-'" in exc.problem


@pytest.mark.parametrize("kiosk_id", ["s0001-k01", "s0001", "s00011-k01", "x-k01"])
def test_kiosk_id_not_starting_with_store_id_and_dash_is_refused(kiosk_id: str) -> None:
    text = f'[store]\nid = "s0002"\n[kiosk]\nid = "{kiosk_id}"\n'
    exc = error_for(text)
    assert exc.key == "kiosk.id"
    assert "must start with the store id 's0002-'" in exc.problem


def test_kiosk_id_defaults_from_the_store_id() -> None:
    assert parse_config('[store]\nid = "s0042"\n').kiosk.id == "s0042-k01"


def test_default_language_not_in_languages_is_refused() -> None:
    exc = error_for('[kiosk]\nlanguages = ["zh_CN", "en"]\ndefault_language = "ja"\n')
    assert exc.key == "kiosk.default_language"
    assert exc.problem == "'ja' is not in languages"


def test_default_language_defaults_to_the_first_language() -> None:
    config = parse_config('[kiosk]\nlanguages = ["en", "zh_CN"]\n')
    assert config.kiosk.default_language == "en"


def test_unknown_language_is_refused() -> None:
    exc = error_for('[kiosk]\nlanguages = ["en", "xx"]\n')
    assert exc.key == "kiosk.languages"
    assert "'xx' is not one of" in exc.problem


def test_empty_language_list_is_refused() -> None:
    exc = error_for("[kiosk]\nlanguages = []\n")
    assert exc.key == "kiosk.languages"
    assert "at least one language" in exc.problem


# ------------------------------------------------------------------------------ tax
def test_rate_written_as_float_is_refused() -> None:
    exc = error_for("[tax.codes]\nVAT13 = 0.13\n")
    assert exc.key == "tax.codes.VAT13"
    assert "never a float" in exc.problem


@pytest.mark.parametrize("rate", ["1", "1.0", "1.5", "13", "-0.01", "NaN", "Infinity"])
def test_rate_outside_zero_to_below_one_is_refused(rate: str) -> None:
    exc = error_for(f'[tax.codes]\nVAT = "{rate}"\n')
    assert exc.key == "tax.codes.VAT"
    assert "must be a fraction from 0 to below 1" in exc.problem


@pytest.mark.parametrize(("value", "problem"), [('"13%"', "is not a rate"), ("13", "rate string")])
def test_rate_that_is_not_a_decimal_string_is_refused(value: str, problem: str) -> None:
    exc = error_for(f"[tax.codes]\nVAT = {value}\n")
    assert exc.key == "tax.codes.VAT"
    assert problem in exc.problem


def test_rates_are_exact_decimals_and_replace_the_default_codes() -> None:
    config = parse_config('[tax.codes]\nZERO = "0"\nSTD = "0.999"\nUS = "0.08875"\n')
    assert config.tax.codes == {
        "ZERO": Decimal(0),
        "STD": Decimal("0.999"),
        "US": Decimal("0.08875"),
    }


# ------------------------------------------------------------------------------ barcodes
LAYOUT = "[[barcodes.variable_measure]]\nprefix = '{prefix}'\nkind = '{kind}'\n"


def test_duplicate_variable_measure_prefix_is_refused() -> None:
    text = LAYOUT.format(prefix="21", kind="weight") + LAYOUT.format(prefix="21", kind="price")
    exc = error_for(text)
    assert exc.key == "barcodes.variable_measure"
    assert "a prefix is listed twice" in exc.problem


@pytest.mark.parametrize("prefix", ["30", "2", "02", "2A"])
def test_variable_measure_prefix_outside_20_to_29_is_refused(prefix: str) -> None:
    exc = error_for(LAYOUT.format(prefix=prefix, kind="price"))
    assert exc.key == "barcodes.variable_measure[0].prefix"
    assert "GS1 prefix from 20 to 29" in exc.problem


def test_variable_measure_value_running_into_the_check_digit_is_refused() -> None:
    exc = error_for(LAYOUT.format(prefix="20", kind="price") + "value_start = 8\n")
    assert exc.key == "barcodes.variable_measure[0]"
    assert "before the check digit" in exc.problem


def test_variable_measure_layouts_replace_the_defaults() -> None:
    text = LAYOUT.format(prefix="28", kind="weight") + "decimals = 2\n"
    layouts = parse_config(text).barcodes.variable_measure
    assert layouts == (VariableMeasureLayout(prefix="28", kind="weight", decimals=2),)


# ------------------------------------------------------------------------------ receipt
@pytest.mark.parametrize("width", [0, 31, 40, 80])
def test_receipt_width_other_than_32_42_48_is_refused(width: int) -> None:
    exc = error_for(f"[receipt]\nwidth = {width}\n")
    assert exc.key == "receipt.width"
    assert exc.problem == f"{width} must be 32, 42 or 48 columns"


@pytest.mark.parametrize("width", [32, 42, 48])
def test_receipt_width_32_42_48_is_accepted(width: int) -> None:
    assert parse_config(f"[receipt]\nwidth = {width}\n").receipt.width == width


def test_receipt_language_not_in_kiosk_languages_is_refused() -> None:
    exc = error_for('[receipt]\nlanguage = "de"\n')
    assert exc.key == "receipt.language"
    assert "not in kiosk.languages" in exc.problem


# ------------------------------------------------------------------------------ secrets
def test_password_env_reads_the_named_variable() -> None:
    text = '[broker]\npassword_env = "KIOSK_BROKER_PASSWORD"\n'
    config = parse_config(text, {"KIOSK_BROKER_PASSWORD": "s3cret"})
    assert config.broker.password == "s3cret"


def test_password_env_naming_an_unset_variable_is_refused() -> None:
    exc = error_for('[broker]\npassword_env = "KIOSK_BROKER_PASSWORD"\n', {"OTHER": "x"})
    assert exc.key == "broker.password_env"
    assert exc.problem == "environment variable KIOSK_BROKER_PASSWORD is not set"


def test_inline_password_is_used_as_is() -> None:
    assert parse_config('[broker]\npassword = "pw"\n').broker.password == "pw"


@pytest.mark.parametrize(
    ("keys", "second"),
    [
        (("password", "password_env"), "password_env"),
        (("password", "password_file"), "password_file"),
        (("password_env", "password_file"), "password_file"),
        (("password_file", "password_env"), "password_file"),
        (("password", "password_env", "password_file"), "password_env"),
    ],
)
def test_two_ways_to_give_a_secret_are_refused_naming_the_second(
    keys: tuple[str, ...], second: str
) -> None:
    text = "[broker]\n" + "".join(f'{key} = "X"\n' for key in keys)
    exc = error_for(text, {"X": "from env"})
    assert exc.key == f"broker.{second}"
    assert exc.problem == "give only one of password, password_env, password_file"


def test_password_file_without_a_reader_is_refused() -> None:
    exc = error_for('[broker]\npassword_file = "secrets/broker"\n')
    assert exc.key == "broker.password_file"


def write_config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_password_file_is_read_relative_to_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc" / "kiosk"
    (folder / "secrets").mkdir(parents=True)
    (folder / "secrets" / "broker").write_text("from-file\n", encoding="utf-8")
    path = write_config(folder, '[broker]\npassword_file = "secrets/broker"\n')
    monkeypatch.chdir(tmp_path)  # not the config folder: a cwd-relative read would fail
    assert read_config(path, env={}).broker.password == "from-file"


def test_missing_password_file_names_the_key_and_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[broker]\npassword_file = "secrets/nope"\n')
    with pytest.raises(ConfigError) as caught:
        read_config(path, env={})
    assert caught.value.key == "broker.password_file"
    assert "cannot read secrets/nope" in caught.value.problem


def test_password_file_that_is_not_utf8_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "pw").write_bytes(b"\xff\xfe\x00")
    path = write_config(tmp_path, '[broker]\npassword_file = "pw"\n')
    with pytest.raises(ConfigError) as caught:
        read_config(path, env={})
    assert caught.value.key == "broker.password_file"
    assert "not UTF-8" in caught.value.problem


@pytest.mark.parametrize(
    ("text", "env"),
    [
        ('[members]\nphone_key = "short"\n', {}),
        ('[members]\nphone_key_env = "K"\n', {"K": "fifteen-bytes.."}),
    ],
)
def test_member_phone_key_shorter_than_16_bytes_is_refused(text: str, env: dict[str, str]) -> None:
    exc = error_for(text, env)
    assert exc.key == "members.phone_key"
    assert exc.problem == "must be at least 16 bytes long"


def test_member_phone_key_of_16_bytes_is_accepted() -> None:
    config = parse_config('[members]\nphone_key_env = "K"\n', {"K": "sixteen-bytes..."})
    assert config.members.phone_key == "sixteen-bytes..."


def test_member_phone_key_file_is_read_and_stripped(tmp_path: Path) -> None:
    (tmp_path / "member.key").write_text(KEY + "\n", encoding="utf-8")
    path = write_config(tmp_path, '[members]\nphone_key_file = "member.key"\n')
    assert read_config(path, env={}).members.phone_key == KEY


# ------------------------------------------------------------------------------ defaults
def test_empty_config_gives_every_default() -> None:
    assert parse_config("") == Config()


def test_missing_sections_get_defaults_next_to_given_ones() -> None:
    config = parse_config('[store]\nid = "s0007"\ncurrency = "EUR"\n')
    assert config.store == dataclasses.replace(StoreConfig(), id="s0007", currency="EUR")
    assert config.kiosk == KioskConfig(id="s0007-k01")
    assert config.barcodes == BarcodeConfig()
    assert config.tax.codes == {"VAT13": Decimal("0.13"), "VAT9": Decimal("0.09")}
    assert config.members.phone_key == ""
    assert config.broker.password == ""


def test_paths_default_inside_data_dir() -> None:
    paths = parse_config('[paths]\ndata_dir = "/srv/kiosk"\n').paths
    assert paths == PathsConfig(
        data_dir="/srv/kiosk",
        db="/srv/kiosk/kiosk.db",
        backups="/srv/kiosk/backups",
        receipts="/srv/kiosk/receipts",
        log_dir="/srv/kiosk/log",
        pictures="/srv/kiosk/pictures",
    )


def test_read_config_resolves_relative_paths_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    path = write_config(folder, '[paths]\ndata_dir = "data"\nlog_dir = "/var/log/kiosk"\n')
    monkeypatch.chdir(tmp_path)
    paths = read_config(Path("conf") / "kiosk.toml", env={}).paths
    assert paths.db == str(folder.resolve() / "data" / "kiosk.db")
    assert paths.data_dir == str(folder.resolve() / "data")
    assert paths.log_dir == "/var/log/kiosk"
    assert path.exists()


def test_read_config_of_a_missing_file_says_it_cannot_read_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read_config(tmp_path / "nope.toml")
    assert caught.value.key == "(file)"
    assert caught.value.problem.startswith(f"cannot read {tmp_path / 'nope.toml'}")


def test_read_config_of_a_non_utf8_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b"[store]\nname = '\xff'\n")
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    assert caught.value.problem == f"{path} is not UTF-8 text (byte 16)"


def test_read_config_of_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[store\n")
    with pytest.raises(ConfigError) as caught:
        read_config(path)
    assert caught.value.problem.startswith(f"{path}: not valid TOML")


# ------------------------------------------------------------------------------ the demo config
def test_shipped_demo_config_parses_with_its_member_key_file() -> None:
    asked: list[str] = []

    def read_file(name: str) -> str:
        asked.append(name)
        return KEY + "\n"

    config = parse_config(demo_text(), {}, read_file)
    assert asked == ["secrets/member-phone.key"]
    assert config.members.phone_key == KEY
    assert config.store.id == "s0001"
    assert config.kiosk.id == "s0001-k01"
    assert config.kiosk.default_language == "zh_CN"
    assert config.tax.codes == {"VAT13": Decimal("0.13"), "VAT9": Decimal("0.09")}
    assert config.cash.rounding_increment == 10
    assert [layout.prefix for layout in config.barcodes.variable_measure] == ["20", "21", "22"]
    assert config.receipt.width == 42
    assert time_zone(config).key == "Asia/Shanghai"


def test_shipped_demo_config_sets_every_key() -> None:
    data = tomllib.loads(demo_text())
    for section in dataclasses.fields(Config):
        table = data[section.name]
        if section.name == "sync":  # a raw table validated by kiosk.sync.settings
            continue
        for f in dataclasses.fields(getattr(Config(), section.name)):
            given = {f.name, f"{f.name}_env", f"{f.name}_file"} & set(table)
            assert given, f"demo config does not set {section.name}.{f.name}"
    for layout in data["barcodes"]["variable_measure"]:
        assert set(layout) == {f.name for f in dataclasses.fields(VariableMeasureLayout)}


# ------------------------------------------------------------------------------ [devices]
def pi_text() -> str:
    return (resources.files("kiosk") / "demo" / "kiosk-pi.toml").read_text(encoding="utf-8")


def device_error(text: str) -> ConfigError:
    """The ConfigError of ``text``: from the core's parsing, or else from checking the device
    tables against the adapters' settings (what ``kiosk config check`` runs)."""
    with pytest.raises(ConfigError) as caught:
        device_settings(parse_config(text))
    return caught.value


def test_devices_defaults_are_the_fakes() -> None:
    devices = parse_config("").devices
    assert (devices.printer, devices.drawer, devices.light) == ("fake", "fake", "fake")
    assert devices.scanners == ("fake",)
    assert devices.pin_factory == ""
    assert all(devices.table(name) == {} for name in DEVICE_TABLES)
    assert device_settings(parse_config("")) == DeviceSettings()


def test_scanner_shorthand_and_scanner_list() -> None:
    assert parse_config('[devices]\nscanner = "hid"\n').devices.scanners == ("hid",)
    both = parse_config('[devices]\nscanners = ["serial", "hid"]\n').devices
    assert both.scanners == ("serial", "hid")


def test_device_table_keeps_scalars_and_lists_as_tuples() -> None:
    devices = parse_config(
        '[devices.hid_scanner]\nallowed_names = ["A", "B"]\nmax_length = 64\ndebounce_s = 0.25\n'
    ).devices
    assert devices.hid_scanner == {
        "allowed_names": ("A", "B"),
        "max_length": 64,
        "debounce_s": 0.25,
    }


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('[devices]\nprinter = "epson"', "devices.printer", "'epson' is not one of fake, escpos"),
        ('[devices]\ndrawer = "relay"', "devices.drawer",
         "'relay' is not one of fake, gpio, printer"),
        ('[devices]\nlight = "usb"', "devices.light", "'usb' is not one of fake, gpio"),
        ('[devices]\nscanner = "usb"', "devices.scanner", "'usb' is not one of fake, serial, hid"),
        ("[devices]\nscanners = []", "devices.scanners", "needs at least one scanner"),
        ('[devices]\nscanners = "serial"', "devices.scanners", "must be list"),
        ("[devices]\nscanners = [1]", "devices.scanners", "must be a list of strings, has 1"),
        ('[devices]\nscanners = ["usb"]', "devices.scanners",
         "'usb' is not one of fake, serial, hid"),
        ('[devices]\nscanners = ["hid", "hid"]', "devices.scanners", "'hid' is listed twice"),
        ('[devices]\nscanner = "hid"\nscanners = ["hid"]', "devices.scanner",
         "give either scanner or scanners, not both"),
        ('[devices]\npin_factory = "pigpio"', "devices.pin_factory",
         "'pigpio' is not one of mock, rpigpio, lgpio"),
        ("[devices]\npin_factory = 1", "devices.pin_factory", "must be str"),
        ('[devices]\ndrawer = "gpio"', "devices.pin_factory",
         'drawer = "gpio" needs a pin factory: "lgpio" on a Raspberry Pi 5'),
        ('[devices]\nlight = "gpio"', "devices.pin_factory", 'light = "gpio" needs a pin factory'),
        ('[devices]\ndrawer = "printer"', "devices.drawer", 'needs printer = "escpos"'),
        ("[devices]\ngpio_drawer = 5", "devices.gpio_drawer", "must be a table, got int"),
        ("[devices.gpio_drawr]\nrelay_pin = 17", "devices.gpio_drawr", "unknown key"),
        ("[devices.gpio_drawer.pins]\nrelay = 17", "devices.gpio_drawer.pins",
         "must be a string, number or boolean (or a list)"),
        ("[devices.gpio_drawer]\nrelay_pin = 1979-05-27", "devices.gpio_drawer.relay_pin",
         "must be a string, number or boolean"),
        ("[devices.hid_scanner]\nallowed_names = [{a = 1}]", "devices.hid_scanner.allowed_names",
         "a list of strings, numbers or booleans"),
    ],
)  # fmt: skip
def test_devices_section_errors_name_the_key(text: str, key: str, problem: str) -> None:
    exc = error_for(text + "\n")
    assert exc.key == key
    assert problem in exc.problem


GPIO_OK = '[devices]\ndrawer = "gpio"\nlight = "gpio"\npin_factory = "mock"\n'
DRAWER = "[devices.gpio_drawer]\nrelay_pin = 17\n"
LIGHT = "[devices.gpio_light]\ngreen_pin = 24\namber_pin = 25\nred_pin = 16\n"
ESCPOS = '[devices]\nprinter = "escpos"\n[devices.escpos_printer]\n'


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        # required keys
        ('[devices]\ndrawer = "gpio"\npin_factory = "mock"', "devices.gpio_drawer.relay_pin",
         'is required when drawer = "gpio"'),
        (GPIO_OK + DRAWER, "devices.gpio_light.green_pin", 'is required when light = "gpio"'),
        ('[devices]\nprinter = "escpos"', "devices.escpos_printer.transport",
         'is required when printer = "escpos"'),
        ('[devices]\nscanner = "serial"', "devices.serial_scanner.device",
         'is required when scanners has "serial"'),
        ('[devices]\nscanner = "hid"', "devices.hid_scanner.allowed_names",
         "a HID scanner needs an allow-list"),
        ("[devices.gpio_light]\ngreen_pin = 24", "devices.gpio_light.amber_pin", "is required"),
        # unknown keys and wrong types
        (GPIO_OK + DRAWER + "relay = 4\n" + LIGHT, "devices.gpio_drawer.relay",
         "unknown key (known: relay_pin, active_high, pulse_ms"),
        (GPIO_OK + DRAWER.replace("17", '"17"') + LIGHT, "devices.gpio_drawer.relay_pin",
         "must be an integer, got '17'"),
        (GPIO_OK + DRAWER.replace("17", "17.0") + LIGHT, "devices.gpio_drawer.relay_pin",
         "must be an integer, got 17.0"),
        (GPIO_OK + DRAWER.replace("17", "true") + LIGHT, "devices.gpio_drawer.relay_pin",
         "must be an integer, got True"),
        (GPIO_OK + DRAWER + "active_high = 1\n" + LIGHT, "devices.gpio_drawer.active_high",
         "must be true or false, got 1"),
        (GPIO_OK + DRAWER + 'confirm_within_s = "1"\n' + LIGHT,
         "devices.gpio_drawer.confirm_within_s", "must be a number, got '1'"),
        (GPIO_OK + DRAWER + 'switch_open_when = "up"\n' + LIGHT,
         "devices.gpio_drawer.switch_open_when", "'up' is not one of high, low"),
        (GPIO_OK + DRAWER + "switch_pin = [27]\n" + LIGHT, "devices.gpio_drawer.switch_pin",
         "must be an integer, got (27,)"),
        # the adapters' own checks, under the full key
        (GPIO_OK + DRAWER + "pulse_ms = 600\n" + LIGHT, "devices.gpio_drawer.pulse_ms",
         "must be 20..500, got 600"),
        (GPIO_OK + DRAWER.replace("17", "40") + LIGHT, "devices.gpio_drawer.relay_pin",
         "must be a BCM GPIO number 0..27, got 40"),
        (GPIO_OK + DRAWER + "switch_pin = 17\n" + LIGHT, "devices.gpio_drawer.switch_pin",
         "must differ from relay_pin (17)"),
        (GPIO_OK + DRAWER + LIGHT.replace("red_pin = 16", "red_pin = 24"),
         "devices.gpio_light.red_pin", "uses BCM 24, already used by green_pin"),
        (GPIO_OK + DRAWER + LIGHT + "escalate_after_s = 0\n", "devices.gpio_light.escalate_after_s",
         "must be a number of seconds > 0, got 0"),
        (GPIO_OK + DRAWER + LIGHT.replace("green_pin = 24", "green_pin = 17"),
         "devices.gpio_light.green_pin", "BCM 17 is already used by devices.gpio_drawer.relay_pin"),
        (ESCPOS + 'transport = "usb"', "devices.escpos_printer.usb_vendor_id",
         "must be a USB id 0x0001..0xFFFF (see lsusb)"),
        (ESCPOS + 'transport = "bluetooth"', "devices.escpos_printer.transport",
         "'bluetooth' is not one of usb, serial, network, file, dummy"),
        (ESCPOS + 'transport = "network"', "devices.escpos_printer.host",
         "is required for the network transport"),
        (ESCPOS + 'transport = "file"\nfile_path = "/dev/usb/lp0"\nprofile = "tm88"',
         "devices.escpos_printer.profile", "unknown printer profile 'tm88'"),
        (ESCPOS + 'transport = "file"\nfile_path = "x"\nbarcode = "ean13"',
         "devices.escpos_printer.barcode", "'ean13' is not one of code128, qr, none"),
        ('[devices.printer_drawer]\npin = 3', "devices.printer_drawer.pin",
         "must be 2 or 5 (the drawer connector pin), got 3"),
        ('[devices.printer_drawer]\npulse_ms = 10', "devices.printer_drawer.pulse_ms",
         "must be 20..500, got 10"),
        ('[devices.serial_scanner]\ndevice = "/dev/ttyACM0"\nframing = "ETX"',
         "devices.serial_scanner.framing", "must be one of CR, LF, CRLF, gap, got 'ETX'"),
        ('[devices.serial_scanner]\ndevice = "/dev/ttyACM0"\nbaud = 1234',
         "devices.serial_scanner.baud", "1234 is not a standard baud rate"),
        ('[devices.serial_scanner]\ndevice = "x"\nprefix = "\u4e2d"',
         "devices.serial_scanner.prefix", "bytes are written as characters U+0000..U+00FF"),
        ('[devices.hid_scanner]\nallowed_ids = ["1eab"]', "devices.hid_scanner.allowed_ids",
         "'1eab' is not a USB id like '05e0:1200'"),
        ('[devices.hid_scanner]\nallowed_ids = "1eab:1a03"', "devices.hid_scanner.allowed_ids",
         "must be a list, got '1eab:1a03'"),
        ('[devices.hid_scanner]\nallowed_names = ["A", 5]', "devices.hid_scanner.allowed_names",
         "must be a string, got 5"),
        ('[devices]\nscanners = ["serial", "hid"]\n[devices.serial_scanner]\ndevice = "x"\n'
         '[devices.hid_scanner]\nallowed_ids = ["1eab:1a03"]', "devices.hid_scanner.name",
         "'scanner' is also the name of the serial scanner; name each one"),
        ('[devices]\nscanners = ["fake", "serial"]\n[devices.serial_scanner]\ndevice = "x"',
         "devices.serial_scanner.name", "'scanner' is also the name of the fake scanner"),
    ],
)  # fmt: skip
def test_device_settings_errors_name_the_full_key(text: str, key: str, problem: str) -> None:
    exc = device_error(text + "\n")
    assert exc.key == key
    assert problem in exc.problem


def test_device_table_present_but_unused_is_still_checked() -> None:
    exc = device_error("[devices.gpio_drawer]\nrelay_pin = 17\npulse_ms = 600\n")
    assert str(exc) == "config key 'devices.gpio_drawer.pulse_ms': must be 20..500, got 600"


def test_device_settings_convert_toml_values_to_the_adapters_types() -> None:
    settings = device_settings(
        parse_config(
            '[devices]\nprinter = "escpos"\ndrawer = "gpio"\nlight = "gpio"\n'
            'scanners = ["serial", "hid"]\npin_factory = "lgpio"\n'
            '[devices.escpos_printer]\ntransport = "usb"\nusb_vendor_id = 0x04b8\n'
            "usb_product_id = 0x0202\ntimeout_s = 2\nstatus = false\n"
            + DRAWER
            + "switch_pin = 27\n"
            + LIGHT
            + '[devices.serial_scanner]\ndevice = "loop://"\nprefix = "\\u0002"\n'
            'suffix = "\\u0003"\nname = "bioptic"\n'
            '[devices.hid_scanner]\nallowed_ids = ["1eab:1a03"]\n'
        )
    )
    assert settings.escpos_printer is not None
    assert (settings.escpos_printer.usb_vendor_id, settings.escpos_printer.usb_product_id) == (
        0x04B8,
        0x0202,
    )
    assert settings.escpos_printer.timeout_s == 2.0
    assert isinstance(settings.escpos_printer.timeout_s, float)
    assert settings.escpos_printer.status is False
    assert settings.gpio_drawer is not None and settings.gpio_drawer.switch_pin == 27
    assert settings.gpio_light is not None and settings.gpio_light.buzzer_pin is None
    assert settings.serial_scanner is not None
    assert (settings.serial_scanner.prefix, settings.serial_scanner.suffix) == (b"\x02", b"\x03")
    assert settings.hid_scanner is not None and settings.hid_scanner.allowed_ids == ("1eab:1a03",)
    assert settings.printer_drawer is None


def test_shipped_pi_config_is_valid_and_sets_every_device_table() -> None:
    config = parse_config(pi_text())
    devices = config.devices
    assert (devices.printer, devices.drawer, devices.light) == ("escpos", "gpio", "gpio")
    assert devices.pin_factory == "lgpio"
    for name in DEVICE_TABLES:
        assert devices.table(name), f"kiosk-pi.toml has no [devices.{name}]"
    settings = device_settings(config)
    assert all(getattr(settings, name) is not None for name in DEVICE_TABLES)
    assert config.paths.data_dir == "/var/lib/kiosk"


def test_read_config_of_the_shipped_pi_config_then_device_settings(tmp_path: Path) -> None:
    """As ``kiosk config check kiosk/demo/kiosk-pi.toml`` does it, on a copy of the file."""
    path = tmp_path / "kiosk.toml"
    path.write_text(pi_text(), encoding="utf-8")
    config = read_config(path)
    assert device_settings(config).serial_scanner is not None


def test_shipped_demo_config_runs_on_fakes_with_every_device_table_valid() -> None:
    config = parse_config(demo_text(), {}, lambda _name: KEY)
    devices = config.devices
    assert (devices.printer, devices.drawer, devices.light) == ("fake", "fake", "fake")
    assert devices.scanners == ("fake",)
    settings = device_settings(config)
    assert all(getattr(settings, name) is not None for name in DEVICE_TABLES)

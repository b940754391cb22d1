"""The [ui] config section: defaults, the demo config's values, each bad value refused with an
error naming its key; and the touchscreen's settings (kiosk.app.gui.ui_settings) from the
config with the command line's overrides."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from kiosk.app.gui import GuiOptions, ui_settings
from kiosk.config import UiConfig, parse_config
from kiosk.errors import ConfigError


def test_the_defaults_use_noto_sans_cjk_and_the_normal_palette() -> None:
    ui = parse_config("").ui
    assert ui == UiConfig(font="", high_contrast=False, attract_after_receipt_s=30.0)


def test_the_demo_config_sets_every_ui_key_and_offers_japanese() -> None:
    text = (resources.files("kiosk") / "demo" / "kiosk.toml").read_text(encoding="utf-8")
    config = parse_config(text, {}, lambda _name: "k" * 32)  # the member key file
    assert config.ui == UiConfig()
    assert config.kiosk.languages == ("zh_CN", "en", "ja")


def test_ui_values_are_read() -> None:
    text = (
        "[ui]\nfont = '/srv/fonts/Kiosk.otf'\nhigh_contrast = true\n"
        "attract_after_receipt_s = 12.5\n"
    )
    assert parse_config(text).ui == UiConfig("/srv/fonts/Kiosk.otf", True, 12.5)


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        ("font = 5", "ui.font", "must be str"),
        ("font = 'fonts/Kiosk.ttf'", "ui.font", "not an absolute path"),
        ("font = '/srv/fonts/Kiosk.woff2'", "ui.font", ".ttf/.otf/.ttc file"),
        ("high_contrast = 'yes'", "ui.high_contrast", "must be bool"),
        ("attract_after_receipt_s = 'soon'", "ui.attract_after_receipt_s", "must be float"),
        ("attract_after_receipt_s = 2", "ui.attract_after_receipt_s", "outside 5..600"),
        ("attract_after_receipt_s = 601", "ui.attract_after_receipt_s", "outside 5..600"),
        ("dark_mode = true", "ui.dark_mode", "unknown key"),
    ],
)
def test_a_bad_ui_value_names_its_key(body: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"[ui]\n{body}\n")
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_the_touchscreen_settings_come_from_the_config() -> None:
    config = parse_config(
        "[payments]\nmethods = ['wallet', 'cash']\nterminal_timeout_s = 45\n"
        "[ui]\nhigh_contrast = true\nattract_after_receipt_s = 20\n"
    )
    settings = ui_settings(config, GuiOptions())
    assert settings.payment_methods == ("wallet", "cash")
    assert settings.terminal_timeout_s == 45.0
    assert settings.high_contrast and settings.attract_after_receipt_s == 20.0
    assert settings.font is None  # Noto Sans CJK


def test_the_command_line_overrides_the_ui_section(tmp_path: Path) -> None:
    font = tmp_path / "Kiosk.ttf"
    font.write_bytes(b"not really a font; only its presence is checked here")
    config = parse_config("[ui]\nfont = '/nowhere/Config.ttf'\n")
    settings = ui_settings(config, GuiOptions(font=str(font), high_contrast=True))
    assert settings.font == str(font) and settings.high_contrast


@pytest.mark.parametrize(
    ("ui", "font", "key"),
    [("font = '/nowhere/Kiosk.ttf'", None, "ui.font"), ("", "/nowhere/Cli.otf", "--font")],
)
def test_a_missing_font_file_names_where_it_was_given(ui: str, font: str | None, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ui_settings(parse_config(f"[ui]\n{ui}\n"), GuiOptions(font=font))
    assert caught.value.key == key
    assert "/nowhere/" in caught.value.problem and "does not exist" in caught.value.problem

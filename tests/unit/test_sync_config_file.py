"""Reading kiosk sync's settings from the kiosk's TOML file (kiosk.sync.config_file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import ConfigError
from kiosk.sync.config_file import load_settings

BASE = """\
[store]
id = "s0001"

[kiosk]
id = "s0001-k01"

[broker]
host = "10.0.0.2"
port = 1884
username = "s0001-k01"
password_env = "KIOSK_BROKER_PASSWORD"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "etc" / "kiosk.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_sync_table_and_the_kiosk_config_are_read_together(tmp_path: Path) -> None:
    text = BASE + '\n[sync]\nwindow = 25\nrequired_groups = ["finance"]  # only finance\n'
    text += '\n[paths]\ndata_dir = "data"\n'
    settings = load_settings(_write(tmp_path, text), env={"KIOSK_BROKER_PASSWORD": "s3cret"})
    assert settings.window == 25
    assert settings.required_groups == ("finance",)
    assert settings.password == "s3cret"
    assert [str(b) for b in settings.brokers] == ["10.0.0.2:1884"]
    assert settings.db_path == str(tmp_path / "etc" / "data" / "kiosk.db")


def test_without_a_sync_table_the_defaults_apply(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, BASE), env={"KIOSK_BROKER_PASSWORD": "x"})
    assert settings.window == 100


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (BASE + "[sync]\nwindow = -1\n", "sync.window", "must be at least 1"),
        ("sync = 3\n" + BASE, "sync", "must be a table"),
        (BASE + "[sync\n", "(file)", "not valid TOML"),
        (BASE + "[kiosk.extra]\nx = 1\n", "kiosk.extra", "unknown key"),
    ],
)
def test_a_bad_file_names_the_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[")) as caught:
        load_settings(_write(tmp_path, text), env={"KIOSK_BROKER_PASSWORD": "x"})
    assert caught.value.key == key


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read") as caught:
        load_settings(tmp_path / "nope.toml", env={})
    assert caught.value.key == "(file)"

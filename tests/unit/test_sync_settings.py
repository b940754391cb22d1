"""SyncSettings from the kiosk config and the raw [sync] table: defaults, brokers, bad values."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import BrokerConfig, Config, KioskConfig, PathsConfig, StoreConfig
from kiosk.errors import ConfigError
from kiosk.sync.settings import BrokerAddress, SyncSettings, TlsFiles

CONFIG = Config(
    store=StoreConfig(id="s0142"),
    kiosk=KioskConfig(id="s0142-k03"),
    paths=PathsConfig(db="/var/lib/kiosk/kiosk.db"),
    broker=BrokerConfig(host="store-server", port=8883, username="s0142-k03", password="pw"),
)


def _settings(table: dict[str, Any], config: Config = CONFIG, **kw: Any) -> SyncSettings:
    return SyncSettings.from_config(config, table, **kw)


def test_defaults_come_from_the_kiosk_config() -> None:
    s = _settings({})
    assert s.kiosk_id == "s0142-k03"
    assert s.db_path == "/var/lib/kiosk/kiosk.db"
    assert s.brokers == (BrokerAddress("store-server", 8883),)
    assert (s.username, s.password, s.tls) == ("s0142-k03", "pw", None)
    assert s.required_groups == ("inventory", "finance")
    assert (s.window, s.ack_timeout_s, s.telemetry_s) == (100, 300.0, 60.0)
    assert (s.session_expiry_s, s.purge_after_days, s.nice) == (7 * 24 * 3600, 30, 10)


def test_every_key_can_be_set() -> None:
    s = _settings(
        {
            "brokers": ["primary:1884", "[fd00::1]:8883", "backup"],
            "window": 20,
            "ack_timeout_s": 1.5,
            "retry_min_s": 0.5,
            "retry_max_s": 10,
            "reconnect_min_s": 2,
            "reconnect_max_s": 30,
            "connect_timeout_s": 3,
            "keepalive_s": 15,
            "telemetry_s": 5,
            "required_groups": ["finance"],
            "session_expiry_s": 3600,
            "purge_after_days": 7,
            "stop_timeout_s": 2,
            "nice": 0,
        }
    )
    assert s.brokers == (
        BrokerAddress("primary", 1884),
        BrokerAddress("fd00::1", 8883),
        BrokerAddress("backup", 8883),
    )
    assert [str(b) for b in s.brokers] == ["primary:1884", "[fd00::1]:8883", "backup:8883"]
    assert (s.window, s.ack_timeout_s, s.retry_min_s, s.retry_max_s) == (20, 1.5, 0.5, 10)
    assert (s.reconnect_min_s, s.reconnect_max_s, s.connect_timeout_s) == (2, 30, 3)
    assert (s.keepalive_s, s.telemetry_s, s.required_groups) == (15, 5, ("finance",))
    assert (s.session_expiry_s, s.purge_after_days, s.stop_timeout_s) == (3600, 7, 2)
    assert s.nice == 0


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ({"window": 0}, "sync.window", "0 must be at least 1"),
        ({"window": 2.5}, "sync.window", "must be a whole number"),
        ({"window": "10"}, "sync.window", "must be a number, got '10'"),
        ({"window": True}, "sync.window", "must be a number, got True"),
        ({"ack_timeout_s": 0}, "sync.ack_timeout_s", "must be at least 0.1"),
        ({"ack_timeout_s": float("nan")}, "sync.ack_timeout_s", "must be at least"),
        ({"retry_min_s": 5, "retry_max_s": 1}, "sync.retry_max_s", "1 must be at least 5"),
        ({"reconnect_max_s": 0.001}, "sync.reconnect_max_s", "must be at least 1"),
        ({"keepalive_s": 70000}, "sync.keepalive_s", "at most 65535"),
        ({"session_expiry_s": -1}, "sync.session_expiry_s", "must be at least 0"),
        ({"purge_after_days": 0}, "sync.purge_after_days", "must be at least 1"),
        ({"telemetry_s": 0}, "sync.telemetry_s", "must be at least 0.1"),
        ({"nice": 20}, "sync.nice", "20 must be at least 0 and at most 19"),
        ({"nice": -5}, "sync.nice", "-5 must be at least 0 and at most 19"),
        ({"nice": 5.5}, "sync.nice", "must be a whole number"),
        ({"brokers": []}, "sync.brokers", "non-empty list"),
        ({"brokers": "a:1"}, "sync.brokers", "non-empty list"),
        ({"brokers": [5]}, "sync.brokers", "5 is not a 'host:port' string"),
        ({"brokers": ["a:0"]}, "sync.brokers", "'a:0' has no valid port"),
        ({"brokers": ["a:x"]}, "sync.brokers", "'a:x' has no valid port"),
        ({"brokers": ["[::1"]}, "sync.brokers", "is not '[address]:port'"),
        ({"brokers": ["bad host:1"]}, "sync.brokers", "has no valid host name"),
        ({"brokers": ["a:1", "a:1"]}, "sync.brokers", "the same broker twice"),
        ({"required_groups": []}, "sync.required_groups", "non-empty list"),
        ({"required_groups": ["Finance"]}, "sync.required_groups", "'Finance' must be"),
        ({"required_groups": ["a", "a"]}, "sync.required_groups", "the same group twice"),
        ({"tls_ca_file": "ca.crt"}, "sync.tls_ca_file", "broker.tls is false"),
        ({"tls_ca_file": ""}, "sync.tls_ca_file", "non-empty string"),
        ({"windows": 5}, "sync.windows", "unknown key"),
    ],
)
def test_a_bad_value_names_its_key(table: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)) as caught:
        _settings(table)
    assert caught.value.key == key


def test_the_sync_table_must_be_a_table() -> None:
    with pytest.raises(ConfigError) as caught:
        SyncSettings.from_config(CONFIG, [1, 2])  # type: ignore[arg-type]
    assert caught.value.key == "sync"


def test_tls_files_resolve_against_the_config_folder(tmp_path: Path) -> None:
    config = Config(kiosk=KioskConfig(id="s0001-k01"), broker=BrokerConfig(tls=True))
    s = _settings(
        {"tls_ca_file": "pki/ca.crt", "tls_cert_file": "pki/k.crt", "tls_key_file": "/abs/k.key"},
        config,
        base_dir=tmp_path,
    )
    assert s.tls == TlsFiles(
        str(tmp_path / "pki/ca.crt"), str(tmp_path / "pki/k.crt"), "/abs/k.key"
    )
    assert _settings({}, config).tls == TlsFiles()  # TLS with the system's CAs


def test_a_client_certificate_needs_its_key() -> None:
    config = Config(kiosk=KioskConfig(id="s0001-k01"), broker=BrokerConfig(tls=True))
    with pytest.raises(ConfigError, match="needs both") as caught:
        _settings({"tls_cert_file": "k.crt"}, config)
    assert caught.value.key == "sync.tls_key_file"

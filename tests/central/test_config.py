"""central.config: central.toml parsed into typed values; each mistake names its key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from central.config import BrokerEndpoint, CentralConfigError, load_config, parse_config

BASE = Path("/srv/central")
MINIMAL = '[kiosks]\nstores = ["s0001"]\n'


def test_minimal_config_has_the_documented_defaults() -> None:
    config = parse_config(MINIMAL, BASE)
    assert config.database_url == "sqlite:////srv/central/central.db"
    assert config.mqtt.brokers == (BrokerEndpoint("127.0.0.1", 1883),)
    assert (config.mqtt.session_expiry_s, config.mqtt.client_id) == (7 * 24 * 3600, "")
    assert (config.consumer.batch_size, config.consumer.batch_ms) == (500, 50)
    assert config.consumer.reorder_timeout_s == 10.0
    assert config.consumer.max_payload_bytes == 256 * 1024
    assert (config.inventory.group, config.finance.group) == ("inventory", "finance")
    assert config.inventory.threshold("ANY") == Decimal(0)


def test_full_config_is_read() -> None:
    text = """
[database]
url = "postgresql://central@db.example/central"
[[broker]]
host = "store-broker"
tls = true
ca_file = "pki/ca.pem"
cert_file = "pki/c.pem"
key_file = "pki/c.key"
[[broker]]
host = "backup"
port = 1884
[mqtt]
client_id = "central-inventory-a"
username = "central"
password_env = "CENTRAL_MQTT_PASSWORD"
[consumer]
batch_size = 200
batch_ms = 20
reorder_timeout_s = 2.5
[kiosks]
known = { "s0002-k01" = "s0002" }
[inventory]
low_stock_default = "3"
[inventory.low_stock]
BANANA = "2.5"
"""
    config = parse_config(text, BASE, env={"CENTRAL_MQTT_PASSWORD": "s3cret"})
    assert config.database_url == "postgresql://central@db.example/central"
    primary, backup = config.mqtt.brokers
    assert (primary.host, primary.port, primary.tls, primary.ca_file) == (
        "store-broker",
        8883,
        True,
        "/srv/central/pki/ca.pem",
    )
    assert (backup.host, backup.port, backup.tls) == ("backup", 1884, False)
    assert (config.mqtt.username, config.mqtt.password) == ("central", "s3cret")
    assert config.consumer.batch_size == 200 and config.consumer.reorder_timeout_s == 2.5
    assert config.kiosks.problem("s0002-k01", "s0002") is None
    assert config.inventory.threshold("BANANA") == Decimal("2.5")
    assert config.inventory.threshold("OTHER") == Decimal(3)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("", "kiosks.stores", "list the stores"),
        (MINIMAL + "[consumer]\nbatch_size = 0\n", "consumer.batch_size", "integer 1..10000"),
        (MINIMAL + "[consumer]\nbatch_sise = 5\n", "consumer.batch_sise", "unknown key"),
        ("colour = 1\n" + MINIMAL, "colour", "unknown key"),
        (
            MINIMAL + '[database]\nurl = "mysql://x"\n',
            "database.url",
            "sqlite:///FILE or postgresql",
        ),
        (MINIMAL + '[database]\nurl = "sqlite:///:memory:"\n', "database.url", "not memory"),
        (MINIMAL + '[[broker]]\nca_file = "ca.pem"\n', "broker[0].tls", "need tls = true"),
        (
            MINIMAL + '[[broker]]\ntls = true\ncert_file = "c.pem"\n',
            "broker[0].cert_file",
            "go together",
        ),
        (MINIMAL + "[[broker]]\nport = 70000\n", "broker[0].port", "1..65535"),
        (MINIMAL + '[mqtt]\npassword_env = "NOPE"\n', "mqtt.password_env", "$NOPE is not set"),
        (MINIMAL + '[mqtt]\npassword = "a"\npassword_env = "B"\n', "mqtt.password", "give one of"),
        (MINIMAL + '[mqtt]\nclient_id = "Central A"\n', "mqtt.client_id", "lowercase"),
        (MINIMAL + "[inventory.low_stock]\nX = 1.5\n", "inventory.low_stock.X", "as a string"),
        (MINIMAL + '[inventory.low_stock]\nX = "-1"\n', "inventory.low_stock.X", "0 or more"),
        (MINIMAL + '[finance]\ngroup = "inventory"\n', "finance.group", "must differ"),
        ('[kiosks]\nstores = ["S 1"]\n', "kiosks.stores", "list of store ids"),
        ("[kiosks\n", "(file)", "not valid TOML"),
    ],
)
def test_config_errors_name_the_key(text: str, key: str, problem: str) -> None:
    with pytest.raises(CentralConfigError) as caught:
        parse_config(text, BASE, env={})
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_password_file_is_read_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "mqtt.pass").write_text("from-file\n")
    path = tmp_path / "central.toml"
    path.write_text(MINIMAL + '[mqtt]\npassword_file = "mqtt.pass"\n')
    assert load_config(path).mqtt.password == "from-file"


def test_load_config_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CentralConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_kiosk_registry_explains_an_unknown_kiosk() -> None:
    registry = parse_config(MINIMAL, BASE).kiosks
    assert registry.problem("s0001-k07", "s0001") is None
    assert registry.problem("s0002-k07", "s0001") is not None
    assert "not in kiosks.stores" in (registry.problem("s0009-k01", "s0009") or "")

"""provisioning.broker_config: ACL, password, bridge and mosquitto.conf generation, and its CLI.

The broker-facing behaviour of these files (who may publish and read what, TLS, the bridge) is
tested on a real Mosquitto in tests/integration/test_broker_acl.py and test_broker_bridge.py;
these tests cover the text, the validation and the CLI.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioning import broker_config as bc
from provisioning.broker_config import (
    BridgeSettings,
    BrokerConfigError,
    BrokerSettings,
    Consumer,
    Store,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "provisioning" / "mosquitto"
STORE = bc.EXAMPLE_STORE
BRIDGE = BridgeSettings((("central.example.net", 8883), ("central-2.example.net", 8883)))


def acl_rules(text: str) -> list[list[str]]:
    return [line.split(" ") for line in text.splitlines() if line and not line.startswith("#")]


# ------------------------------------------------------------------------- shipped files
@pytest.mark.parametrize("name", sorted(bc.example_files()))
def test_shipped_file_is_what_the_generator_writes(name: str) -> None:
    assert (SHIPPED / name).read_text(encoding="utf-8") == bc.example_files()[name], (
        f"provisioning/mosquitto/{name} is stale: run "
        "`python -m provisioning.broker_config examples provisioning/mosquitto`"
    )


def test_production_conf_has_tls_no_anonymous_acl_and_limits() -> None:
    conf = bc.mosquitto_conf()
    lines = conf.splitlines()
    listeners = [line for line in lines if line.startswith("listener ")]
    assert listeners == ["listener 8883", "listener 1883 127.0.0.1"]
    tls_block = lines[lines.index("listener 8883") : lines.index("listener 1883 127.0.0.1")]
    for key in ("cafile", "certfile", "keyfile", "tls_version"):
        assert any(line.startswith(f"{key} ") for line in tls_block), key
    assert conf.count("use_username_as_clientid true") == 2  # one per listener
    for line in (
        "allow_anonymous false",
        "password_file /etc/mosquitto/kiosk/passwd",
        "acl_file /etc/mosquitto/kiosk/acl",
        "persistence true",
        "max_qos 1",
        "max_queued_messages 100000",
        "include_dir /etc/mosquitto/conf.d",
    ):
        assert line in lines


def test_conf_without_local_listener_has_only_tls() -> None:
    conf = bc.mosquitto_conf(BrokerSettings(tls_port=9883, local_port=None))
    assert [ln for ln in conf.splitlines() if ln.startswith("listener")] == ["listener 9883"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tls_port", 0, "tls_port 0 is not a TCP port"),
        ("local_port", 70000, "local_port 70000 is not a TCP port"),
        ("max_queued_messages", 0, "max_queued_messages must be at least 1"),
        ("max_inflight_messages", 0, "max_inflight_messages must be at least 1"),
    ],
)
def test_broker_settings_reject_bad_values(field: str, value: int, message: str) -> None:
    with pytest.raises(BrokerConfigError, match=message):
        BrokerSettings(**{field: value})  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- the ACL
def test_store_acl_scopes_kiosks_with_username_patterns_only() -> None:
    rules = acl_rules(bc.store_acl(STORE))
    patterns = [rule for rule in rules if rule[0] == "pattern"]
    assert {rule[2] for rule in patterns if rule[1] == "write"} == {
        "pos/v1/%u/evt/#",
        "pos/v1/%u/state",
        "pos/v1/%u/telemetry",
        "pos/v1/%u/cfg/reported",
        "pos/v1/%u/cmd/res",
    }
    assert {rule[2] for rule in patterns if rule[1] == "read"} == {
        "pos/v1/%u/ack/#",
        "pos/v1/%u/cfg/desired",
        "pos/v1/%u/cmd/req",
    }
    assert all("/%u/" in rule[2] for rule in patterns)


def test_store_acl_gives_anonymous_clients_nothing() -> None:
    # 'topic' lines before the first 'user' line would apply to anonymous clients.
    rules = acl_rules(bc.store_acl(STORE))
    first_user = next(i for i, rule in enumerate(rules) if rule[0] == "user")
    assert [rule for rule in rules[:first_user] if rule[0] == "topic"] == []


def _blocks(text: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    user = None
    for rule in acl_rules(text):
        if rule[0] == "user":
            user = rule[1]
            blocks[user] = []
        elif rule[0] == "topic":
            assert user is not None
            blocks[user].append(" ".join(rule[1:]))
    return blocks


def test_store_acl_kiosks_read_store_wide_topics_and_central_state() -> None:
    blocks = _blocks(bc.store_acl(STORE))
    for kiosk in STORE.kiosk_ids:
        assert blocks[kiosk] == [
            "read pos/v1/store/s0001/cfg/desired",
            "read pos/v1/store/s0001/catalog/#",
            "read pos/v1/central/state/+",
        ]


def test_store_acl_non_kiosk_identities_first_deny_their_kiosk_shaped_subtree() -> None:
    blocks = _blocks(bc.store_acl(STORE))
    for name in ("inventory-1", "finance-1", "ops"):
        assert blocks[name][0] == f"deny pos/v1/{name}/#"


def test_consumer_block_reads_events_and_writes_only_its_groups_acks() -> None:
    block = _blocks(bc.store_acl(STORE))["finance-1"]
    assert "read pos/v1/+/evt/#" in block
    assert "write pos/v1/+/ack/finance" in block
    assert "readwrite pos/v1/central/state/finance" in block
    assert not [rule for rule in block if "ack/inventory" in rule]


def test_central_acl_has_no_patterns_and_scopes_the_bridge_to_its_kiosks() -> None:
    text = bc.central_acl([STORE], STORE.consumers, ["ops"])
    assert not [rule for rule in acl_rules(text) if rule[0] == "pattern"]
    bridge = _blocks(text)["bridge-s0001"]
    for kiosk in STORE.kiosk_ids:
        assert f"write pos/v1/{kiosk}/evt/#" in bridge
        assert f"read pos/v1/{kiosk}/ack/#" in bridge
    assert "write $SYS/broker/connection/bridge-s0001/state" in bridge
    assert not [rule for rule in bridge if "+" in rule.split("/")[2:3]]


def test_every_acl_topic_is_a_valid_filter() -> None:
    texts = [bc.store_acl(STORE), bc.central_acl([STORE], STORE.consumers, ["ops"])]
    for rule in (rule for text in texts for rule in acl_rules(text)):
        if rule[0] in ("topic", "pattern"):
            topic = rule[-1]
            assert len(rule) == 3 and "" not in topic.split("/"), rule
            assert "#" not in topic[:-1], rule


# ------------------------------------------------------------------------------ identities
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"store_id": "S1"}, "store id 'S1'"),
        ({"kiosk_ids": ()}, "has no kiosks"),
        ({"kiosk_ids": ("s0001-K01",)}, "kiosk id 's0001-K01'"),
        ({"kiosk_ids": ("a/b",)}, "kiosk id 'a/b'"),
        ({"kiosk_ids": ("k+",)}, "kiosk id 'k\\+'"),
        ({"kiosk_ids": ("k#",)}, "kiosk id 'k#'"),
        ({"kiosk_ids": ("central",)}, "kiosk id 'central' is reserved"),
        ({"kiosk_ids": ("store",)}, "kiosk id 'store' is reserved"),
        ({"kiosk_ids": ("k1", "k1")}, "username 'k1' is given twice"),
        ({"admins": ("k1",)}, "username 'k1' is given twice"),
        ({"admins": ("Ops",)}, "admin username 'Ops'"),
        ({"admins": ("bridge-s1",)}, "'bridge-' names are for bridges"),
        ({"consumers": (Consumer("k1", "inventory"),)}, "username 'k1' is given twice"),
    ],
)
def test_store_rejects_bad_identities_naming_them(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"store_id": "s1", "kiosk_ids": ("k1",), **kwargs}
    with pytest.raises(BrokerConfigError, match=message):
        Store(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("inventory-1:inventory", Consumer("inventory-1", "inventory")),
        ("finance", Consumer("finance", "finance")),
    ],
)
def test_consumer_parse(text: str, expected: Consumer) -> None:
    assert Consumer.parse(text) == expected


def test_consumer_rejects_a_bad_group() -> None:
    with pytest.raises(BrokerConfigError, match="consumer group 'In Ventory'"):
        Consumer.parse("inv-1:In Ventory")


# ------------------------------------------------------------------------------ passwords
def test_hash_password_is_mosquitto_7_format() -> None:
    encoded = bc.hash_password("secret", salt=b"0123456789ab", iterations=101)
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}", encoded)
    assert encoded == bc.hash_password("secret", salt=b"0123456789ab", iterations=101)
    assert bc.hash_password("secret") != bc.hash_password("secret")  # random salt


def test_verify_password_accepts_mosquitto_passwd_hashes(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "kiosk", "pa55-word"], check=True)
    encoded = passwd.read_text().strip().split(":", 1)[1]
    assert bc.verify_password(encoded, "pa55-word")
    assert not bc.verify_password(encoded, "pa55-wore")


@given(st.text(st.characters(blacklist_characters=":", blacklist_categories=("Cs",)), min_size=1))
def test_verify_password_round_trip(password: str) -> None:
    if password.strip() != password:
        with pytest.raises(BrokerConfigError, match="password must be"):
            bc.hash_password(password, iterations=1)
        return
    encoded = bc.hash_password(password, iterations=1)
    assert bc.verify_password(encoded, password)
    assert not bc.verify_password(encoded, password + "x")


@pytest.mark.parametrize("password", ["", "a:b", " lead", "trail "])
def test_hash_password_rejects_what_the_file_cannot_hold(password: str) -> None:
    with pytest.raises(BrokerConfigError, match="password must be"):
        bc.hash_password(password)


def test_hash_password_rejects_zero_iterations() -> None:
    with pytest.raises(BrokerConfigError, match="iterations must be at least 1"):
        bc.hash_password("x", iterations=0)


@pytest.mark.parametrize("encoded", ["plain", "$6$abc$def", "$7$x$c2FsdA==$aGFzaA=="])
def test_verify_password_rejects_other_formats(encoded: str) -> None:
    with pytest.raises(BrokerConfigError, match="not a mosquitto \\$7\\$ password hash"):
        bc.verify_password(encoded, "x")


def test_password_file_is_sorted_user_colon_hash_lines() -> None:
    text = bc.password_file({"b": "pw-b", "a": "pw-a"}, hasher=lambda pw: f"H({pw})")
    assert text == "a:H(pw-a)\nb:H(pw-b)\n"


def test_password_file_rejects_a_bad_username() -> None:
    with pytest.raises(BrokerConfigError, match="username 'a:b'"):
        bc.password_file({"a:b": "pw"})


def test_new_secret_is_long_and_random() -> None:
    secrets = {bc.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(len(s) >= 43 and ":" not in s for s in secrets)


# --------------------------------------------------------------------------------- bridge
def test_bridge_conf_forwards_kiosk_topics_out_and_central_topics_in() -> None:
    lines = bc.bridge_conf(STORE, "s3cret", BRIDGE).splitlines()
    assert "address central.example.net:8883 central-2.example.net:8883" in lines
    for line in (
        "connection central-s0001",
        "bridge_protocol_version mqttv50",
        "remote_username bridge-s0001",
        "remote_clientid bridge-s0001",
        "remote_password s3cret",
        "cleansession false",
        "local_cleansession false",
        "bridge_cafile /etc/mosquitto/certs/central-ca.crt",
        "topic pos/v1/+/evt/# out 1",
        "topic pos/v1/+/telemetry out 0",
        "topic pos/v1/+/ack/# in 1",
        "topic pos/v1/+/cmd/req in 1",
        "topic pos/v1/store/s0001/catalog/# in 1",
        "topic pos/v1/central/state/+ in 1",
    ):
        assert line in lines
    out = {line.split()[1] for line in lines if line.startswith("topic ") and " out " in line}
    into = {line.split()[1] for line in lines if line.startswith("topic ") and " in " in line}
    assert not out & into, "a topic both ways would loop"


def test_bridge_conf_without_cafile_has_no_tls_lines() -> None:
    settings = BridgeSettings((("127.0.0.1", 1883),), cafile=None, protocol="mqttv311")
    text = bc.bridge_conf(STORE, "pw", settings)
    assert "bridge_cafile" not in text
    assert "bridge_protocol_version mqttv311" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"addresses": ()}, "at least one central broker address"),
        ({"addresses": (("", 8883),)}, "bridge address :8883"),
        ({"addresses": (("a b", 8883),)}, "bridge address a b:8883"),
        ({"addresses": (("central", 0),)}, "bridge address central:0"),
        ({"protocol": "mqttv31"}, "bridge protocol 'mqttv31'"),
        ({"restart_timeout": (5, 2)}, "restart_timeout 5 2"),
    ],
)
def test_bridge_settings_reject_bad_values(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"addresses": (("central", 8883),), **kwargs}
    with pytest.raises(BrokerConfigError, match=message):
        BridgeSettings(**fields)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ CLI
STORE_ARGS = [
    "store", "--store", "s0001", "--kiosk", "s0001-k01", "--kiosk", "s0001-k02",
    "--consumer", "inventory-1:inventory", "--admin", "ops", "--central", "central.example:8883",
]  # fmt: skip


def test_cli_store_writes_acl_passwd_bridge_and_secrets(tmp_path: Path) -> None:
    assert bc.main([*STORE_ARGS, "--out", str(tmp_path)]) == 0
    folder = tmp_path / "store-s0001"
    assert sorted(p.name for p in folder.iterdir()) == ["acl", "bridge-central.conf", "passwd"]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    secrets = {p.stem: p for p in (tmp_path / "credentials").iterdir()}
    assert sorted(secrets) == ["bridge-s0001", "inventory-1", "ops", "s0001-k01", "s0001-k02"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in secrets.values())
    entries = dict(line.split(":", 1) for line in (folder / "passwd").read_text().splitlines())
    assert sorted(entries) == ["inventory-1", "ops", "s0001-k01", "s0001-k02"]  # no bridge
    for name, encoded in entries.items():
        assert bc.verify_password(encoded, secrets[name].read_text().strip())
    bridge_secret = secrets["bridge-s0001"].read_text().strip()
    assert f"remote_password {bridge_secret}" in (folder / "bridge-central.conf").read_text()


def test_cli_rerun_with_a_new_kiosk_keeps_every_other_password(tmp_path: Path) -> None:
    assert bc.main([*STORE_ARGS, "--out", str(tmp_path)]) == 0
    before = {p.name: p.read_text() for p in (tmp_path / "credentials").iterdir()}
    assert bc.main([*STORE_ARGS, "--kiosk", "s0001-k03", "--out", str(tmp_path)]) == 0
    after = {p.name: p.read_text() for p in (tmp_path / "credentials").iterdir()}
    assert set(after) - set(before) == {"s0001-k03.secret"}
    assert {name: after[name] for name in before} == before


def test_cli_central_shares_the_bridge_password_with_the_store(tmp_path: Path) -> None:
    assert bc.main([*STORE_ARGS, "--out", str(tmp_path)]) == 0
    code = bc.main(
        ["central", "--out", str(tmp_path), "--store", "s0001=s0001-k01,s0001-k02",
         "--consumer", "inventory-1:inventory", "--admin", "ops"]
    )  # fmt: skip
    assert code == 0
    entries = dict(
        line.split(":", 1) for line in (tmp_path / "central" / "passwd").read_text().splitlines()
    )
    assert sorted(entries) == ["bridge-s0001", "inventory-1", "ops"]
    secret = (tmp_path / "credentials" / "bridge-s0001.secret").read_text().strip()
    assert bc.verify_password(entries["bridge-s0001"], secret)
    assert "user bridge-s0001" in (tmp_path / "central" / "acl").read_text()


def test_cli_without_central_writes_no_bridge(tmp_path: Path) -> None:
    args = ["store", "--out", str(tmp_path), "--store", "s1", "--kiosk", "s1-k1"]
    assert bc.main(args) == 0
    assert sorted(p.name for p in (tmp_path / "store-s1").iterdir()) == ["acl", "passwd"]
    assert not (tmp_path / "credentials" / "bridge-s1.secret").exists()


def test_cli_bad_kiosk_id_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["store", "--out", str(tmp_path), "--store", "s1", "--kiosk", "K 1"]
    assert bc.main(args) == 2
    assert "kiosk id 'K 1'" in capsys.readouterr().err
    assert not (tmp_path / "store-s1").exists()


def test_cli_empty_secret_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "credentials").mkdir()
    (tmp_path / "credentials" / "s1-k1.secret").write_text("\n")
    args = ["store", "--out", str(tmp_path), "--store", "s1", "--kiosk", "s1-k1"]
    assert bc.main(args) == 2
    assert "s1-k1.secret is empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--central", "no-port"], "'no-port' is not HOST:PORT"),
        (["--consumer", "Inv"], "consumer username 'Inv'"),
    ],
)
def test_cli_bad_arguments_exit_2_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    base = ["store", "--out", str(tmp_path), "--store", "s1", "--kiosk", "s1-k1"]
    with pytest.raises(SystemExit) as exit_info:
        bc.main([*base, *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_conf_prints_the_shipped_file_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "provisioning.broker_config", "conf"],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    assert result.stdout == (SHIPPED / "mosquitto.conf").read_text(encoding="utf-8")

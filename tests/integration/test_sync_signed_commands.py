"""Signed fleet commands and config documents through a real Mosquitto and kiosk.db.

The fleet side is ``kiosk-central fleet`` (``central.cli`` / ``central.fleet``); the kiosk is a
real ``SyncAgent`` over ``kiosk.store.fleet_trust.SqliteSyncStore`` with a pinned fleet key.
A signed command runs and is answered on its Response Topic; unsigned and forged ones are
refused with the reason and run nothing; a replay is refused after a restart; a config
document is applied in kiosk.db and reported; a key rotation switches the accepted key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central import fleet
from central.cli import main as central_main
from central.config import BrokerEndpoint, MqttConfig
from kiosk.store.fleet_trust import open_sync_store
from tests.infra.mosquitto import Broker
from tests.integration import sync_kit
from tests.integration.conftest import KIOSK, STORE
from tests.integration.sync_kit import AgentThread, Consumer, Lane, Watcher, wait_until

CMD_REQ = f"pos/v1/{KIOSK}/cmd/req"
CMD_RES = f"pos/v1/{KIOSK}/cmd/res"
STATE = f"pos/v1/{KIOSK}/state"
REPORTED = f"pos/v1/{KIOSK}/cfg/reported"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker").start()
    yield b
    b.kill()


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    kit = Lane(tmp_path / "var" / "kiosk.db")
    yield kit
    kit.close()


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "fleet"
    assert central_main(["fleet", "keygen", "--out", str(folder)]) == 0
    return folder / "fleet.key", folder / "fleet.pub"


@pytest.fixture
def agent_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """``AgentThread`` opens the store with fleet trust, as ``python -m kiosk.sync`` does."""
    monkeypatch.setattr(sync_kit, "open_outbox", open_sync_store)


def _settings(lane: Lane, broker: Broker, public: Path, **sync: Any) -> Any:
    return sync_kit.make_settings(lane.db_path, broker.port, fleet_public_key=str(public), **sync)


def _central_toml(folder: Path, port: int) -> Path:
    path = folder / "central.toml"
    text = f'[kiosks]\nstores = ["{STORE}"]\n[[broker]]\nhost = "127.0.0.1"\nport = {port}\n'
    path.write_text(text, encoding="utf-8")
    return path


def _mqtt(port: int) -> MqttConfig:
    return MqttConfig(brokers=(BrokerEndpoint("127.0.0.1", port),))


def _audit(lane: Lane) -> list[dict[str, Any]]:
    rows = lane.db.conn.execute("SELECT detail FROM audit WHERE kind='command' ORDER BY id")
    return [json.loads(r[0]) for r in rows]


def _ask(port: int, key: Ed25519PrivateKey, cmd: str, args: dict[str, Any], jti: str) -> Any:
    cmd_id, token = fleet.sign_command(key, KIOSK, cmd, args, jti=jti)
    return token, fleet.send_command(_mqtt(port), KIOSK, cmd_id, token, timeout_s=10)


@pytest.mark.usefixtures("agent_store")
def test_signed_commands_run_forged_and_unsigned_ones_are_refused_and_run_nothing(
    broker: Broker,
    lane: Lane,
    keys: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    private, public = keys
    fleet_key = fleet.load_private_key(private)
    lane.sell(3)
    consumer = Consumer(broker.port).start()
    watcher = Watcher(broker.port, CMD_RES, STATE).start()
    try:
        with AgentThread(_settings(lane, broker, public)):
            wait_until(lambda: consumer.acked_up_to == 3, 15, "the 3 sales delivered and acked")
            # a signed ping through the admin CLI: answered ok, matched by correlation data
            config = _central_toml(tmp_path, broker.port)
            capsys.readouterr()
            code = central_main(
                ["fleet", "send-command", "--config", str(config), "--key", str(private),
                 "--kiosk", KIOSK, "--cmd", "ping", "--id", "ping-1", "--timeout", "10"]
            )  # fmt: skip
            answer = json.loads(capsys.readouterr().out)
            assert code == 0 and answer["status"] == "ok" and answer["cmd_id"] == "ping-1"
            assert answer["result"]["last_seq"] == 3

            # forged (another key claiming the fleet key's id) and unsigned resends of seq 1
            intruder = Ed25519PrivateKey.generate()
            claims = {"aud": KIOSK, "iat": int(time.time()), "exp": int(time.time()) + 60,
                      "jti": "evil-1", "cmd": "resend", "args": {"from_seq": 1}}  # fmt: skip
            headers = {"typ": "pos-cmd+jwt", "kid": fleet.key_id(fleet_key.public_key())}
            forged = jwt.encode(claims, intruder, algorithm="EdDSA", headers=headers)
            watcher.client.publish(CMD_REQ, forged, qos=1).wait_for_publish(5)
            watcher.publish(CMD_REQ, {"cmd_id": "plain-1", "cmd": "ping"})
            refused = wait_until(
                lambda: (
                    {
                        a["cmd_id"]: a for a in watcher.payloads(CMD_RES) if a["status"] != "ok"
                    }.keys()
                    >= {"evil-1", "plain-1"}
                    and {a["cmd_id"]: a for a in watcher.payloads(CMD_RES)}
                ),
                10,
                "the two refusals",
            )
            assert refused["evil-1"]["status"] == "rejected"
            assert refused["evil-1"]["result"]["reason"] == "bad_signature"
            assert refused["plain-1"]["result"]["reason"] == "unsigned"

            # the forged resend queued nothing: a signed resend of seq 3 is the only republish
            token, reply = _ask(broker.port, fleet_key, "resend", {"from_seq": 3}, "resend-3")
            assert reply["status"] == "ok" and reply["result"]["queued"] == 1
            third = lane.event_ids()[2]
            wait_until(lambda: consumer.counts()[third] == 2, 10, "seq 3 republished")

        # after a restart the same signed token is a replay: refused, nothing runs
        with AgentThread(_settings(lane, broker, public)):
            again = fleet.send_command(_mqtt(broker.port), KIOSK, "resend-3", token, timeout_s=10)
    finally:
        watcher.stop()
        consumer.stop()
    assert again["status"] == "rejected" and again["result"]["reason"] == "replayed"
    counts = consumer.counts()
    assert [counts[e] for e in lane.event_ids()] == [1, 1, 2]
    audited = [(a["cmd_id"], a["status"], (a["result"] or {}).get("reason")) for a in _audit(lane)]
    assert audited == [
        ("ping-1", "ok", None),
        ("evil-1", "rejected", "bad_signature"),
        ("plain-1", "rejected", "unsigned"),
        ("resend-3", "ok", None),
        ("resend-3", "rejected", "replayed"),
    ]


@pytest.mark.usefixtures("agent_store")
def test_config_documents_and_key_rotation_through_the_broker(
    broker: Broker,
    lane: Lane,
    keys: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    private, public = keys
    central = _central_toml(tmp_path, broker.port)
    document = tmp_path / "cfg.json"
    document.write_text('{"lane.idle_s": 90}', encoding="utf-8")
    send = ["fleet", "send-config", "--config", str(central), "--key", str(private),
            "--kiosk", KIOSK, "--file", str(document), "--timeout", "10"]  # fmt: skip
    watcher = Watcher(broker.port, STATE).start()
    try:
        with AgentThread(_settings(lane, broker, public)):
            wait_until(lambda: watcher.payloads(STATE), 10, "the birth")
            capsys.readouterr()
            assert central_main([*send, "--version", "2"]) == 0
            report = json.loads(capsys.readouterr().out)
            assert report == {
                "config_version": 2,
                "scope": "kiosk",
                "status": "applied",
                "jti": report["jti"],
            }
            # a document signed by a key the kiosk does not know is rejected and reported
            stranger = tmp_path / "stranger"
            assert central_main(["fleet", "keygen", "--out", str(stranger)]) == 0
            bad = [*send, "--version", "3"]
            bad[bad.index(str(private))] = str(stranger / "fleet.key")
            capsys.readouterr()
            assert central_main(bad) == 1
            rejected = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
            assert rejected["status"] == "rejected" and rejected["reason"] == "unknown_key"

            # rotate to a new key with no overlap: the new key works, the old one is refused
            new_folder = tmp_path / "new"
            assert central_main(["fleet", "keygen", "--out", str(new_folder)]) == 0
            assert central_main(
                ["fleet", "rotate-key", "--config", str(central), "--key", str(private),
                 "--kiosk", KIOSK, "--new-public-key", str(new_folder / "fleet.pub")]
            ) == 0  # fmt: skip
            new_key = fleet.load_private_key(new_folder / "fleet.key")
            _t, ok = _ask(broker.port, new_key, "ping", {}, "after-rotation")
            old = fleet.load_private_key(private)
            _t, refused = _ask(broker.port, old, "ping", {}, "old-key")
        with AgentThread(_settings(lane, broker, public)):  # the rotation survives a restart
            births = wait_until(lambda: watcher.payloads(STATE)[2:], 10, "the second birth")
            _t, still = _ask(broker.port, old, "ping", {}, "old-key-2")
    finally:
        watcher.stop()
    assert ok["status"] == "ok"
    assert refused["result"]["reason"] == "retired_key"
    assert still["result"]["reason"] == "retired_key"
    assert births[0]["config_version"] == 2
    rows = lane.db.conn.execute("SELECT scope, config_version, body FROM fleet_config").fetchall()
    assert rows == [("kiosk", 2, '{"lane.idle_s":90}')]

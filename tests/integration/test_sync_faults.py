"""``kiosk sync`` under faults: refused publishes, broker list, TLS, broker crash, long outage.

The invariant after each fault: every sale reaches the consumer (at least once; exactly once
where nothing was lost in between), and no row is settled that its consumers did not ack.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.infra.mosquitto import Broker
from tests.infra.ports import free_port, wait_for_port
from tests.integration.conftest import KIOSK
from tests.integration.sync_kit import (
    AgentThread,
    Consumer,
    Lane,
    make_settings,
    wait_until,
)

STATE = f"pos/v1/{KIOSK}/state"
ACL_WITHOUT_EVENTS = f"""\
topic readwrite #

user {KIOSK}
topic write pos/v1/{KIOSK}/state
topic write pos/v1/{KIOSK}/telemetry
topic write pos/v1/{KIOSK}/cmd/res
topic read pos/v1/{KIOSK}/ack/#
topic read pos/v1/{KIOSK}/cmd/req
topic read pos/v1/central/state/#
"""


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    kit = Lane(tmp_path / "var" / "kiosk.db")
    yield kit
    kit.close()


def _assert_settled_only_when_acked(lane: Lane, consumer: Consumer) -> None:
    with consumer.lock:
        acked = set(consumer.acked_ids)
    assert lane.settled_ids() <= acked


def test_refused_publishes_stay_pending_and_are_retried_with_backoff(
    tmp_path: Path, lane: Lane, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "broker"
    folder.mkdir()
    acl = folder / "acl"
    acl.write_text(ACL_WITHOUT_EVENTS)
    passwords = folder / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwords), KIOSK, "kiosk-secret"], check=True
    )
    broker = Broker(folder, extra_config=f"acl_file {acl}\npassword_file {passwords}").start()
    caplog.set_level(logging.INFO, logger="kiosk.sync")
    lane.sell(5)
    consumer = Consumer(broker.port).start()
    settings = make_settings(
        lane.db_path, broker.port, broker={"username": KIOSK, "password": "kiosk-secret"}
    )
    try:
        with AgentThread(settings) as runner:
            stats = runner.agent.relay.stats
            wait_until(lambda: stats.refused >= 3, 10, "refused publishes retried")
            assert lane.states() == {"pending": 5}  # a refused event is never marked sent
            assert consumer.seqs() == []
            wait_until(lambda: min(r[3] for r in lane.rows()) >= 1, 10, "attempts counted")
            assert stats.last_refusal == "0x87 Not authorized"
            # The store's administrator fixes the ACL; the broker reloads it on SIGHUP.
            acl.write_text(ACL_WITHOUT_EVENTS + f"topic write pos/v1/{KIOSK}/evt/#\n")
            assert broker.process is not None
            broker.process.send_signal(signal.SIGHUP)
            wait_until(lambda: lane.states() == {"settled": 5}, 20, "settled after the fix")
    finally:
        consumer.stop()
        broker.kill()
    assert sorted(set(consumer.seqs())) == [1, 2, 3, 4, 5]
    assert "broker refused seq 1: 0x87 Not authorized" in caplog.text


def test_the_next_broker_of_the_list_is_used_when_the_first_is_down(
    tmp_path: Path, lane: Lane
) -> None:
    broker = Broker(tmp_path / "broker").start()
    lane.sell(3)
    consumer = Consumer(broker.port).start()
    dead = free_port()
    try:
        with AgentThread(make_settings(lane.db_path, [dead, broker.port])) as runner:
            wait_until(lambda: lane.states() == {"settled": 3}, 10, "settled via the backup")
            assert runner.agent.client.broker is not None
            assert runner.agent.client.broker.port == broker.port
    finally:
        consumer.stop()
        broker.kill()


def _pki(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate for the kiosk."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sync test CA")])
    files: dict[str, Path] = {}

    def issue(name: str, key: ec.EllipticCurvePrivateKey, *, ca: bool, server: bool) -> None:
        subject = ca_name if ca else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        files[f"{name}.crt"] = folder / f"{name}.crt"
        files[f"{name}.crt"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[f"{name}.key"] = folder / f"{name}.key"
        files[f"{name}.key"].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    folder.mkdir(parents=True, exist_ok=True)
    issue("ca", ca_key, ca=True, server=False)
    issue("server", ec.generate_private_key(ec.SECP256R1()), ca=False, server=True)
    issue(KIOSK, ec.generate_private_key(ec.SECP256R1()), ca=False, server=False)
    return files


def test_tls_with_a_client_certificate(tmp_path: Path, lane: Lane) -> None:
    pki = _pki(tmp_path / "pki")
    tls_port = free_port()
    broker = Broker(
        tmp_path / "broker",
        extra_config="\n".join(
            [
                f"listener {tls_port} 127.0.0.1",
                f"cafile {pki['ca.crt']}",
                f"certfile {pki['server.crt']}",
                f"keyfile {pki['server.key']}",
                "require_certificate true",
                "use_identity_as_username true",
            ]
        ),
    ).start()
    wait_for_port(tls_port)
    lane.sell(2)
    consumer = Consumer(broker.port).start()  # the plain listener, for the test's consumer
    settings = make_settings(
        lane.db_path,
        tls_port,
        broker={"tls": True},
        tls_ca_file=str(pki["ca.crt"]),
        tls_cert_file=str(pki[f"{KIOSK}.crt"]),
        tls_key_file=str(pki[f"{KIOSK}.key"]),
    )
    try:
        with AgentThread(settings):
            wait_until(lambda: lane.states() == {"settled": 2}, 10, "settled over TLS")
    finally:
        consumer.stop()
        broker.kill()
    assert consumer.seqs() == [1, 2]


def test_broker_killed_and_restarted_mid_burst_loses_nothing(tmp_path: Path, lane: Lane) -> None:
    broker = Broker(tmp_path / "broker").start()
    lane.sell(2000)
    consumer = Consumer(broker.port).start()
    settings = make_settings(lane.db_path, broker.port, window=50, ack_timeout_s=1.0)
    try:
        with AgentThread(settings):
            wait_until(lambda: len(consumer.seqs()) >= 400, 20, "the burst under way")
            broker.kill()  # SIGKILL: whatever the broker had not saved is gone
            _assert_settled_only_when_acked(lane, consumer)
            assert lane.states()["settled"] < 2000
            broker.start()
            wait_until(lambda: lane.states() == {"settled": 2000}, 60, "all settled again")
            _assert_settled_only_when_acked(lane, consumer)
    finally:
        consumer.stop()
        broker.kill()
    assert set(consumer.counts()) == set(lane.event_ids())  # nothing lost
    assert consumer.contiguous == 2000


def test_a_10000_sale_backlog_made_while_the_broker_is_down_is_delivered_once(
    tmp_path: Path, lane: Lane
) -> None:
    broker = Broker(tmp_path / "broker").start()
    consumer = Consumer(broker.port).start()  # its persistent session outlives the outage
    broker.stop()
    settings = make_settings(lane.db_path, broker.port, window=100)
    try:
        with AgentThread(settings) as runner:
            lane.sell_in_batches(10_000)  # the lane sells on while the broker is away
            assert lane.states() == {"pending": 10_000}
            assert not runner.agent.client.connected
            started = time.monotonic()
            broker.start()
            wait_until(lambda: lane.states() == {"settled": 10_000}, 60, "the backlog settled")
            drained = time.monotonic() - started
            stats = runner.agent.relay.stats
    finally:
        consumer.stop()
        broker.kill()
    counts = consumer.counts()
    assert len(counts) == 10_000 and set(counts.values()) == {1}  # each delivered once
    assert consumer.seqs() == list(range(1, 10_001))
    assert stats.max_in_flight <= 100
    assert stats.republished == 0
    assert drained < 45, f"draining 10 000 sales took {drained:.1f} s"


def test_a_frozen_broker_is_detected_by_keepalive_and_nothing_is_lost(
    tmp_path: Path, lane: Lane
) -> None:
    """A partition: the broker's process is stopped (SIGSTOP), so its sockets stay open but
    nothing answers; the agent must notice by keepalive, keep retrying, and recover."""
    broker = Broker(tmp_path / "broker").start()
    assert broker.process is not None
    lane.sell_in_batches(600)
    consumer = Consumer(broker.port).start()
    settings = make_settings(
        lane.db_path,
        broker.port,
        window=20,
        keepalive_s=1,
        connect_timeout_s=1.0,
        ack_timeout_s=2.0,
    )
    try:
        with AgentThread(settings) as runner:
            wait_until(lambda: len(consumer.seqs()) >= 100, 20, "publishing under way")
            broker.process.send_signal(signal.SIGSTOP)
            wait_until(lambda: not runner.agent.client.connected, 10, "the partition noticed")
            _assert_settled_only_when_acked(lane, consumer)
            broker.process.send_signal(signal.SIGCONT)
            wait_until(lambda: lane.states() == {"settled": 600}, 60, "all settled after")
            _assert_settled_only_when_acked(lane, consumer)
    finally:
        if broker.process is not None:
            broker.process.send_signal(signal.SIGCONT)
        consumer.stop()
        broker.kill()
    assert set(consumer.counts()) == set(lane.event_ids())


def test_kiosk_db_refusing_writes_pauses_the_agent_without_losing_anything(
    tmp_path: Path, lane: Lane, caplog: pytest.LogCaptureFixture
) -> None:
    """The agent's own connection refuses writes (``PRAGMA query_only``, as a read-only file
    system would): PUBACK results and acks wait, nothing crashes; writable again, all settle."""
    broker = Broker(tmp_path / "broker").start()
    lane.sell_in_batches(30)
    consumer = Consumer(broker.port).start()
    caplog.set_level(logging.ERROR, logger="kiosk.sync")
    runner = AgentThread(make_settings(lane.db_path, broker.port, window=10))
    runner.store._conn.execute("PRAGMA query_only = 1")
    try:
        with runner:
            wait_until(lambda: "kiosk.db error; retrying" in caplog.text, 10, "the error logged")
            wait_until(lambda: consumer.acked_up_to >= 10, 10, "the consumer acked a window")
            assert lane.states() == {"pending": 30}  # nothing could be written
            assert runner.agent.relay.stats.published == 10  # and nothing more was read
            runner.store._conn.execute("PRAGMA query_only = 0")
            wait_until(lambda: lane.states() == {"settled": 30}, 20, "all settled")
    finally:
        consumer.stop()
        broker.kill()
    assert runner.error is None
    assert set(consumer.counts()) == set(lane.event_ids())

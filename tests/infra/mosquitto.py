"""A private Mosquitto broker for tests: generated config, free port, kill and restart.

``Broker.start()`` runs Debian's ``mosquitto`` binary on 127.0.0.1 with a config written into
the test's folder; it never touches the system broker on 1883. ``kill()`` sends SIGKILL (a
crash), ``stop()`` SIGTERM, and ``start()`` again reuses the same port and persistence file,
so a restarted broker keeps its retained messages and persistent sessions, as a real one does.

``config_text`` replaces the generated config with a whole one (e.g. the production
mosquitto.conf rendered by provisioning.broker_config with test paths); it must have a
listener on ``port``, which ``start()`` waits for.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.infra.ports import free_port, wait_for_port, wait_port_closed

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@dataclass
class Broker:
    folder: Path
    port: int = field(default_factory=free_port)
    extra_config: str = ""
    process: subprocess.Popen[bytes] | None = None
    config_text: str | None = None
    tls_port: int | None = None  # a TLS listener that config_text defines, also waited for

    @property
    def config_path(self) -> Path:
        return self.folder / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.folder / "mosquitto.log"

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.config_text is not None:
            self.config_path.write_text(self.config_text, encoding="utf-8")
            return
        self.config_path.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    # As root, mosquitto would drop to the 'mosquitto' user, which cannot
                    # write the test's folder: stay the user that runs the tests.
                    f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                    "allow_anonymous true",
                    "persistence true",
                    f"persistence_location {self.folder}/",
                    "autosave_interval 1",
                    "max_queued_messages 100000",
                    "max_inflight_messages 100",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    self.extra_config,
                ]
            )
            + "\n",
            encoding="utf-8",
        )

    def start(self, timeout: float = 10.0) -> Broker:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"the broker on port {self.port} is already running")
        self.write_config()
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            wait_for_port(self.port, timeout)
            if self.tls_port is not None:
                wait_for_port(self.tls_port, timeout)
        except TimeoutError:
            self.kill()
            raise RuntimeError(
                f"mosquitto did not start on {self.port}: {self.log_path.read_text()[-2000:]}"
            ) from None
        return self

    def _signal(self, sig: signal.Signals, timeout: float) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, sig)
            process.wait(timeout)
        self.process = None
        wait_port_closed(self.port, timeout)

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL: a crash. Messages not yet saved to the persistence file are lost."""
        self._signal(signal.SIGKILL, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: a clean stop that saves the persistence file."""
        self._signal(signal.SIGTERM, timeout)

    def restart(self) -> Broker:
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


# --------------------------------------------------------------- the production store config
@dataclass(frozen=True)
class BrokerPki:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost (PEM files)."""

    ca: Path
    cert: Path
    key: Path


def make_test_pki(folder: Path) -> BrokerPki:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def cert(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name,
        signer: ec.EllipticCurvePrivateKey,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiosk test CA")])
    ca_cert = cert("kiosk test CA", ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = cert("localhost", server_key, ca_name, ca_key, ca=False)
    pki = BrokerPki(folder / "ca.crt", folder / "server.crt", folder / "server.key")
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pki


def production_broker(
    folder: Path, pki: BrokerPki, acl: str, passwd: str, includes: dict[str, str] | None = None
) -> Broker:
    """A Broker running provisioning/broker_config's production mosquitto.conf with this
    ACL and password file; only paths, ports, user, logging and autosave differ. ``port`` is
    the plain loopback listener, ``tls_port`` the TLS one. Not started."""
    from provisioning.broker_config import BrokerSettings, mosquitto_conf

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "acl").write_text(acl, encoding="utf-8")
    (folder / "passwd").write_text(passwd, encoding="utf-8")
    conf_d = folder / "conf.d"
    conf_d.mkdir(exist_ok=True)
    for name, text in (includes or {}).items():
        (conf_d / name).write_text(text, encoding="utf-8")
    port, tls_port = free_port(), free_port()
    settings = BrokerSettings(
        tls_port=tls_port,
        local_port=port,
        cafile=str(pki.ca),
        certfile=str(pki.cert),
        keyfile=str(pki.key),
        password_file=str(folder / "passwd"),
        acl_file=str(folder / "acl"),
        persistence_location=f"{folder}/",
        include_dir=str(conf_d),
        user=pwd.getpwuid(os.geteuid()).pw_name,
        pid_file=None,
        log_dest="stderr",
        autosave_interval=1,
    )
    return Broker(folder, port=port, config_text=mosquitto_conf(settings), tls_port=tls_port)


# ------------------------------------------------------------------------ a test MQTT client
class MqttProbe:
    """A paho MQTT v5 client that waits for each reply: ``connect()`` returns the CONNACK
    reason code, ``publish()`` the PUBACK's, ``subscribe()`` the SUBACK's; received messages
    queue up in ``messages`` for ``next_message()``."""

    def __init__(
        self,
        username: str | None,
        password: str | None = None,
        client_id: str = "",
        ca: Path | None = None,
    ) -> None:
        import queue
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or username or "", protocol=mqtt.MQTTv5
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.disconnects: list[int] = []
        self._had_connack = False
        self._replies: dict[tuple[str, int], Any] = {}
        self._cond = threading.Condition()
        self.client.on_connect = lambda c, _u, _f, rc, _p: self._connected(c, rc)
        self.client.on_publish = lambda _c, _u, mid, rc, _p: self._reply(("puback", mid), rc)
        self.client.on_subscribe = lambda _c, _u, mid, rcs, _p: self._reply(("suback", mid), rcs)
        self.client.on_message = lambda _c, _u, message: self.messages.put(message)
        self.client.on_disconnect = lambda c, _u, _f, rc, _p: self._disconnected(c, rc.value)

    def _reply(self, key: tuple[str, int], value: Any) -> None:
        with self._cond:
            self._replies[key] = value
            self._cond.notify_all()

    def _connected(self, client: Any, code: Any) -> None:
        self._had_connack = True
        if code.is_failure:
            client.disconnect()  # no reconnect attempts: loop_stop() returns at once
        self._reply(("connack", 0), code)

    def _disconnected(self, client: Any, code: int) -> None:
        with self._cond:
            if not self._had_connack:
                client.disconnect()  # closed before any CONNACK: do not retry either
            self.disconnects.append(code)
            self._cond.notify_all()

    def _wait(self, key: tuple[str, int], timeout: float) -> Any:
        with self._cond:
            if not self._cond.wait_for(lambda: key in self._replies, timeout):
                raise TimeoutError(f"no {key[0]} for {key[1]} within {timeout} s")
            return self._replies.pop(key)

    def connect(self, port: int, timeout: float = 5.0, **kwargs: Any) -> int:
        """Connect and return the CONNACK reason code (0 = accepted). A refused probe stops
        its network loop, so it does not retry; a connection closed before any CONNACK
        raises ConnectionError."""
        self.client.connect("127.0.0.1", port, **kwargs)
        self.client.loop_start()
        key = ("connack", 0)
        with self._cond:
            if not self._cond.wait_for(lambda: key in self._replies or self.disconnects, timeout):
                raise TimeoutError(f"no CONNACK from port {port} within {timeout} s")
            connack = self._replies.pop(key, None)
        if connack is None:
            self.close()
            raise ConnectionError(f"port {port} closed the connection before any CONNACK")
        if connack.value != 0:
            self.close()
        return int(connack.value)

    def publish(
        self, topic: str, payload: bytes, qos: int = 1, retain: bool = False, timeout: float = 5.0
    ) -> int:
        """Publish and return the PUBACK reason code (QoS 1)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return int(self._wait(("puback", info.mid), timeout).value)

    def subscribe(self, topic_filter: str, qos: int = 1, timeout: float = 5.0) -> int:
        """Subscribe and return the SUBACK reason code (the granted QoS, or >= 0x80)."""
        _rc, mid = self.client.subscribe(topic_filter, qos=qos)
        codes = self._wait(("suback", mid or 0), timeout)
        return int(codes[0].value)

    def next_message(self, timeout: float = 5.0) -> tuple[str, bytes]:
        message = self.messages.get(timeout=timeout)
        return message.topic, bytes(message.payload)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

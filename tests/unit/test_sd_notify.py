"""systemd's notify protocol: kiosk.app.sd_notify and central's copy, on a real AF_UNIX socket."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.runtime import SdNotify
from kiosk.app.sd_notify import Heartbeat, Notifier, ServiceNotifier


class NotifySocket:
    """What systemd listens on: a datagram socket bound to a path (or an abstract name)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        bind = b"\0" + address[1:].encode() if address.startswith("@") else address
        self.sock.bind(bind)
        self.sock.settimeout(5.0)

    def receive(self) -> str:
        return self.sock.recv(4096).decode()

    def receive_until(self, wanted: str, timeout: float = 5.0) -> list[str]:
        """Messages until one holding ``wanted``; all of them."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen.append(self.receive())
            if wanted in seen[-1].splitlines():
                return seen
        raise AssertionError(f"no {wanted} within {timeout} s: {seen}")

    def nothing_pending(self) -> bool:
        self.sock.setblocking(False)
        try:
            self.sock.recv(4096)
        except BlockingIOError:
            return True
        finally:
            self.sock.settimeout(5.0)
        return False


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    listener = NotifySocket(str(tmp_path / "notify"))
    yield listener
    listener.sock.close()


def test_ready_status_stopping_arrive_as_datagrams(notify_socket: NotifySocket) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": notify_socket.address})
    assert notifier.enabled
    assert notifier.ready("lane up")
    assert notify_socket.receive() == "READY=1\nSTATUS=lane up"
    assert notifier.status("draining")
    assert notify_socket.receive() == "STATUS=draining"
    assert notifier.stopping()
    assert notify_socket.receive() == "STOPPING=1"


def test_abstract_socket_name(tmp_path: Path) -> None:
    name = f"@kiosk-test-{os.getpid()}-{tmp_path.name}"
    listener = NotifySocket(name)
    try:
        assert Notifier.from_env({"NOTIFY_SOCKET": name}).notify("READY=1")
        assert listener.receive() == "READY=1"
    finally:
        listener.sock.close()


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog_interval() is None
    assert notifier.start_watchdog() is False


def test_a_bad_notify_socket_is_ignored_with_a_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "relative/path"})
    assert not notifier.enabled
    assert "NOTIFY_SOCKET 'relative/path' is neither a path nor @abstract" in caplog.text
    with pytest.raises(ValueError, match="neither a path nor @abstract"):
        Notifier("relative/path")


def test_a_state_must_be_one_key_value_line(notify_socket: NotifySocket) -> None:
    notifier = Notifier(notify_socket.address)
    for bad in ("READY", "STATUS=a\nREADY=1"):
        with pytest.raises(ValueError, match="is not one KEY=VALUE line"):
            notifier.notify(bad)


def test_a_missing_socket_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(str(tmp_path / "gone"))
    with caplog.at_level(logging.INFO):
        assert notifier.ready() is False
    assert "sd_notify to" in caplog.text and "No such file" in caplog.text


def test_watchdog_interval_is_half_the_timeout_and_only_for_this_pid() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000"}
    assert Notifier.from_env(env).watchdog_interval() == 15.0
    assert Notifier.from_env({**env, "WATCHDOG_PID": "1"}, pid=2).watchdog_interval() is None
    assert Notifier.from_env({**env, "WATCHDOG_PID": "2"}, pid=2).watchdog_interval() == 15.0


@pytest.mark.parametrize("usec", ["soon", "0", "-5"])
def test_a_bad_watchdog_usec_is_ignored(usec: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": usec})
    assert notifier.watchdog_interval() is None
    assert f"WATCHDOG_USEC {usec!r}" in caplog.text


def test_watchdog_pings_while_alive_and_withholds_when_not(notify_socket: NotifySocket) -> None:
    notifier = Notifier(notify_socket.address, watchdog_usec=20_000)  # a ping every 10 ms
    answers = iter([True, True, False, False, False])
    done = threading.Event()

    def alive() -> bool:
        answer = next(answers, None)
        if answer is None:
            done.set()
            return False
        return answer

    assert notifier.start_watchdog(alive)
    try:
        assert done.wait(5.0)
    finally:
        notifier.stop_watchdog()
    assert [notify_socket.receive(), notify_socket.receive()] == ["WATCHDOG=1", "WATCHDOG=1"]
    assert notify_socket.nothing_pending()


def test_service_notifier_pings_only_while_the_loop_beats(notify_socket: NotifySocket) -> None:
    now = [0.0]
    service = ServiceNotifier(Notifier(notify_socket.address, 200_000), clock=lambda: now[0])
    service.ready("up")
    try:
        assert notify_socket.receive() == "READY=1\nSTATUS=up"
        assert notify_socket.receive_until("WATCHDOG=1")
        assert service.heartbeat.alive()
        now[0] = 0.5  # the loop has not beaten for more than the 0.1 s interval
        assert not service.heartbeat.alive()
        service.beat()
        assert service.heartbeat.alive()
    finally:
        service.stopping()
    assert notify_socket.receive_until("STOPPING=1")


def test_heartbeat_age() -> None:
    now = [10.0]
    beat = Heartbeat(2.0, lambda: now[0])
    now[0] = 12.0
    assert beat.alive()
    now[0] = 12.5
    assert not beat.alive()
    beat.beat()
    assert beat.alive()


def test_central_copy_sends_the_same_datagrams(notify_socket: NotifySocket) -> None:
    notify = SdNotify({"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "2000000"})
    assert notify.every_s == 1.0
    notify.send("READY=1")
    assert notify_socket.receive() == "READY=1"
    notify.watchdog(100.0)
    notify.watchdog(100.5)  # within the interval: no second ping
    notify.watchdog(101.0)
    assert notify_socket.receive() == "WATCHDOG=1"
    assert notify_socket.receive() == "WATCHDOG=1"
    assert notify_socket.nothing_pending()
    assert SdNotify({}).address is None
    pid = str(os.getpid() + 1)
    other = SdNotify({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000", "WATCHDOG_PID": pid})
    assert other.every_s is None

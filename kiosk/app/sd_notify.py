"""systemd's notify protocol (``sd_notify``) without a dependency: one datagram per message.

A service started with ``Type=notify`` tells systemd it is ready (``READY=1``), that it is
still alive (``WATCHDOG=1``, at least once per ``WatchdogSec=``) and that it is stopping
(``STOPPING=1``) by sending datagrams to the AF_UNIX socket named in ``$NOTIFY_SOCKET`` (a path,
or ``@name`` for the abstract namespace). Without ``$NOTIFY_SOCKET`` (under supervisor, in a
terminal, in tests) every call does nothing, so callers never need to check.

``Notifier.from_env()`` reads the environment once. ``watchdog_interval()`` is half of
``$WATCHDOG_USEC`` (systemd's advice), or None when no watchdog is set or ``$WATCHDOG_PID``
names another process. ``Notifier.start_watchdog(alive)`` starts a daemon timer thread that
sends ``WATCHDOG=1`` every interval while ``alive()`` returns True: a process whose working
thread is stuck stops pinging and systemd restarts it. ``alive`` runs on the timer thread and
must not block for long (it may wait with a timeout). Errors sending a datagram are logged,
never raised: losing a notification must not stop the service.

Used by ``kiosk sync`` (kiosk/sync/__main__.py) and the headless lane service
(kiosk/app/lane_service.py), from their main threads; the watchdog runs on its own thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final

logger = logging.getLogger(__name__)

READY: Final = "READY=1"
STOPPING: Final = "STOPPING=1"
WATCHDOG: Final = "WATCHDOG=1"


def _socket_address(value: str) -> str | bytes:
    """``$NOTIFY_SOCKET`` as an address: ``@name`` is in the abstract namespace."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


class Notifier:
    """Sends notify messages to ``address`` (None: does nothing)."""

    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        if address is not None and not (address.startswith(("/", "@"))):
            raise ValueError(f"NOTIFY_SOCKET {address!r} is neither a path nor @abstract")
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, pid: int | None = None) -> Notifier:
        """From ``$NOTIFY_SOCKET``, ``$WATCHDOG_USEC`` and ``$WATCHDOG_PID`` (systemd sets them).

        A bad ``$NOTIFY_SOCKET`` or ``$WATCHDOG_USEC`` is logged and ignored: the service runs
        on without notifying rather than refusing to start."""
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET") or None
        if address is not None and not address.startswith(("/", "@")):
            logger.error("NOTIFY_SOCKET %r is neither a path nor @abstract: ignored", address)
            address = None
        usec: int | None = None
        raw = env.get("WATCHDOG_USEC")
        if raw:
            watchdog_pid = env.get("WATCHDOG_PID")
            own_pid = os.getpid() if pid is None else pid
            try:
                usec = int(raw)
                if usec <= 0:
                    raise ValueError(raw)
                if watchdog_pid and int(watchdog_pid) != own_pid:
                    usec = None  # the watchdog belongs to another process (our parent)
            except ValueError:
                logger.error(
                    "WATCHDOG_USEC %r / WATCHDOG_PID %r are not valid: ignored", raw, watchdog_pid
                )
                usec = None
        return cls(address, usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *states: str) -> bool:
        """Send ``states`` (``KEY=VALUE`` lines) in one datagram; True when it was sent."""
        if self.address is None:
            return False
        for state in states:
            if "=" not in state or "\n" in state:
                raise ValueError(f"notify state {state!r} is not one KEY=VALUE line")
        payload = "\n".join(states).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(payload, _socket_address(self.address))
        except OSError as exc:
            # Nobody listens (any more): make run's start-up listener is gone after start.
            gone = isinstance(exc, FileNotFoundError | ConnectionRefusedError)
            logger.log(
                logging.INFO if gone else logging.WARNING, "sd_notify to %s: %s", self.address, exc
            )
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify(READY, *((f"STATUS={status}",) if status else ()))

    def stopping(self) -> bool:
        self.stop_watchdog()
        return self.notify(STOPPING)

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog_interval(self) -> float | None:
        """Seconds between two ``WATCHDOG=1`` (half the configured timeout), or None."""
        if self.address is None or self.watchdog_usec is None:
            return None
        return self.watchdog_usec / 2_000_000

    def start_watchdog(self, alive: Callable[[], bool] = lambda: True) -> bool:
        """Ping every ``watchdog_interval()`` while ``alive()``; False when no watchdog is set."""
        interval = self.watchdog_interval()
        if interval is None or self._thread is not None:
            return False
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._watchdog, args=(interval, alive), name="sd-watchdog", daemon=True
        )
        self._thread.start()
        return True

    def stop_watchdog(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(5.0)

    def _watchdog(self, interval: float, alive: Callable[[], bool]) -> None:
        while not self._stop.wait(interval):
            try:
                ok = alive()
            except Exception:
                logger.exception("watchdog liveness check failed")
                ok = False
            if ok:
                self.notify(WATCHDOG)
            else:
                logger.error("not alive: watchdog ping withheld (systemd restarts the service)")


class ServiceNotifier:
    """The notify life cycle of a service whose main loop calls ``beat()`` every round:
    ``ready()`` sends READY=1 and starts the watchdog, which pings only while the loop has
    beaten within the last ping interval; ``stopping()`` sends STOPPING=1 and ends the pings.
    ``kiosk sync`` uses it (``kiosk.sync.agent.run_sync``'s ``service``)."""

    def __init__(
        self, notifier: Notifier | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.notifier = notifier if notifier is not None else Notifier.from_env()
        interval = self.notifier.watchdog_interval()
        self.heartbeat = Heartbeat(interval or 0.0, clock)

    def ready(self, status: str | None = None) -> None:
        self.heartbeat.beat()
        self.notifier.ready(status)
        self.notifier.start_watchdog(self.heartbeat.alive)

    def beat(self) -> None:
        self.heartbeat.beat()

    def stopping(self) -> None:
        self.notifier.stopping()


class Heartbeat:
    """A loop's proof of life for the watchdog: the loop calls ``beat()`` every round, the
    watchdog's ``alive()`` is True when a beat came within ``max_age_s`` (any thread)."""

    def __init__(self, max_age_s: float, clock: Callable[[], float]) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._last = clock()

    def beat(self) -> None:
        self._last = self._clock()

    def alive(self) -> bool:
        return self._clock() - self._last <= self.max_age_s

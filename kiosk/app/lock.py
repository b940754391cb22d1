"""One kiosk process at a time drives the devices and the lane: ``KioskLock``.

``KioskLock.acquire(data_dir, what)`` takes an exclusive ``flock`` on ``<data_dir>/kiosk.lock``
(created if missing) without waiting, and writes the holder (pid, command, start time) into the
file. A second ``kiosk sim``, ``kiosk run`` or ``kiosk hw ...`` on the same kiosk is refused
with ``KioskBusy`` naming the holder and what to do, so two processes never pulse the same
relay, claim the same pins, or read the same scanner. The kernel drops the lock when the holder
exits, however it exits (SIGKILL included), so a crash never leaves a stale lock; the file
itself stays (removing it would race with the next holder).

The descriptor is close-on-exec: child processes do not inherit the lock. Threads: the main
thread takes it at start-up and releases it at exit.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from kiosk.errors import KioskError

logger = logging.getLogger(__name__)

LOCK_NAME = "kiosk.lock"


class KioskBusy(KioskError):
    """Another kiosk process holds the kiosk's lock."""


class KioskLock:
    """An exclusive lock on the kiosk's data folder; release it with ``release()`` or use it
    as a context manager."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, data_dir: str | os.PathLike[str], what: str) -> KioskLock:
        """Take the lock for ``what`` (e.g. ``"kiosk sim"``) or raise ``KioskBusy``."""
        folder = Path(data_dir)
        path = folder / LOCK_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise KioskError(f"cannot open the kiosk lock {path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise KioskError(f"cannot lock {path}: {exc.strerror}") from None
            raise KioskBusy(
                f"another kiosk process holds {path} ({holder(path)}): it drives this kiosk's "
                f"devices and lane. Stop it first (`sudo systemctl stop kiosk`, or end that "
                f"kiosk sim / kiosk hw) and run {what} again"
            ) from None
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, {what}, since {started}\n".encode())
        logger.info("kiosk lock %s taken by %s", path, what)
        return cls(path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock. Idempotent."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> KioskLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def holder(path: Path) -> str:
    """What the lock file says about its holder (``pid 123, kiosk sim, since ...``)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        return f"holder unknown: {exc.strerror}"
    return text or "holder unknown"

"""A private Mosquitto broker for tests: generated config, free port, kill and restart.

``Broker.start()`` runs Debian's ``mosquitto`` binary on 127.0.0.1 with a config written into
the test's folder; it never touches the system broker on 1883. ``kill()`` sends SIGKILL (a
crash), ``stop()`` SIGTERM, and ``start()`` again reuses the same port and persistence file,
so a restarted broker keeps its retained messages and persistent sessions, as a real one does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.infra.ports import free_port, wait_for_port, wait_port_closed

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@dataclass
class Broker:
    folder: Path
    port: int = field(default_factory=free_port)
    extra_config: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.folder / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.folder / "mosquitto.log"

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
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

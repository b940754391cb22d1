"""``make run`` / ``make stop``: a whole demo store under supervisord, in ``var/run-store/``.

``python -m provisioning.run_store start [--dir D] [--headless]`` writes into ``D``:

- ``kiosk/``: a demo kiosk (``kiosk demo init``: config, kiosk.db, catalog, staff, members)
  whose ``[broker]`` points at the private broker and whose ``[sync]`` reconnects quickly;
- ``broker/mosquitto.conf``: a private Mosquitto on a free loopback port (kept across runs
  while it stays free), anonymous, persistent;
- ``central/central.toml`` and ``central/central.db``: the consumers' SQLite database;
- ``supervisord.conf`` with the programs ``mosquitto``, ``central-inventory``,
  ``central-finance``, ``kiosk-sync`` and ``kiosk`` (``kiosk run --commands FIFO``, the Kivy
  touchscreen, when a display exists; otherwise ``kiosk run --headless --demo --commands
  FIFO``, and it says so);

then starts supervisord and waits until every program is RUNNING. A program that keeps
failing ends FATAL (``startretries``): start reports it with the tail of its log and exits 1.
A store already running is reported, not started twice. ``stop`` shuts supervisord down
(each program gets SIGTERM, then SIGKILL after ``stopwaitsecs``) and waits until it is gone;
``status`` prints the programs' states and what the store's event listener
(``provisioning.store_watch``) reported: a program that ended FATAL, or crashed again and again
after ``make run`` returned (it is stopped, not restarted forever). Databases and sales are kept
from one run to the next.

Runs on the main thread of ``make``'s Python; the programs are supervisord's children. Uses the
``kiosk`` and ``kiosk-central`` commands beside the running Python (the venv's ``bin``), never
their modules (the central-boundary contract).
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from provisioning import store_watch

DEFAULT_DIR = Path("var/run-store")
PROGRAMS = ("mosquitto", "central-inventory", "central-finance", "kiosk-sync", "kiosk")
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 60.0

# Quick reconnects for a store that starts all at once (keys: docs/mqtt-contract.md).
SYNC_KEYS = {
    "reconnect_min_s": "0.2",
    "reconnect_max_s": "5.0",
    "retry_min_s": "0.2",
    "retry_max_s": "5.0",
    "ack_timeout_s": "30.0",
    "telemetry_s": "30.0",
}


class RunStoreError(RuntimeError):
    """The store cannot be set up or started; the message says why and what to do."""


@dataclass(frozen=True)
class Layout:
    """Where everything of a run store lies, under ``root``."""

    root: Path

    @property
    def kiosk(self) -> Path:
        return self.root / "kiosk"

    @property
    def broker(self) -> Path:
        return self.root / "broker"

    @property
    def central(self) -> Path:
        return self.root / "central"

    @property
    def logs(self) -> Path:
        return self.root / "log"

    @property
    def conf(self) -> Path:
        return self.root / "supervisord.conf"

    @property
    def socket(self) -> Path:
        return self.root / "supervisor.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "supervisord.pid"

    @property
    def notify(self) -> Path:
        return self.root / "notify.sock"

    @property
    def commands(self) -> Path:
        return self.kiosk / "commands"

    @property
    def failures(self) -> Path:
        return self.logs / "failing.jsonl"

    def log(self, program: str) -> Path:
        return self.logs / f"{program}.log"


@dataclass(frozen=True)
class Program:
    name: str
    command: str
    priority: int
    # Up this long counts as started (RUNNING). A program that fails later than this is
    # restarted without end rather than ending FATAL: start also waits for each program's
    # READY=1 (ReadyListener) and reports one that exits before it.
    startsecs: int = 5
    stopwaitsecs: int = 15


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def broker_port(layout: Layout) -> int:
    """The port of an earlier run when still free (kiosks keep their config), else a new one."""
    conf = layout.broker / "mosquitto.conf"
    if conf.exists():
        match = re.search(r"^listener (\d+) 127\.0\.0\.1$", conf.read_text(), re.MULTILINE)
        if match and port_is_free(int(match.group(1))):
            return int(match.group(1))
    return free_port()


def display_reason(env: Mapping[str, str], root: Path = Path("/")) -> str | None:
    """Why a touchscreen can be shown here (None: no display)."""
    for name in ("WAYLAND_DISPLAY", "DISPLAY"):
        if env.get(name):
            return f"{name}={env[name]}"
    model = root / "proc/device-tree/model"
    try:
        is_pi = model.read_bytes().startswith(b"Raspberry Pi")
    except OSError:
        is_pi = False
    cards = sorted((root / "dev/dri").glob("card*")) if is_pi else []
    return f"KMS device {cards[0]} on a Raspberry Pi" if cards else None


def mosquitto_conf(layout: Layout, port: int) -> str:
    user = pwd.getpwuid(os.geteuid()).pw_name  # as root, mosquitto would switch to 'mosquitto'
    return (
        "\n".join(
            [
                "# Generated by provisioning/run_store.py for make run: a private demo broker.",
                f"listener {port} 127.0.0.1",
                f"user {user}",
                "allow_anonymous true",
                "persistence true",
                f"persistence_location {layout.broker}/",
                "autosave_interval 10",
                "max_queued_messages 100000",
                "log_dest stderr",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "connection_messages true",
            ]
        )
        + "\n"
    )


def central_toml(layout: Layout, port: int, store_id: str) -> str:
    return (
        "# Generated by provisioning/run_store.py for make run (keys: docs/central.md).\n"
        f'[database]\nurl = "sqlite:///{layout.central / "central.db"}"\n'
        f'[[broker]]\nhost = "127.0.0.1"\nport = {port}\n'
        "[mqtt]\nreconnect_min_s = 0.2\nreconnect_max_s = 5.0\n"
        f'[kiosks]\nstores = ["{store_id}"]\n'
    )


def set_keys(text: str, section: str, values: Mapping[str, str]) -> str:
    """``text`` (TOML) with ``key = value`` set in ``[section]``, replaced or appended."""
    lines = text.splitlines()
    header = re.compile(rf"^\[{re.escape(section)}\]\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        raise RunStoreError(f"the kiosk config has no [{section}] table")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    missing = dict(values)
    for i in range(start + 1, end):
        match = re.match(r"^\s*([A-Za-z0-9_]+)\s*=", lines[i])
        if match and match.group(1) in missing:
            lines[i] = f"{match.group(1)} = {missing.pop(match.group(1))}"
    added = [f"{key} = {value}" for key, value in missing.items()]
    return "\n".join([*lines[:end], *added, *lines[end:]]) + "\n"


def store_id(kiosk_toml: str) -> str:
    match = re.search(r'^\[store\][^\[]*?^id\s*=\s*"([^"]+)"', kiosk_toml, re.MULTILINE | re.DOTALL)
    if match is None:
        raise RunStoreError("the kiosk config has no [store] id")
    return match.group(1)


def programs(layout: Layout, bin_dir: Path, gui: bool) -> list[Program]:
    kiosk, central = bin_dir / "kiosk", bin_dir / "kiosk-central"
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    central_conf = layout.central / "central.toml"
    kiosk_conf = layout.kiosk / "kiosk.toml"
    lane = (
        f"{kiosk} run --commands {layout.commands} --config {kiosk_conf}"
        if gui
        else f"{kiosk} run --headless --demo --commands {layout.commands} --config {kiosk_conf}"
    )
    return [
        Program("mosquitto", f"{mosquitto} -c {layout.broker / 'mosquitto.conf'}", 10, 2),
        Program(
            "central-inventory", f"{central} --log-level INFO inventory --config {central_conf}", 20
        ),
        Program(
            "central-finance", f"{central} --log-level INFO finance --config {central_conf}", 20
        ),
        Program("kiosk-sync", f"{kiosk} sync --log-level INFO --config {kiosk_conf}", 30),
        Program("kiosk", lane, 40, stopwaitsecs=20),
    ]


def watch_command(layout: Layout, bin_dir: Path) -> str:
    """The event listener that reports a program that keeps failing (provisioning.store_watch)."""
    return (
        f"{bin_dir / 'python'} -m provisioning.store_watch --failures {layout.failures} "
        f"--socket {layout.socket}"
    )


def supervisord_conf(layout: Layout, progs: Sequence[Program], watch: str = "") -> str:
    parts = [
        "; Generated by provisioning/run_store.py (make run); make stop shuts it down.",
        f"[unix_http_server]\nfile={layout.socket}\nchmod=0700",
        f"[supervisord]\nlogfile={layout.log('supervisord')}\npidfile={layout.pidfile}\n"
        f"childlogdir={layout.logs}\ndirectory={layout.root}\nidentifier=kiosk-run-store\n"
        "logfile_maxbytes=5MB\nlogfile_backups=2\n"
        'environment=PYTHONUNBUFFERED="1",KIOSK_LOG_LEVEL="INFO",'
        f'NOTIFY_SOCKET="{layout.notify}"',
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        f"[supervisorctl]\nserverurl=unix://{layout.socket}",
    ]
    for p in progs:
        parts.append(
            f"[program:{p.name}]\ncommand={p.command}\ndirectory={layout.root}\n"
            f"priority={p.priority}\nautostart=true\nautorestart=true\n"
            f"startsecs={p.startsecs}\nstartretries=3\nstopsignal=TERM\n"
            f"stopwaitsecs={p.stopwaitsecs}\nstopasgroup=true\nkillasgroup=true\n"
            f"redirect_stderr=true\nstdout_logfile={layout.log(p.name)}\n"
            "stdout_logfile_maxbytes=10MB\nstdout_logfile_backups=3"
        )
    if watch:
        parts.append(
            f"[eventlistener:{store_watch.LISTENER}]\ncommand={watch}\n"
            f"directory={layout.root}\n"
            "events=PROCESS_STATE_EXITED,PROCESS_STATE_FATAL\nautostart=true\nautorestart=true\n"
            "priority=1\nbuffer_size=100\n"
            f"stderr_logfile={layout.log(store_watch.LISTENER)}\n"
            "stderr_logfile_maxbytes=1MB\nstderr_logfile_backups=1"
        )
    return "\n\n".join(parts) + "\n"


def _run(command: Sequence[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except OSError as exc:
        raise RunStoreError(f"{what}: cannot run {command[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        raise RunStoreError(f"{what} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def generate(layout: Layout, bin_dir: Path, gui: bool) -> list[Program]:
    """Write every config (and the demo kiosk and central schema) for a stopped store."""
    for needed in (bin_dir / "kiosk", bin_dir / "kiosk-central"):
        if not os.access(needed, os.X_OK):
            raise RunStoreError(f"{needed} not found: run make venv (or make run) first")
    for folder in (layout.kiosk, layout.broker, layout.central, layout.logs):
        folder.mkdir(parents=True, exist_ok=True)
    _run([str(bin_dir / "kiosk"), "demo", "init", "--dir", str(layout.kiosk)], "kiosk demo init")
    port = broker_port(layout)
    kiosk_toml = layout.kiosk / "kiosk.toml"
    text = set_keys(kiosk_toml.read_text(encoding="utf-8"), "broker", {"port": str(port)})
    kiosk_toml.write_text(set_keys(text, "sync", SYNC_KEYS), encoding="utf-8")
    (layout.broker / "mosquitto.conf").write_text(mosquitto_conf(layout, port), encoding="utf-8")
    central_conf = layout.central / "central.toml"
    central_conf.write_text(central_toml(layout, port, store_id(text)), encoding="utf-8")
    _run([str(bin_dir / "kiosk-central"), "db", "init", "--config", str(central_conf)], "db init")
    progs = programs(layout, bin_dir, gui)
    conf = supervisord_conf(layout, progs, watch_command(layout, bin_dir))
    layout.conf.write_text(conf, encoding="utf-8")
    return progs


def supervisord_pid(layout: Layout) -> int | None:
    """The pid of this store's supervisord when it runs."""
    try:
        pid = int(layout.pidfile.read_text().strip())
        os.kill(pid, 0)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"supervisord" in cmdline and str(layout.conf).encode() in cmdline else None


def _alive(pid: int) -> bool:
    try:
        return b"supervisord" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def status(layout: Layout) -> dict[str, tuple[str, int]]:
    """Program name -> (supervisor state, pid or 0), from ``supervisorctl status``."""
    done = subprocess.run(
        ["supervisorctl", "-c", str(layout.conf), "status"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    found = {}
    for line in done.stdout.splitlines():
        fields = line.replace(",", " ").split()
        if len(fields) >= 2 and fields[0] in PROGRAMS:
            pid = int(fields[3]) if fields[2:3] == ["pid"] and fields[3].isdigit() else 0
            found[fields[0]] = (fields[1], pid)
    return found


def states(layout: Layout) -> dict[str, str]:
    """Program name -> supervisor state (``RUNNING``, ``FATAL``...)."""
    return {name: state for name, (state, _pid) in status(layout).items()}


class ReadyListener:
    """The notify socket the programs are given while ``make run`` waits (``NOTIFY_SOCKET``):
    the pids that sent ``READY=1`` (the kernel's credentials of each datagram, as systemd
    does). Supervisor's RUNNING only means "up for startsecs", which a program that is slow
    to start on a busy machine reaches before it fails on its config."""

    def __init__(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.setblocking(False)
        self.ready: set[int] = set()

    def poll(self) -> set[int]:
        while True:
            try:
                data, ancillary, _flags, _addr = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except BlockingIOError:
                return self.ready
            for level, kind, cred in ancillary:
                if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS):
                    pid = struct.unpack("3i", cred[:12])[0]
                    if b"READY=1" in data.split(b"\n"):
                        self.ready.add(pid)

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc.strerror})"


def wait_running(
    layout: Layout, timeout: float, listener: ReadyListener, notifying: Sequence[str]
) -> None:
    """Wait until every program is RUNNING and each of ``notifying`` has sent READY=1; raise
    naming one that ended FATAL or exited before it was ready (with its log's tail)."""
    deadline = time.monotonic() + timeout
    first_pid: dict[str, int] = {}

    def failed(names: Sequence[str], why: str) -> RunStoreError:
        logs = "\n".join(f"--- {layout.log(n)} (last lines):\n{tail(layout.log(n))}" for n in names)
        return RunStoreError(f"{', '.join(names)} {why}:\n{logs}")

    while True:
        now = status(layout)
        ready = listener.poll()
        fatal = [name for name, (state, _) in now.items() if state in ("FATAL", "EXITED")]
        if fatal:
            raise failed(fatal, "keeps failing")
        for name, (_state, pid) in now.items():
            if pid:
                first_pid.setdefault(name, pid)
        exited = [
            n
            for n in notifying
            if n in first_pid and now[n][1] != first_pid[n] and first_pid[n] not in ready
        ]
        if exited:
            raise failed(exited, "exited before it was ready")
        waiting = [n for n in PROGRAMS if now.get(n, ("", 0))[0] != "RUNNING"]
        waiting += [n for n in notifying if now.get(n, ("", 0))[1] not in ready]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise failed(
                sorted(set(waiting)), f"not ready after {timeout:.0f} s ({states(layout)})"
            )
        time.sleep(0.2)


def start(layout: Layout, bin_dir: Path, headless: bool, env: Mapping[str, str]) -> str:
    """Start the store (or find it running); the summary to print. Raises RunStoreError."""
    if supervisord_pid(layout) is not None:
        return f"the store is already running: {states(layout)}\n" + summary(layout)
    reason = None if headless else display_reason(env)
    if reason is not None:
        note = f"display found ({reason}): starting the Kivy kiosk (kiosk run)"
    elif headless:
        note = "--headless: starting the lane without a screen (kiosk run --headless)"
    else:
        note = (
            "NO DISPLAY (no DISPLAY, no WAYLAND_DISPLAY, no KMS device of a Raspberry Pi): "
            "starting the headless lane instead of the touchscreen (kiosk run --headless)"
        )
    generate(layout, bin_dir, gui=reason is not None)
    layout.socket.unlink(missing_ok=True)
    notifying = [n for n in PROGRAMS if n != "mosquitto"]  # kiosk run sends READY=1 too
    listener = ReadyListener(layout.notify)
    try:
        _run(["supervisord", "-c", str(layout.conf)], "supervisord")
        wait_running(layout, START_TIMEOUT_S, listener, notifying)
    except RunStoreError as exc:
        raise RunStoreError(f"{exc}\n(the store is left running for a look: make stop)") from None
    finally:
        listener.close()
    return f"{note}\n" + summary(layout)


def summary(layout: Layout) -> str:
    kiosk = layout.kiosk
    return "\n".join(
        [
            f"store running under supervisord ({layout.conf})",
            f"  receipts   {kiosk / 'receipts'}/*.txt (text) and *.escpos (raw ESC/POS)",
            f"  databases  {kiosk / 'kiosk.db'} (kiosk), {layout.central / 'central.db'} (central)",
            f"  logs       {layout.logs}/<program>.log: {', '.join(PROGRAMS)}",
            f"  sell more  echo 'scan 6921168509256' > {layout.commands}",
            f"  status     python -m provisioning.run_store status (and what keeps failing: "
            f"{layout.failures})",
            "  stop       make stop",
        ]
    )


def stop(layout: Layout, timeout: float = STOP_TIMEOUT_S) -> str:
    pid = supervisord_pid(layout)
    if pid is None:
        return f"no store is running in {layout.root}"
    subprocess.run(
        ["supervisorctl", "-c", str(layout.conf), "shutdown"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    deadline = time.monotonic() + timeout
    while _alive(pid):  # supervisord removes its pidfile before its programs have stopped
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise RunStoreError(f"supervisord {pid} did not stop within {timeout:.0f} s: killed")
        time.sleep(0.1)
    return f"store stopped (supervisord {pid} and its programs)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m provisioning.run_store")
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="default: %(default)s")
    parser.add_argument("--headless", action="store_true", help="never start the Kivy kiosk")
    args = parser.parse_args(argv)
    layout = Layout(args.dir.resolve())
    bin_dir = Path(sys.executable).parent
    try:
        if args.action == "start":
            print(start(layout, bin_dir, args.headless, os.environ))
        elif args.action == "stop":
            print(stop(layout))
        elif supervisord_pid(layout) is None:
            print(f"no store is running in {layout.root}")
            return 3
        else:
            print("\n".join(f"{n:18} {s}" for n, s in states(layout).items()))
            for failure in store_watch.read_failures(layout.failures):
                print(f"reported {failure['at']}: {failure['why']}", end="")
                print(f" ({failure['action']})" if failure.get("action") else "")
    except RunStoreError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make run``'s store (provisioning/run_store.py): the generated files, the whole store under a
real supervisord (a sale reaches central; a SIGKILLed program comes back; stop leaves nothing),
a program that keeps failing, and the notify protocol of each long-running command."""

from __future__ import annotations

import configparser
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from provisioning import run_store
from provisioning.run_store import Layout, RunStoreError
from provisioning.store_watch import read_failures

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    not (BIN / "kiosk").exists(), reason="needs the venv's console scripts (make venv)"
)


def wait_until(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def program_pid(layout: Layout, name: str) -> int:
    out = subprocess.run(
        ["supervisorctl", "-c", str(layout.conf), "pid", name],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout.strip()
    return int(out) if out.isdigit() else 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        # A zombie is gone for our purposes.
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return f"{pid} (gone)"


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[Layout]:
    """A store folder; whatever the test left running is stopped (or killed) at the end."""
    store = Layout(tmp_path / "store")
    yield store
    pid = run_store.supervisord_pid(store)
    if pid is None:
        return
    pids = [program_pid(store, name) for name in run_store.PROGRAMS]
    try:
        run_store.stop(store, timeout=30)
    finally:
        for child in [p for p in pids if p and alive(p)]:
            os.kill(child, signal.SIGKILL)


# --------------------------------------------------------------------------- generated files
def test_generated_files_name_every_program_on_a_free_port(layout: Layout) -> None:
    programs = run_store.generate(layout, BIN, gui=False)
    parser = configparser.RawConfigParser()
    parser.read(layout.conf)
    sections = [s.removeprefix("program:") for s in parser.sections() if s.startswith("program:")]
    assert sections == list(run_store.PROGRAMS) == [p.name for p in programs]
    for name in sections:
        program = parser[f"program:{name}"]
        assert program["autorestart"] == "true"
        assert int(program["startretries"]) >= 1
        assert program["stdout_logfile"] == str(layout.log(name))
    assert parser["unix_http_server"]["file"] == str(layout.socket)
    assert parser["supervisord"]["pidfile"] == str(layout.pidfile)
    lane = parser["program:kiosk"]["command"]
    assert lane.split()[1:4] == ["run", "--headless", "--demo"]
    assert f"--commands {layout.commands}" in lane
    assert "inventory --config" in parser["program:central-inventory"]["command"]
    assert "finance --config" in parser["program:central-finance"]["command"]
    assert "sync" in parser["program:kiosk-sync"]["command"].split()

    broker = (layout.broker / "mosquitto.conf").read_text()
    port = int(broker.split("listener ")[1].split()[0])
    assert f"listener {port} 127.0.0.1" in broker and port != 1883
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free: nothing listens there yet
    kiosk = (layout.kiosk / "kiosk.toml").read_text()
    assert f"port = {port}" in kiosk.split("[broker]")[1].split("[")[0]
    assert "reconnect_min_s = 0.2" in kiosk.split("[sync]")[1].split("\n[")[0]
    central = (layout.central / "central.toml").read_text()
    assert f"port = {port}" in central and str(layout.central / "central.db") in central
    assert (layout.central / "central.db").exists() and (layout.kiosk / "kiosk.db").exists()
    check = subprocess.run(
        [str(BIN / "kiosk"), "config", "check", str(layout.kiosk / "kiosk.toml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr

    # Generated again (make run after make stop): the same port while it is free.
    run_store.generate(layout, BIN, gui=True)
    assert f"listener {port} " in (layout.broker / "mosquitto.conf").read_text()
    parser.read(layout.conf)
    assert "--headless" not in parser["program:kiosk"]["command"]


def test_display_detection(tmp_path: Path) -> None:
    assert run_store.display_reason({"DISPLAY": ":0"}) == "DISPLAY=:0"
    assert run_store.display_reason({"WAYLAND_DISPLAY": "wayland-0"}) == "WAYLAND_DISPLAY=wayland-0"
    assert run_store.display_reason({"DISPLAY": ""}, root=tmp_path) is None
    (tmp_path / "dev/dri").mkdir(parents=True)
    (tmp_path / "dev/dri/card1").touch()
    assert run_store.display_reason({}, root=tmp_path) is None  # a card, but not a Pi
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\0")
    assert run_store.display_reason({}, root=tmp_path) == (
        f"KMS device {tmp_path}/dev/dri/card1 on a Raspberry Pi"
    )


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(RunStoreError, match=r"has no \[sync\] table"):
        run_store.set_keys("[broker]\nport = 1\n", "sync", {"a": "1"})
    assert run_store.set_keys("[sync]\na = 1\n[x]\n", "sync", {"a": "2", "b": "3"}) == (
        "[sync]\na = 2\nb = 3\n[x]\n"
    )
    with pytest.raises(RunStoreError, match=r"no \[store\] id"):
        run_store.store_id("[kiosk]\nid = 'x'\n")
    with pytest.raises(RunStoreError, match="not found: run make venv"):
        run_store.generate(Layout(tmp_path), tmp_path, gui=False)


def test_stop_and_status_without_a_store(layout: Layout) -> None:
    assert run_store.stop(layout) == f"no store is running in {layout.root}"
    assert run_store.main(["status", "--dir", str(layout.root)]) == 3


# ------------------------------------------------------------------------- the whole store
def central_receipts(layout: Layout) -> list[str]:
    conn = sqlite3.connect(layout.central / "central.db", timeout=10)
    try:
        return [row[0] for row in conn.execute("SELECT receipt_no FROM sales ORDER BY seq")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


@pytest.mark.timeout(120)
def test_the_whole_store_sells_restarts_a_killed_program_and_stops(layout: Layout) -> None:
    text = run_store.start(layout, BIN, headless=False, env={})  # no DISPLAY: headless lane
    assert text.startswith("NO DISPLAY")
    assert f"{layout.kiosk / 'receipts'}" in text and "make stop" in text
    assert run_store.states(layout) == dict.fromkeys(run_store.PROGRAMS, "RUNNING")

    # The demo basket, sold by the lane, reaches central's ledger through sync and the broker.
    wait_until("the demo sale in central.db", lambda: central_receipts(layout) == ["s0001-k01-1"])
    receipts = layout.kiosk / "receipts"
    wait_until("the receipt files", (receipts / "s0001-k01-1.txt").exists)
    assert "Total" in (receipts / "s0001-k01-1.txt").read_text()
    assert (receipts / "s0001-k01-1.escpos").read_bytes().startswith(b"\x1b@")

    # More sales through the command pipe.
    with layout.commands.open("w") as pipe:
        pipe.write("start\nscan 6921168509256\npay card\n")
    wait_until("the second sale", lambda: central_receipts(layout)[-1:] == ["s0001-k01-2"])

    # make run again: the same store, not a second one.
    pids = {name: program_pid(layout, name) for name in run_store.PROGRAMS}
    assert run_store.start(layout, BIN, headless=True, env={}).startswith("the store is already")
    assert {name: program_pid(layout, name) for name in run_store.PROGRAMS} == pids

    # A crash: supervisor starts the program again.
    os.kill(pids["kiosk-sync"], signal.SIGKILL)
    wait_until(
        "kiosk-sync restarted",
        lambda: (
            program_pid(layout, "kiosk-sync") not in (0, pids["kiosk-sync"])
            and run_store.states(layout)["kiosk-sync"] == "RUNNING"
        ),
    )
    with layout.commands.open("w") as pipe:
        pipe.write("start\nscan 6950318800233\npay card\n")
    wait_until("a sale after the restart", lambda: len(central_receipts(layout)) == 3)

    # make stop: supervisord and every program gone.
    supervisord = run_store.supervisord_pid(layout)
    assert supervisord is not None
    every = [supervisord, *(program_pid(layout, n) for n in run_store.PROGRAMS)]
    assert run_store.stop(layout).startswith("store stopped")
    # supervisord has exited; a program it SIGKILLed may take a moment more to leave the
    # process table on a loaded machine
    wait_until(
        f"no program left: {[cmdline(pid) for pid in every if alive(pid)]}",
        lambda: not any(alive(pid) for pid in every),
        timeout=10,
    )
    assert run_store.supervisord_pid(layout) is None
    log = layout.log("supervisord").read_text()
    for name in ("kiosk", "kiosk-sync", "central-inventory", "central-finance", "mosquitto"):
        assert f"stopped: {name} (exit status 0)" in log, name


@pytest.mark.timeout(120)
def test_a_program_that_keeps_failing_is_reported_with_its_log(
    layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = run_store.programs
    missing = layout.root / "missing.toml"

    def broken_inventory(store: Layout, bin_dir: Path, gui: bool) -> list[run_store.Program]:
        progs = real(store, bin_dir, gui)
        bad = f"{bin_dir / 'kiosk-central'} inventory --config {missing}"
        return [replace(p, command=bad) if p.name == "central-inventory" else p for p in progs]

    monkeypatch.setattr(run_store, "programs", broken_inventory)
    with pytest.raises(RunStoreError) as failure:
        run_store.start(layout, BIN, headless=True, env={})
    message = str(failure.value)
    # FATAL after startretries, or seen exiting before its READY=1, whichever comes first.
    assert message.startswith(
        ("central-inventory keeps failing", "central-inventory exited before it was ready")
    )
    assert str(missing) in message  # the tail of its log says why
    assert "make stop" in message
    assert run_store.main(["stop", "--dir", str(layout.root)]) == 0
    assert run_store.supervisord_pid(layout) is None


@pytest.mark.timeout(180)
def test_a_program_that_crashes_again_after_start_is_stopped_and_reported(
    layout: Layout, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """After make run has returned: supervisord would restart it forever; the store's event
    listener (provisioning/store_watch.py) stops it and reports it (here at 2 crashes)."""
    real = run_store.watch_command
    monkeypatch.setattr(
        run_store, "watch_command", lambda store, bin_dir: f"{real(store, bin_dir)} --limit 2"
    )
    run_store.start(layout, BIN, headless=True, env={})
    assert "[eventlistener:store_watch]" in layout.conf.read_text()
    first = program_pid(layout, "central-finance")
    os.kill(first, signal.SIGKILL)
    wait_until(
        "central-finance running again",
        lambda: (
            program_pid(layout, "central-finance") not in (0, first)
            and run_store.states(layout)["central-finance"] == "RUNNING"
        ),
    )
    assert read_failures(layout.failures) == []  # one crash is not a loop
    os.kill(program_pid(layout, "central-finance"), signal.SIGKILL)
    wait_until("the crash loop reported", lambda: bool(read_failures(layout.failures)))
    (failure,) = read_failures(layout.failures)
    assert (failure["program"], failure["event"]) == ("central-finance", "crash_loop")
    assert failure["action"].startswith("stopped")
    wait_until(
        "central-finance stopped",
        lambda: run_store.states(layout)["central-finance"] == "STOPPED",
    )
    time.sleep(2)
    assert run_store.states(layout)["central-finance"] == "STOPPED"  # not restarted
    assert run_store.states(layout)["kiosk"] == "RUNNING"  # the rest of the store sells on
    capsys.readouterr()
    assert run_store.main(["status", "--dir", str(layout.root)]) == 0
    out = capsys.readouterr().out
    assert "central-finance keeps failing: 2 unexpected exits" in out
    assert "store_watch: central-finance keeps failing" in layout.log("store_watch").read_text()


# ------------------------------------------------------------------------ sd_notify in place
@pytest.mark.parametrize("program", ["kiosk-sync", "central-finance", "kiosk"])
def test_each_service_notifies_ready_watchdog_and_stopping(
    program: str, tmp_path: Path, layout: Layout
) -> None:
    run_store.generate(layout, BIN, gui=False)
    parser = configparser.RawConfigParser()
    parser.read(layout.conf)
    argv = parser[f"program:{program}"]["command"].split()
    address = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(30.0)
    env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"}
    env.pop("WATCHDOG_PID", None)
    log = (tmp_path / f"{program}.log").open("wb")
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    seen: list[str] = []
    try:
        seen.append(listener.recv(4096).decode())
        assert seen[0].startswith("READY=1"), seen
        seen.append(listener.recv(4096).decode())
        assert seen[1] == "WATCHDOG=1", seen
        process.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in seen:
            seen.append(listener.recv(4096).decode())
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()
        listener.close()

"""``kiosk hw list`` and ``kiosk hw test printer|drawer|light|scanner`` on demo kiosks in
tmp_path, ``kiosk config check`` of the device tables, and the kiosk lock that keeps a second
process off the devices. Fakes and gpiozero's mock pins in-process; the scanner tests and the
lock run the console script, reading its output as it comes."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from kiosk.app import KioskBusy, KioskLock
from kiosk.cli import main
from tests.integration.test_hw_serial_scanner import Pty

REPO = Path(__file__).resolve().parents[2]
KIOSK_SCRIPT = REPO / ".venv" / "bin" / "kiosk"
WAIT_S = 10.0
GPIO_MOCK = """[devices]
printer = "fake"
drawer = "gpio"
light = "gpio"
scanners = ["fake"]
pin_factory = "mock"
[devices.gpio_drawer]
relay_pin = 17
pulse_ms = 20
[devices.gpio_light]
green_pin = 24
amber_pin = 25
red_pin = 16
"""


pytestmark = pytest.mark.usefixtures("root_logging_restored")  # tests/integration/conftest.py


@pytest.fixture
def kiosk_dir(demo_template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "kiosk"
    shutil.copytree(demo_template, folder)
    return folder


@pytest.fixture
def config(kiosk_dir: Path) -> str:
    return str(kiosk_dir / "kiosk.toml")


def with_devices(config: str, devices: str) -> str:
    """Replace the config's [devices] section (up to [broker]) with ``devices``."""
    path = Path(config)
    text = path.read_text(encoding="utf-8")
    text, count = re.subn(r"(?s)\[devices\].*?(?=\n\[broker\])", devices.strip(), text)
    assert count == 1
    path.write_text(text, encoding="utf-8")
    return config


def script(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert KIOSK_SCRIPT.exists(), f"{KIOSK_SCRIPT}: run `pip install -e .` into .venv"
    return subprocess.run(
        [str(KIOSK_SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_line(proc: subprocess.Popen[bytes], timeout: float = WAIT_S) -> str:
    """The next stdout line of ``proc``, without waiting longer than ``timeout``."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no line from the kiosk within {timeout} s (so far {line!r})"
        chunk = os.read(fd, 1)
        assert chunk, f"the kiosk ended its output (so far {line!r})"
        line += chunk
    return line.decode()


# ------------------------------------------------------------------------------ hw list
def test_hw_list_json_with_fakes_lists_every_device_opened_and_ok(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hw", "list", "--json", "--config", config]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["device"], r["kind"], r["opened"], r["ok"]) for r in rows] == [
        ("printer", "fake", True, True),
        ("drawer", "fake", True, True),
        ("light", "fake", True, True),
        ("scanner", "fake", True, True),
    ]
    assert rows[0]["where"] == "simulated (kiosk.hw.fake)"
    assert rows[0]["detail"] == "ready"


def test_hw_list_table_with_fakes(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hw", "list", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "configured devices" in out
    for cell in ("printer", "drawer", "light", "scanner", "ok: ready"):
        assert cell in out


def test_hw_list_with_mock_pins_opens_the_gpio_devices_but_flags_the_simulation(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_devices(config, GPIO_MOCK)
    assert main(["hw", "list", "--json", "--config", config]) == 1
    rows = {row["device"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["pin factory"]["opened"] and not rows["pin factory"]["ok"]
    assert rows["pin factory"]["detail"] == "simulated pins: nothing wired is driven"
    assert rows["drawer"]["where"] == "relay BCM 17 (simulated pins (pin_factory = mock))"
    assert rows["drawer"]["opened"] and rows["drawer"]["ok"]
    assert rows["light"]["opened"] and rows["light"]["detail"] == "off"


def test_hw_list_with_lgpio_missing_says_what_to_install_for_each_gpio_device(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_devices(config, GPIO_MOCK.replace('"mock"', '"lgpio"'))
    assert main(["hw", "list", "--json", "--config", config]) == 1
    rows = {row["device"]: row for row in json.loads(capsys.readouterr().out)}
    for device in ("pin factory", "drawer", "light"):
        detail = rows[device]["detail"]
        assert rows[device]["opened"] is False
        assert "pin factory 'lgpio' failed to load: No module named 'lgpio'" in detail
        assert "install python3-lgpio" in detail
    assert rows["printer"]["opened"] and rows["scanner"]["opened"]


# ------------------------------------------------------------------------------ hw test
def test_hw_test_light_cycles_every_state_with_fakes(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hw", "test", "light", "--hold", "0", "--config", config]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "light light: ready (green steady)",
        "light light: attention (amber blinking 1 Hz)",
        "light light: intervention (red blinking 2 Hz)",
        "light light: out_of_service (red steady)",
    ]


def test_hw_test_light_on_mock_pins(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    with_devices(config, GPIO_MOCK)
    assert main(["hw", "test", "light", "--hold", "0", "--config", config]) == 0
    assert capsys.readouterr().out.count("light light: ") == 4


def test_hw_test_printer_prints_a_test_page_with_fakes(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hw", "test", "printer", "--config", config]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"printer printer: test page TEST-\d{8}-\d{6} printed", out[0])
    assert out[1] == "printer printer: status online=True, paper=ok, cover_open=False"


def test_hw_test_printer_over_a_file_transport(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "lp0"
    with_devices(
        config,
        f'[devices]\nprinter = "escpos"\n[devices.escpos_printer]\ntransport = "file"\n'
        f'file_path = "{out_file}"\nprofile = "generic-58"\n',
    )
    assert main(["hw", "test", "printer", "--config", config]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert re.fullmatch(r"printer printer: test page (TEST-\S+) printed \(\d+ bytes\)", first)
    assert b"TEST-" in out_file.read_bytes()


def test_hw_test_drawer_pulses_and_reports_the_switch(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hw", "test", "drawer", "--config", config]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "drawer drawer: pulsed (simulated (kiosk.hw.fake))",
        "drawer drawer: the switch reads OPEN",
    ]


def test_hw_test_drawer_on_mock_pins_without_a_switch(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_devices(config, GPIO_MOCK)
    assert main(["hw", "test", "drawer", "--config", config]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "drawer drawer: no drawer switch: check by eye that the drawer opened"


def test_hw_test_drawer_that_cannot_be_opened_exits_1(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_devices(config, GPIO_MOCK.replace('"mock"', '"lgpio"'))
    assert main(["hw", "test", "drawer", "--config", config]) == 1
    out = capsys.readouterr().out
    assert out.startswith("drawer: drawer (gpio, relay BCM 17): pin factory 'lgpio' failed")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["scanner", "--timeout", "0"], "config key '--timeout': 0.0 must be more than 0 seconds"),
        (["light", "--hold", "-1"], "config key '--hold': -1.0 must not be negative"),
    ],
)
def test_hw_test_bad_option_exits_2(
    config: str, capsys: pytest.CaptureFixture[str], args: list[str], problem: str
) -> None:
    assert main(["hw", "test", *args, "--config", config]) == 2
    assert capsys.readouterr().err == f"kiosk: {problem}\n"


def test_hw_test_scanner_echoes_a_fake_scan_from_stdin_with_its_classification(
    config: str,
) -> None:
    done = script("hw", "test", "scanner", "--timeout", "10", "--config", config,
                  stdin="6921168509256\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("scan a barcode within 10 s with scanner (fake)")
    assert lines[1] == "scanner scanner: '6921168509256' -> product gtin=06921168509256 " \
        "symbology=ean13"  # fmt: skip


def test_hw_test_scanner_without_a_scan_gives_up_after_the_timeout(config: str) -> None:
    done = script("hw", "test", "scanner", "--timeout", "0.3", "--config", config, stdin="")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "no scan within 0.3 s"


def test_hw_test_scanner_reads_a_serial_scanner_on_a_pty(config: str) -> None:
    pty = Pty()
    with_devices(config, f'[devices]\nscanner = "serial"\n[devices.serial_scanner]\n'
                         f'device = "{pty.path}"\nname = "bioptic"\n')  # fmt: skip
    proc = subprocess.Popen(
        [str(KIOSK_SCRIPT), "hw", "test", "scanner", "--timeout", "10", "--config", config],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert read_line(proc).startswith("scan a barcode within 10 s with bioptic (serial)")
        # The reader thread opens the port right after that line; keep offering the code
        # until it is read (what a person does: scan again).
        deadline = time.monotonic() + WAIT_S
        assert proc.stdout is not None
        while not select.select([proc.stdout.fileno()], [], [], 0.1)[0]:
            assert time.monotonic() < deadline, "the scan never arrived"
            pty.write(b"ST0001\r")
        assert read_line(proc) == "scanner bioptic: 'ST0001' -> staffbadge code=ST0001\n"
        assert proc.wait(WAIT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
        pty.close()


# ------------------------------------------------------------------------------ config check
def test_config_check_checks_device_tables_without_opening_anything(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_devices(config, GPIO_MOCK.replace('"mock"', '"lgpio"'))  # lgpio is not installed
    assert main(["config", "check", config]) == 0
    assert capsys.readouterr().out.startswith(f"{config}: ok")


def test_config_check_names_a_bad_device_setting(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_devices(config, GPIO_MOCK.replace("pulse_ms = 20", "pulse_ms = 600"))
    assert main(["config", "check", config]) == 2
    assert capsys.readouterr().err == (
        "kiosk: config key 'devices.gpio_drawer.pulse_ms': must be 20..500, got 600\n"
    )


# ------------------------------------------------------------------------------ the lock
def test_lock_refuses_a_second_process_while_kiosk_sim_runs(config: str, kiosk_dir: Path) -> None:
    sim = subprocess.Popen(
        [str(KIOSK_SCRIPT), "sim", "--json", "--config", config],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert json.loads(read_line(sim))["event"] == "ready"
        refused = script("hw", "list", "--config", config)
        assert refused.returncode == 1
        assert refused.stdout == ""
        lock = kiosk_dir / "kiosk.lock"
        assert refused.stderr.startswith(
            f"kiosk: another kiosk process holds {lock} (pid {sim.pid}, kiosk sim, since "
        )
        assert "Stop it first" in refused.stderr
        second = script("sim", "--json", "--config", config)
        assert second.returncode == 1 and "another kiosk process holds" in second.stderr
    finally:
        assert sim.stdin is not None
        sim.stdin.close()
        sim.wait(WAIT_S)
        assert sim.stdout is not None and sim.stderr is not None
        sim.stdout.close()
        sim.stderr.close()
    assert sim.returncode == 0
    assert script("hw", "list", "--json", "--config", config).returncode == 0  # free again


def test_lock_in_one_process_refuses_a_second_holder_until_released(tmp_path: Path) -> None:
    first = KioskLock.acquire(tmp_path / "data", "kiosk sim")
    with pytest.raises(KioskBusy) as caught:
        KioskLock.acquire(tmp_path / "data", "kiosk hw list")
    assert f"(pid {os.getpid()}, kiosk sim, since " in str(caught.value)
    assert str(caught.value).endswith("and run kiosk hw list again")
    first.release()
    first.release()  # idempotent
    with KioskLock.acquire(tmp_path / "data", "kiosk hw list") as second:
        assert second.held
    assert not second.held

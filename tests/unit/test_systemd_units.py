"""The systemd units in systemd/: systemd-analyze verify, the keys the issue asks for, and
ExecStart lines that the real command-line parsers accept."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from central.cli import build_parser as central_parser
from kiosk.cli import build_parser as kiosk_parser

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "systemd"
SERVICES = (
    "kiosk-run.service",
    "kiosk-sync.service",
    "kiosk-central-inventory.service",
    "kiosk-central-finance.service",
)
INSTALLED_BIN = "/opt/kiosk/.venv/bin/"

Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Sections -> key -> every value (systemd keys repeat: DeviceAllow, Environment)."""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and section is not None, f"{path.name}:{number}: not KEY=VALUE in a section"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def one(unit: Unit, section: str, key: str) -> str:
    values = unit[section].get(key, [])
    assert len(values) == 1, f"[{section}] {key} should be set once, is {values}"
    return values[0]


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest) -> tuple[str, Unit]:
    name: str = request.param
    return name, parse_unit(UNITS / name)


def test_every_service_notifies_is_watched_restarted_and_sandboxed(
    service: tuple[str, Unit],
) -> None:
    name, unit = service
    assert one(unit, "Service", "Type") == "notify", name
    assert one(unit, "Service", "NotifyAccess") == "main"
    assert int(one(unit, "Service", "WatchdogSec")) >= 10
    assert one(unit, "Service", "Restart") == "on-failure"
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert one(unit, "Service", key) == "yes", f"{name}: {key}"
    assert one(unit, "Service", "ProtectSystem") == "strict"
    writable = one(unit, "Service", "ReadWritePaths").split()
    assert writable and all(path.startswith("/var/") for path in writable), writable
    assert one(unit, "Service", "User") not in ("root", "")
    assert one(unit, "Install", "WantedBy") == "multi-user.target"


def test_exec_start_is_a_command_the_parsers_accept(service: tuple[str, Unit]) -> None:
    name, unit = service
    argv = shlex.split(one(unit, "Service", "ExecStart"))
    assert argv[0].startswith(INSTALLED_BIN), argv[0]
    program, args = argv[0].removeprefix(INSTALLED_BIN), argv[1:]
    parsed = (kiosk_parser() if program == "kiosk" else central_parser()).parse_args(args)
    expected = {
        "kiosk-run.service": ("kiosk", "run"),
        "kiosk-sync.service": ("kiosk", "sync"),
        "kiosk-central-inventory.service": ("kiosk-central", "inventory"),
        "kiosk-central-finance.service": ("kiosk-central", "finance"),
    }[name]
    assert (program, parsed.command) == expected
    assert str(parsed.config).startswith("/etc/")


def test_the_kiosk_may_open_its_devices_and_nothing_else() -> None:
    unit = parse_unit(UNITS / "kiosk-run.service")
    assert one(unit, "Service", "DevicePolicy") == "closed"
    allowed = {value.split()[0] for value in unit["Service"]["DeviceAllow"]}
    printer, scanner = {"char-usb", "char-usb_device", "/dev/kiosk-printer"}, {"char-ttyACM"}
    gpio, touch_and_hid, display = {"char-gpiochip", "/dev/gpiomem"}, {"char-input"}, {"char-drm"}
    assert printer | scanner | gpio | touch_and_hid | display <= allowed
    groups = one(unit, "Service", "SupplementaryGroups").split()
    assert {"dialout", "gpio", "lp", "input"} <= set(groups)


def test_sync_runs_below_the_lane() -> None:
    unit = parse_unit(UNITS / "kiosk-sync.service")
    assert one(unit, "Service", "Nice") == "10"
    assert one(unit, "Service", "PrivateDevices") == "yes"
    run = parse_unit(UNITS / "kiosk-run.service")
    assert "Nice" not in run["Service"]


def test_mosquitto_drop_in_restarts_and_keeps_debian_paths_writable() -> None:
    unit = parse_unit(UNITS / "mosquitto.service.d" / "kiosk.conf")
    assert one(unit, "Service", "Restart") == "on-failure"
    assert "-/var/lib/mosquitto" in one(unit, "Service", "ReadWritePaths").split()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    """Verified with the venv's commands in place of /opt/kiosk (verify checks they exist);
    an unknown key or a bad value is only a warning to systemd, so the output must be empty."""
    venv_bin = REPO / ".venv" / "bin"
    for name in SERVICES:
        text = (UNITS / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(INSTALLED_BIN, f"{venv_bin}/"), "utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in SERVICES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
def test_systemd_analyze_reports_a_bad_unit(tmp_path: Path) -> None:
    """The check above would see a mistake: a bad value and an unknown key are reported."""
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nType=notify\nWatchdogSec=soon\nNise=10\nExecStart=/bin/true\n")
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Failed to parse sec value" in done.stderr
    assert "Unknown key 'Nise'" in done.stderr

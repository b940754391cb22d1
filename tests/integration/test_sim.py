"""``kiosk sim`` end to end on a demo kiosk in tmp_path: a JSON-lines session through the
console script (every line JSON, errors answered and the sim keeps going, command ids echoed),
the scripted ``--demo`` basket in text and JSON mode, a text-mode session, no card
number-like digits in the database or on stdout after card sales; and the sim on the lane
runner: the fakes' sim actions, unsolicited device batches (a fake scan, a real serial scanner
on a pty) marked ``"source": "device"``, and no fallback to a fake for a device that cannot be
opened."""

from __future__ import annotations

import io
import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli import main
from tests.integration.sim_output import batches, json_lines, run_json_session
from tests.integration.test_hw_serial_scanner import Pty

REPO = Path(__file__).resolve().parents[2]
KIOSK_SCRIPT = REPO / ".venv" / "bin" / "kiosk"
WATER, BANANA_1250G, BEER = "6921168509256", "2110001012501", "6935284410013"
# A digit run that is not part of a longer word or hex string (hashes, uuids are not PANs).
DIGIT_RUN = re.compile(rb"(?<![0-9A-Za-z])[0-9]{13,19}(?![0-9A-Za-z])")


pytestmark = pytest.mark.usefixtures("root_logging_restored")  # tests/integration/conftest.py


@pytest.fixture
def kiosk_dir(demo_template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "kiosk"
    shutil.copytree(demo_template, folder)
    return folder


@pytest.fixture
def config(kiosk_dir: Path) -> str:
    return str(kiosk_dir / "kiosk.toml")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_luhn_check_recognises_test_card_numbers() -> None:
    assert luhn_ok("4242424242424242")
    assert luhn_ok("4111111111111111")
    assert luhn_ok("378282246310005")
    assert not luhn_ok("4242424242424241")


def catalog_gtins(db_path: Path) -> set[str]:
    conn = sqlite3.connect(db_path)
    try:
        return {row[0].lstrip("0") for row in conn.execute("SELECT gtin FROM product_gtins")}
    finally:
        conn.close()


def card_number_like(data: bytes, gtins: set[str]) -> list[str]:
    """Luhn-valid 13-19 digit runs that are not a product GTIN of the catalog."""
    runs = {match.group().decode() for match in DIGIT_RUN.finditer(data)}
    return sorted(run for run in runs if luhn_ok(run) and run.lstrip("0") not in gtins)


def test_card_number_finder_finds_a_pan_and_ignores_gtins_and_hex() -> None:
    data = b'{"gtin":"06921168509256","pan":"4242424242424242","hash":"a4111111111111111f"}'
    assert card_number_like(data, {"6921168509256"}) == ["4242424242424242"]


def db_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.glob("kiosk.db*")))


def db_values(folder: Path) -> bytes:
    """Every value of every table, one per line. Scanned instead of the file's bytes because
    SQLite stores a row's columns back to back: ref ``T-000001``, auth ``790492`` and last4
    ``4242`` read as the digit run ``0000017904924242`` in the raw file."""
    conn = sqlite3.connect(folder / "kiosk.db")
    try:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        assert {"sales", "sale_tenders", "payment_intents", "journal", "outbox"} <= set(tables)
        values: list[bytes] = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        values.append(value)
                    elif value is not None:
                        values.append(str(value).encode())
        return b"\n".join(values)
    finally:
        conn.close()


def sales_count(folder: Path) -> int:
    conn = sqlite3.connect(folder / "kiosk.db")
    try:
        count: int = conn.execute("SELECT count(*) FROM sales").fetchone()[0]
        return count
    finally:
        conn.close()


def run_sim(config: str, *flags: str, stdin: str) -> subprocess.CompletedProcess[str]:
    assert KIOSK_SCRIPT.exists(), f"{KIOSK_SCRIPT}: run `pip install -e .` into .venv"
    return subprocess.run(
        [str(KIOSK_SCRIPT), "sim", *flags, "--config", config],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# ------------------------------------------------------------------------------ JSON session
SESSION: list[tuple[str | None, str]] = [
    ("c1", json.dumps({"cmd": "start", "language": "en", "id": "c1"})),
    ("c2", json.dumps({"cmd": "scan", "code": WATER, "id": "c2"})),
    ("c3", json.dumps({"cmd": "scan", "code": WATER, "id": "c3"})),
    (None, '{"cmd": "scan", "code": '),  # broken JSON: answered, the sim keeps going
    ("c5", json.dumps({"cmd": "sim", "action": "nope", "id": "c5"})),
    ("c6", json.dumps({"cmd": "scan", "code": BANANA_1250G, "id": "c6"})),
    ("c7", json.dumps({"cmd": "scan", "code": BEER, "id": "c7"})),
    ("c8", json.dumps({"cmd": "staff_login", "badge": "ST0001", "id": "c8"})),
    ("c9", json.dumps({"cmd": "clear", "intervention": "age_check", "resolution": "approve",
                       "id": "c9"})),
    ("c10", json.dumps({"cmd": "staff_logout", "id": "c10"})),
    ("c11", json.dumps({"cmd": "sim", "action": "terminal.next", "outcome": "declined",
                        "id": "c11"})),
    ("c12", json.dumps({"cmd": "pay", "method": "card", "id": "c12"})),
    (None, json.dumps({"cmd": "pay", "method": "card"})),  # no id: none is added
    (None, "[1, 2]"),
]  # fmt: skip


@pytest.fixture(scope="module")
def json_session(
    tmp_path_factory: pytest.TempPathFactory, demo_template: Path
) -> tuple[Path, str, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("session") / "kiosk"
    shutil.copytree(demo_template, folder)
    stdin = "".join(line + "\n" for _, line in SESSION)
    done = run_sim(str(folder / "kiosk.toml"), "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return folder, done.stdout, json_lines(done.stdout)


def test_json_session_starts_with_ready(
    json_session: tuple[Path, str, list[dict[str, Any]]],
) -> None:
    _, _, events = json_session
    assert {"event": "ready", "kiosk": "s0001-k01"} in events[:2]


def test_json_session_answers_every_command_with_its_events_and_a_view(
    json_session: tuple[Path, str, list[dict[str, Any]]],
) -> None:
    _, _, events = json_session
    chunks = batches(events)  # one per command
    assert len(chunks) == len(SESSION)
    for chunk in chunks:
        assert [e["event"] for e in chunk].count("view") == 1


def test_json_session_echoes_the_command_id_on_its_events(
    json_session: tuple[Path, str, list[dict[str, Any]]],
) -> None:
    _, _, events = json_session
    for (command_id, line), chunk in zip(SESSION, batches(events), strict=True):
        for event in chunk:
            if command_id is None:
                assert "id" not in event, (line, event)
            else:
                assert event.get("id") == command_id, (line, event)


def test_json_session_answers_bad_json_with_an_error_and_keeps_going(
    json_session: tuple[Path, str, list[dict[str, Any]]],
) -> None:
    _, _, events = json_session
    chunks = batches(events)  # one per command
    error = chunks[3][0]
    assert error["event"] == "error"
    assert error["code"] == "invalid_command"
    assert error["message"].startswith("not JSON: ")
    assert chunks[5][0]["event"] == "item_added"  # the next command still works
    assert chunks[13][0] == {
        "event": "error",
        "code": "invalid_command",
        "message": "a command must be a JSON object",
    }


def test_json_session_unknown_sim_action_names_the_known_actions(
    json_session: tuple[Path, str, list[dict[str, Any]]],
) -> None:
    _, _, events = json_session
    error = batches(events)[4][0]
    assert error["event"] == "error"
    assert error["code"] == "invalid_command"
    assert "'nope'" in error["message"]
    for action in ("terminal.next", "printer.paper_out", "drawer.close", "wallet.next"):
        assert action in error["message"]


def test_json_session_sells_the_demo_basket(
    json_session: tuple[Path, str, list[dict[str, Any]]],
) -> None:
    folder, _, events = json_session
    chunks = batches(events)  # one per command
    kinds = [[e["event"] for e in chunk] for chunk in chunks]
    assert "intervention_opened" in kinds[6]
    assert "intervention_cleared" in kinds[8]
    assert chunks[10][0]["event"] == "sim_done"
    assert "payment_declined" in kinds[11]
    assert kinds[12][-4:] == ["payment_approved", "sale_completed", "receipt_printed", "view"]
    completed = chunks[12][-3]
    assert (completed["due"], completed["paid"], completed["seq"]) == (1823, 1823, 1)
    assert completed["receipt_no"] == "s0001-k01-1"
    assert chunks[12][-1]["sale_id"] is None
    assert sales_count(folder) == 1


def test_card_sale_leaves_no_card_number_in_db_or_stdout(
    json_session: tuple[Path, str, list[dict[str, Any]]],
) -> None:
    folder, stdout, _ = json_session
    gtins = catalog_gtins(folder / "kiosk.db")
    assert gtins
    values = db_values(folder)
    assert b"4242" in values  # the sim card's last four digits are kept, and only those
    assert card_number_like(values, gtins) == []
    assert b"4242424242424242" not in db_bytes(folder)
    assert card_number_like(stdout.encode(), gtins) == []


# ------------------------------------------------------------------------------ --demo
def test_demo_flag_sells_the_scripted_basket_and_prints_the_receipt(
    config: str, kiosk_dir: Path
) -> None:
    done = run_sim(config, "--demo", stdin="")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "== sale completed, seq 1 ==" in out
    for text in ("Receipt no.                    s0001-k01-1", "Card ****4242", "Total", "18.23"):
        assert text in out
    assert "receipt_printed: receipt_no=s0001-k01-1" in out
    assert "error: code=blocked" in out  # paying with the age check open was refused
    # The approval is printed without totals of the (already reset) next basket.
    approved = next(line for line in out.splitlines() if line.startswith("payment_approved"))
    assert approved == "payment_approved: method=card amount=1823 remaining=0"
    gtins = catalog_gtins(kiosk_dir / "kiosk.db")
    assert card_number_like(out.encode(), gtins) == []
    assert card_number_like(db_values(kiosk_dir), gtins) == []
    assert b"4242424242424242" not in db_bytes(kiosk_dir)
    assert sales_count(kiosk_dir) == 1


def test_demo_flag_in_json_mode_sells_the_basket_as_json(
    config: str,
    kiosk_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["sim", "--json", "--demo", "--config", config]) == 0
    events = json_lines(capsys.readouterr().out)
    kinds = [e["event"] for e in events]
    assert "sale_completed" in kinds
    errors = [e for e in events if e["event"] == "error"]
    assert [e["code"] for e in errors] == ["blocked"]
    assert sales_count(kiosk_dir) == 1


# ------------------------------------------------------------------------------ text mode
def test_text_session_answers_each_line_and_keeps_going(
    config: str,
    kiosk_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = "\n".join(
        [
            "# a comment line is skipped",
            "start language=en",
            f"scan {WATER}",
            "scna 1",
            "set_qty one 2",
            "sim terminal.next outcome=approved amount=100",
            "pay card",
            "pay card",
            "quit",
            f"scan {WATER}",  # after quit: not read
        ]
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(script + "\n"))
    assert main(["sim", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ready: kiosk=s0001-k01"
    assert any(line.startswith("item_added: line=1 sku=100001") for line in lines)
    assert any(line.startswith("error: code=invalid_command message=unknown command 'scna'")
               for line in lines)  # fmt: skip
    assert "error: code=invalid_command message=set_qty: line must be a whole number" in lines
    assert "sim_done: action=terminal.next result=None" in lines
    partial = next(line for line in lines if line.startswith("payment_approved: method=card"))
    assert partial.startswith("payment_approved: method=card amount=100 remaining=100")
    assert partial.endswith("| due 200 paid 100 remaining 100")
    assert "== sale completed, seq 1 ==" in lines
    assert sum(line.startswith("item_added") for line in lines) == 1
    assert sales_count(kiosk_dir) == 1


def test_view_command_echoes_an_integer_id(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"cmd": "view", "id": 1}\n'))
    assert main(["sim", "--json", "--config", config]) == 0
    events = json_lines(capsys.readouterr().out)
    assert events[-1]["event"] == "view"
    assert events[-1]["id"] == 1
    assert events[-1]["kiosk"] == "s0001-k01"


# ------------------------------------------------------------------------------ device news
DEVICE_SESSION = [
    {"cmd": "start", "language": "en", "id": "d1"},
    {"cmd": "sim", "action": "scanner.scan", "code": WATER, "id": "d2"},
    {"cmd": "view", "id": "d3"},
    {"cmd": "sim", "action": "printer.paper_out", "id": "d4"},
    {"cmd": "sim", "action": "drawer.open", "id": "d5"},
    {"cmd": "sim", "action": "scanner.unplug", "id": "d6"},
    {"cmd": "sim", "action": "scanner.scan", "code": WATER, "id": "d7"},
]


def test_sim_scan_goes_through_the_fake_scanner_as_an_unsolicited_device_batch(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = batches(run_json_session(config, DEVICE_SESSION, capsys, monkeypatch))
    kinds = [[e["event"] for e in chunk] for chunk in chunks]
    # the answer to scanner.scan, then the scan the fake scanner handed to the lane
    assert chunks[1][0] == {"event": "sim_done", "action": "scanner.scan", "result": True,
                            "id": "d2"}  # fmt: skip
    assert kinds[2] == ["item_added", "view"]
    assert all(e["source"] == "device" and "id" not in e for e in chunks[2])
    assert chunks[2][0]["sku"] == "100001"
    assert chunks[3][-1]["id"] == "d3" and "source" not in chunks[3][-1]
    assert [line["sku"] for line in chunks[3][-1]["lines"]] == ["100001"]
    # a fake's news made inside a sim action is part of that action's answer
    assert kinds[4] == ["device_status", "intervention_opened", "sim_done", "view"]
    assert chunks[4][1]["reason"] == "printer_fault" and chunks[4][1]["id"] == "d4"
    assert chunks[5][0]["status"] == "opened" and chunks[5][0]["device"] == "drawer"
    assert chunks[6][0]["status"] == "disconnected" and chunks[6][0]["device"] == "scanner"
    assert chunks[7][0]["result"] is False  # unplugged: the scan is lost
    assert len(chunks) == 8


def test_text_mode_marks_device_lines(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"start en\nsim scanner.scan code={WATER}\n"))
    assert main(["sim", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "sim_done: action=scanner.scan result=True" in lines
    added = lines[lines.index("sim_done: action=scanner.scan result=True") + 1]
    assert added.startswith("[device] item_added: line=1 sku=100001")
    assert added.endswith("| due 200 paid 0 remaining 200")


LGPIO_DEVICES = """[devices]
drawer = "gpio"
pin_factory = "lgpio"
[devices.gpio_drawer]
relay_pin = 17
"""


def replace_devices(config: str, devices: str) -> None:
    path = Path(config)
    text, count = re.subn(
        r"(?s)\[devices\].*?(?=\n\[broker\])", devices.strip(), path.read_text(encoding="utf-8")
    )
    assert count == 1
    path.write_text(text, encoding="utf-8")


def test_sim_with_a_device_that_cannot_be_opened_stops_and_never_fakes_it(
    config: str, kiosk_dir: Path
) -> None:
    replace_devices(config, LGPIO_DEVICES)
    before = db_bytes(kiosk_dir)
    done = run_sim(config, "--json", stdin=json.dumps({"cmd": "view"}) + "\n")
    assert done.returncode == 1
    assert done.stdout == ""
    assert (
        "kiosk: cannot start: a device cannot be opened: drawer (gpio, relay BCM 17): pin factory "
        "'lgpio' failed to load: No module named 'lgpio'. On a Raspberry Pi 5 install "
        "python3-lgpio (apt)"
    ) in done.stderr
    assert db_bytes(kiosk_dir) == before


def test_sim_fake_devices_flag_runs_on_fakes_whatever_is_configured(config: str) -> None:
    replace_devices(config, LGPIO_DEVICES)
    stdin = json.dumps({"cmd": "sim", "action": "drawer.open"}) + "\n"
    done = run_sim(config, "--json", "--fake-devices", stdin=stdin)
    assert done.returncode == 0, done.stderr
    events = json_lines(done.stdout)
    assert events[-2] == {"event": "sim_done", "action": "drawer.open", "result": None}
    assert [d["kind"] for d in events[-1]["devices"]] == ["fake"] * 4
    assert events[-1]["fake_hardware"] is True


def test_sim_scan_from_a_serial_scanner_thread_is_written_as_it_happens(config: str) -> None:
    pty = Pty()
    replace_devices(
        config, f'[devices]\nscanner = "serial"\n[devices.serial_scanner]\ndevice = "{pty.path}"\n'
    )
    proc = subprocess.Popen(
        [str(KIOSK_SCRIPT), "sim", "--json", "--config", config],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        assert read_event(proc)["event"] == "ready"
        proc.stdin.write(b'{"cmd": "sim", "action": "scanner.scan", "code": "1", "id": 1}\n')
        proc.stdin.flush()
        refused = read_event(proc)
        assert refused["event"] == "error" and refused["id"] == 1
        assert refused["message"] == (
            "the scanner is a real device in this configuration; sim actions drive only the "
            "fakes (run kiosk sim --fake-devices)"
        )
        assert read_event(proc)["event"] == "view"
        # The reader thread opens the port on its own; offer the scan until it is read.
        deadline = time.monotonic() + 10
        while not select.select([proc.stdout.fileno()], [], [], 0.1)[0]:
            assert time.monotonic() < deadline, "the scan never reached the lane"
            pty.write(WATER.encode() + b"\r")
        device = [read_event(proc) for _ in range(3)]
        assert [e["event"] for e in device] == ["sale_started", "item_added", "view"]
        assert all(e["source"] == "device" for e in device)
        assert device[-1]["lines"][0]["sku"] == "100001"
        proc.stdin.close()
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        pty.close()


def read_event(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> dict[str, Any]:
    """The next JSON line of ``proc``'s stdout, without waiting longer than ``timeout``."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no line from kiosk sim within {timeout} s (so far {line!r})"
        chunk = os.read(fd, 1)
        assert chunk, f"kiosk sim ended its output (so far {line!r})"
        line += chunk
    event: dict[str, Any] = json.loads(line)
    return event

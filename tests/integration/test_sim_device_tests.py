"""The light, scanner and printer tests through ``kiosk sim``, the other front end of the lane
protocol: a JSON session on a demo kiosk in tmp_path (the lane on its runner thread, the fake
devices driven by sim actions) and the same in text mode."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from kiosk.cli import main
from tests.integration.sim_output import batches, run_json_session

WATER = "6921168509256"


pytestmark = pytest.mark.usefixtures("root_logging_restored")  # tests/integration/conftest.py


@pytest.fixture
def config(demo_template: Path, tmp_path: Path) -> str:
    folder = tmp_path / "kiosk"
    shutil.copytree(demo_template, folder)
    return str(folder / "kiosk.toml")


SESSION = [
    {"cmd": "scanner_test", "id": "s1"},  # refused: nobody logged in
    {"cmd": "staff_login", "badge": "ST0001", "id": "s2"},
    {"cmd": "scanner_test", "id": "s3"},
    {"cmd": "sim", "action": "scanner.scan", "code": WATER, "id": "s4"},
    {"cmd": "sim", "action": "scanner.scan", "code": WATER, "id": "s5"},
    {"cmd": "sim", "action": "light.break_down", "message": "light_fault: lamp gone", "id": "s6"},
    {"cmd": "light_test", "id": "s7"},
    {"cmd": "sim", "action": "light.repair", "id": "s8"},
    {"cmd": "light_test", "id": "s9"},
]


def answer(chunks: list[list[dict[str, Any]]], command_id: str) -> list[dict[str, Any]]:
    """The events of the command with ``command_id`` (its view left out)."""
    (found,) = [chunk for chunk in chunks if chunk[-1].get("id") == command_id]
    return found[:-1]


def after(chunks: list[list[dict[str, Any]]], command_id: str) -> list[dict[str, Any]]:
    """The events of the device news right after the answer to ``command_id`` (a fake
    scanner's read is submitted while the sim action runs, so it comes next)."""
    index = next(i for i, chunk in enumerate(chunks) if chunk[-1].get("id") == command_id)
    news = chunks[index + 1]
    assert all(event["source"] == "device" for event in news)
    return news[:-1]


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [str(event["event"]) for event in events]


def test_the_device_tests_work_in_a_json_sim_session(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = batches(run_json_session(config, SESSION, capsys, monkeypatch))
    assert answer(chunks, "s1")[0]["code"] == "not_allowed"
    assert kinds(answer(chunks, "s3")) == ["device_test_started"]
    # the fake scanner's read reaches the lane as device news: echoed, not sold
    (echo,) = after(chunks, "s4")
    assert echo["event"] == "device_test_result"
    assert (echo["result"], echo["scan"]["code"], echo["scan"]["symbology"]) == (
        "ok",
        WATER,
        "ean13",
    )
    # the next read is sold
    assert kinds(after(chunks, "s5")) == ["sale_started", "item_added"]
    # a broken light: the light test ends at once with the fault
    started, fault = answer(chunks, "s7")[:2]
    assert started["event"] == "device_test_started"
    assert (fault["event"], fault["device"], fault["result"]) == (
        "device_test_result",
        "light",
        "fault",
    )
    assert fault["message"].startswith("light_fault: lamp gone")
    # repaired: the light test runs (its steps come on the lane's tick)
    assert kinds(answer(chunks, "s9")) == ["device_test_started", "light_test_step"]
    view = next(chunk for chunk in chunks if chunk[-1].get("id") == "s9")[-1]
    assert [test["device"] for test in view["device_tests"]] == ["light"]


def test_the_device_tests_work_in_text_mode(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f"badge ST0001\nscanner_test\nscan {WATER}\nscanner_test\nscanner_test_cancel\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["sim", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    results = [line for line in lines if line.startswith("device_test_result:")]
    assert len(results) == 2
    assert "result=ok" in results[0] and WATER in results[0]
    assert "result=cancelled" in results[1]
    assert not any(line.startswith("item_added") for line in lines)


PRINTER_SESSION = [
    {"cmd": "printer_test", "id": "p1"},  # refused: nobody logged in
    {"cmd": "staff_login", "badge": "ST0001", "id": "p2"},
    {"cmd": "printer_test", "id": "p3"},
    {"cmd": "sim", "action": "printer.paper_out", "id": "p4"},
    {"cmd": "printer_test", "id": "p5"},
    {"cmd": "sim", "action": "printer.refill", "id": "p6"},
    {"cmd": "sim", "action": "printer.cover_open", "id": "p7"},
    {"cmd": "printer_test", "id": "p8"},
]


def test_the_printer_test_works_in_a_json_sim_session(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = batches(run_json_session(config, PRINTER_SESSION, capsys, monkeypatch))
    refused = answer(chunks, "p1")
    assert (refused[0]["event"], refused[0]["code"]) == ("error", "not_allowed")
    started, printed = answer(chunks, "p3")
    assert (started["event"], started["device"], started["seconds"]) == (
        "device_test_started",
        "printer",
        0,
    )
    assert (printed["event"], printed["device"], printed["result"]) == (
        "device_test_result",
        "printer",
        "ok",
    )
    assert printed["message"].startswith("test page TEST-") and printed["message"].endswith(
        "-1 printed"
    )
    # out of paper: the page is not printed and the reason says why
    fault = only_result(answer(chunks, "p5"))
    assert (fault["result"], fault["message"]) == (
        "fault",
        "paper_out: the printer is out of paper",
    )
    fault = only_result(answer(chunks, "p8"))
    assert (fault["result"], fault["message"]) == ("fault", "cover_open: the printer cover is open")
    view = next(chunk for chunk in chunks if chunk[-1].get("id") == "p8")[-1]
    assert view["device_tests"] == []  # the printer test never lingers in the view


def only_result(events: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [event for event in events if event["event"] == "device_test_result"]
    assert found["device"] == "printer"
    return found


def test_the_printer_test_works_in_text_mode(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "badge ST0001\nprinter_test\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["sim", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    (line,) = [line for line in lines if line.startswith("device_test_result:")]
    assert "device=printer" in line and "result=ok" in line and "TEST-" in line

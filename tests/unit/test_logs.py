"""kiosk.logs: one JSON object per log line with the ids passed in ``extra``; setup_logging."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from kiosk.logs import LEVELS, JsonFormatter, setup_logging


class Collect(logging.Handler):
    """Keeps the formatted lines (a real handler: the formatter under test does the work)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def collect() -> Iterator[tuple[logging.Logger, Collect]]:
    logger = logging.getLogger("tests.logs")
    handler = Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def only_entry(handler: Collect) -> dict[str, Any]:
    assert len(handler.lines) == 1
    line = handler.lines[0]
    assert "\n" not in line
    entry = json.loads(line)
    assert isinstance(entry, dict)
    return entry


def test_entry_carries_the_extra_ids(collect: tuple[logging.Logger, Collect]) -> None:
    logger, handler = collect
    logger.info(
        "sale %s completed", "s0001-k01-7", extra={"kiosk": "s0001-k01", "sale": "01a2", "seq": 7}
    )
    entry = only_entry(handler)
    assert entry["msg"] == "sale s0001-k01-7 completed"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "tests.logs"
    assert (entry["kiosk"], entry["sale"], entry["seq"]) == ("s0001-k01", "01a2", 7)
    assert datetime.fromisoformat(entry["ts"]).utcoffset() is not None
    assert "exc" not in entry


def test_entry_has_no_standard_record_attributes(collect: tuple[logging.Logger, Collect]) -> None:
    logger, handler = collect
    logger.warning("plain")
    assert set(only_entry(handler)) == {"ts", "level", "logger", "msg"}


def test_exception_traceback_is_included(collect: tuple[logging.Logger, Collect]) -> None:
    logger, handler = collect
    try:
        raise ValueError("disk on fire")
    except ValueError:
        logger.exception("store failure", extra={"kiosk": "s0001-k01"})
    entry = only_entry(handler)
    assert entry["level"] == "ERROR"
    assert entry["kiosk"] == "s0001-k01"
    assert entry["exc"].startswith("Traceback (most recent call last)")
    assert "ValueError: disk on fire" in entry["exc"]


def test_stack_info_is_included(collect: tuple[logging.Logger, Collect]) -> None:
    logger, handler = collect
    logger.info("where am I", stack_info=True)
    assert "test_stack_info_is_included" in only_entry(handler)["stack"]


def test_values_json_cannot_hold_are_written_as_text(
    collect: tuple[logging.Logger, Collect],
) -> None:
    logger, handler = collect
    logger.info("odd values", extra={"when": datetime(2026, 11, 27, 9, 15), "ids": {1}})
    entry = only_entry(handler)
    assert entry["when"] == "2026-11-27 09:15:00"
    assert entry["ids"] == "{1}"


def test_message_with_newlines_and_chinese_stays_one_line(
    collect: tuple[logging.Logger, Collect],
) -> None:
    logger, handler = collect
    logger.info("第一行\nsecond line")
    assert only_entry(handler)["msg"] == "第一行\nsecond line"
    assert "第一行" in handler.lines[0]  # not \u-escaped


@pytest.fixture
def root_restored() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_setup_logging_writes_json_lines_to_stderr(
    root_restored: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    setup_logging("info")
    assert root_restored.level == logging.INFO
    logging.getLogger("tests.setup").info("hello", extra={"kiosk": "s0001-k01"})
    logging.getLogger("tests.setup").debug("not shown")
    lines = err.getvalue().splitlines()
    assert [json.loads(line)["msg"] for line in lines] == ["hello"]
    assert json.loads(lines[0])["kiosk"] == "s0001-k01"


def test_setup_logging_refuses_an_unknown_level(root_restored: logging.Logger) -> None:
    before = root_restored.handlers[:]
    with pytest.raises(ValueError, match="'LOUD' is not one of DEBUG, INFO"):
        setup_logging("LOUD")
    assert root_restored.handlers == before
    assert LEVELS == ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

"""``ReceiptFiles`` (kiosk.app.lane_service): each receipt the fake printer prints is written to
the receipts folder once, as raw ESC/POS and as text, also after the printer has dropped its
oldest jobs (it keeps the newest: ``kiosk.hw.fake.Recent``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.app.lane_service import ReceiptFiles
from kiosk.hw import fake
from kiosk.hw.fake import FakeClock, FakePrinter
from tests.unit.test_fakes import receipt


def sale(printer: FakePrinter, numbers: range) -> None:
    for n in numbers:
        printer.print_receipt(f"s1-k1-{n}", receipt(str(n)))


def test_each_new_receipt_is_written_once_even_after_the_printer_drops_old_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fake, "JOBS_KEEP", 2)
    printer = FakePrinter(FakeClock(datetime(2026, 11, 27, 9, tzinfo=UTC)))
    sale(printer, range(1, 3))  # printed before the listener came: not written
    files = ReceiptFiles(printer, tmp_path / "receipts")
    for first in range(3, 30, 2):
        sale(printer, range(first, first + 2))  # as many receipts between two answers as kept
        files([], {})
    written = sorted(path.name for path in (tmp_path / "receipts").iterdir())
    assert written == sorted(
        name for n in range(3, 31) for name in (f"s1-k1-{n}.escpos", f"s1-k1-{n}.txt")
    )
    last = printer.jobs[-1]
    assert (tmp_path / "receipts" / "s1-k1-30.escpos").read_bytes() == last.data
    assert (tmp_path / "receipts" / "s1-k1-30.txt").read_text(encoding="utf-8") == last.text
    files([], {})  # nothing new: nothing written again
    assert len(list((tmp_path / "receipts").iterdir())) == len(written)


def test_receipts_dropped_before_they_were_written_are_an_error_that_counts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fake, "JOBS_KEEP", 2)
    printer = FakePrinter(FakeClock(datetime(2026, 11, 27, 9, tzinfo=UTC)))
    files = ReceiptFiles(printer, tmp_path)
    sale(printer, range(1, 6))  # five in one answer: at the fifth the printer kept two
    files([], {})
    assert "3 receipts printed were not written" in caplog.text
    assert sorted(path.stem for path in tmp_path.glob("*.txt")) == ["s1-k1-4", "s1-k1-5"]

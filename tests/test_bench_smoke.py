"""Smoke test of bench/: every benchmark runs at tiny sizes and returns the documented shape.

No timing is asserted here (speed goals are measured by ``make bench``, never in tests): only
that each benchmark drives the real kiosk end to end and reports figures, floors and ratios.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import main
from bench.fixtures import Context, Sizes, gtin13
from bench.harness import percentile, ratio
from bench.suite import BENCHMARKS, run_suite
from kiosk.store.catalog_import import normalise_gtin

TINY = Sizes(
    scans=20,
    block=5,
    max_lines=5,
    sales=3,
    lookup_products=(20, 50),
    lookup_calls=40,
    lookup_batch=10,
    sim_products=(20, 50),
    sim_runs=1,
    import_rows=30,
    scanner_codes=10,
    payments=2,
)
RESULT_KEYS = {"name", "figures", "floor", "ratio", "ratios", "goal", "met", "params"}


def _check_stat(where: str, stat: Any) -> None:
    if "p99_ms" in stat:
        assert stat["n"] > 0, where
        # a sub-microsecond floor (a MockPin toggle) rounds to 0.000 ms at p50
        assert 0 <= stat["p50_ms"] <= stat["p99_ms"] <= stat["max_ms"], where
        assert stat["max_ms"] > 0, where
    elif "p50_ns" in stat:
        assert stat["batches"] > 0, where
        assert 0 < stat["p50_ns"] <= stat["p99_ns"], where
    elif "bytes" in stat:
        assert stat["bytes"] > 0, where
    else:
        assert stat["rows"] > 0 and stat["rows_per_s"] > 0, where


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_benchmark_reports_figures_floors_and_ratios_at_tiny_sizes(
    name: str, tmp_path: Path
) -> None:
    document = run_suite(Context(TINY, tmp_path), only=[name])

    (item,) = document["results"]
    assert set(item) == RESULT_KEYS
    assert item["name"] == name
    assert isinstance(item["met"], bool)
    assert isinstance(item["goal"], str) and item["goal"]
    assert item["ratio"] in item["ratios"].values()
    assert all(math.isfinite(r) and r > 0 for r in item["ratios"].values())
    timed = {k: v for k, v in item["figures"].items() if isinstance(v, dict)}
    assert timed and item["floor"]
    for key, stat in [*timed.items(), *item["floor"].items()]:
        _check_stat(f"{name}.{key}", stat)
    assert json.loads(json.dumps(document)) == document
    assert document["all_met"] == item["met"]


def test_run_suite_rejects_an_unknown_benchmark_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown benchmark 'scan_speed'"):
        run_suite(Context(TINY, tmp_path), only=["scan_speed"])


def test_main_writes_the_same_json_to_stdout_and_the_results_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results" / "latest.json"
    argv = ["--quick", "--only", "catalog_import", "--dir", str(tmp_path), "--out", str(out)]

    status = main(argv)

    captured = capsys.readouterr()
    assert status == 0
    document = json.loads(captured.out)
    assert json.loads(out.read_text(encoding="utf-8")) == document
    assert document["mode"] == "quick"
    assert [r["name"] for r in document["results"]] == ["catalog_import"]
    assert "catalog_import" in captured.err
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # scratch folder removed


def test_main_refuses_an_unknown_only_name_as_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "nope"])

    assert exit_info.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_percentile_interpolates_between_closest_ranks() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([4, 1, 3, 2], 0) == 1
    assert percentile([4, 1, 3, 2], 100) == 4
    assert percentile(list(range(101)), 99) == 99


def test_percentile_rejects_no_samples_and_q_out_of_range() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1], 101)


def test_ratio_refuses_a_zero_floor() -> None:
    with pytest.raises(ValueError, match="floor must be positive"):
        ratio(1.0, 0)


@pytest.mark.parametrize("index", [0, 1, 9, 123_456, 10**10 - 1])
def test_generated_gtins_pass_the_kiosk_check_digit_validation(index: int) -> None:
    code = gtin13(index)

    assert len(code) == 13
    assert normalise_gtin(code) == "0" + code


def test_generated_gtin_index_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="product index"):
        gtin13(10**10)


# -- issue 3 (hardware) benchmarks: what each one measured ----------------------------------------
def test_scanner_latency_times_every_code_through_classifier_and_lane(tmp_path: Path) -> None:
    (item,) = run_suite(Context(TINY, tmp_path), only=["scanner_latency"])["results"]

    figures = item["figures"]
    assert figures["scan_event"]["n"] == figures["through_lane"]["n"] == TINY.scanner_codes
    assert item["floor"]["pty_write_to_read"]["n"] == TINY.scanner_codes
    expected = figures["scan_event"]["p99_ms"] - item["floor"]["pty_write_to_read"]["p99_ms"]
    assert figures["p99_minus_floor_p99_ms"] == pytest.approx(expected, abs=0.002)
    assert item["met"] == (figures["p99_minus_floor_p99_ms"] <= 2.0)


def test_receipt_bytes_prints_text_on_the_cjk_printer_and_raster_on_the_other(
    tmp_path: Path,
) -> None:
    (item,) = run_suite(Context(TINY, tmp_path), only=["receipt_bytes"])["results"]

    figures, floor = item["figures"], item["floor"]
    for language in ("en", "zh"):
        text, raster = figures[f"{language}_text"], figures[f"{language}_raster"]
        assert text["raster_lines"] == 0
        assert raster["raster_lines"] > 0
        assert floor[f"{language}_minimal_text"]["bytes"] < text["bytes"] < raster["bytes"]
        assert floor[f"{language}_minimal_text"]["lines"] == text["text_lines"]
    assert item["params"]["item_lines"] == 20


def test_payment_devices_times_each_card_and_cash_sale_to_printer_and_relay(
    tmp_path: Path,
) -> None:
    (item,) = run_suite(Context(TINY, tmp_path), only=["payment_devices"])["results"]

    figures = item["figures"]
    for name in (
        "card_approved_to_first_printer_byte",
        "card_approved_to_first_job_byte",
        "cash_approved_to_drawer_pulse",
        "cash_approved_to_first_printer_byte",
    ):
        assert figures[name]["n"] == TINY.payments, name
    first, job = (
        figures["card_approved_to_first_printer_byte"],
        figures["card_approved_to_first_job_byte"],
    )
    assert first["p50_ms"] <= job["p50_ms"]  # the status query goes before the receipt's bytes
    assert item["params"]["card_sales"] == item["params"]["cash_sales"] == TINY.payments

"""Smoke test of bench/: every benchmark runs at tiny sizes and returns the documented shape.

No timing is asserted here (speed goals are measured by ``make bench``, never in tests): only
that each benchmark drives the real kiosk end to end and reports figures, floors and ratios.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import main
from bench.fixtures import Context, SaleMaker, Sizes, fill_outbox, gtin13
from bench.harness import percentile, ratio
from bench.suite import BENCHMARKS, run_suite
from kiosk.barcodes import gtin14

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
    drain_sales=30,
    drain_rounds=1,
    apply_events=40,
    apply_postgres=False,
    lane_drain_backlog=300,
    lane_drain_scans=10,
    ui_lines=6,
    ui_scans=3,
    ui_frames=15,
    ui_rounds=1,
    ui_drain_backlog=300,
    ui_start_runs=1,
    ui_sales=(2, 4),
    ui_memory_products=50,
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
    elif "mib" in stat:
        assert stat["mib"] > 0, where
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
    assert gtin14(code) == "0" + code


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


# -- issue 4 (sync and central) benchmarks --------------------------------------------------------
def test_sync_drain_drains_every_sale_beside_raw_paho_publishing_the_same_payloads(
    tmp_path: Path,
) -> None:
    (item,) = run_suite(Context(TINY, tmp_path), only=["sync_drain"])["results"]

    figures, floor, params = item["figures"], item["floor"], item["params"]
    for name in ("drain_to_sent", "drain_to_settled", "agent_consumer_received"):
        assert figures[name]["rows"] == TINY.drain_sales, name
    assert figures["drain_to_sent"]["seconds"] <= figures["drain_to_settled"]["seconds"]
    assert floor["raw_paho_qos1"]["rows"] == TINY.drain_sales
    assert params["raw_puback_codes"] == {"0x00": TINY.drain_sales}
    assert figures["redeliveries"] >= 0
    assert len(params["paired_ratios"]) == TINY.drain_rounds
    sent_rate = figures["drain_to_sent"]["rows_per_s"]
    assert item["met"] == (item["ratio"] >= 0.7 and sent_rate >= 1000)


def test_consumer_apply_applies_every_event_per_group_and_through_the_broker(
    tmp_path: Path,
) -> None:
    (item,) = run_suite(Context(TINY, tmp_path), only=["consumer_apply"])["results"]

    figures = item["figures"]
    for name in ("sqlite_inventory", "sqlite_finance", "sqlite_finance_through_broker"):
        assert figures[name]["rows"] == TINY.apply_events, name
    assert "postgresql_inventory" not in figures  # apply_postgres is off
    assert item["floor"]["sqlite_executemany"]["rows"] == TINY.apply_events
    slower = min(figures["sqlite_inventory"]["rows_per_s"], figures["sqlite_finance"]["rows_per_s"])
    assert item["met"] == (slower >= 5000)


def test_consumer_apply_measures_postgresql_on_a_private_server(tmp_path: Path) -> None:
    sizes = dataclasses.replace(TINY, apply_postgres=True)

    (item,) = run_suite(Context(sizes, tmp_path), only=["consumer_apply"])["results"]

    for group in ("inventory", "finance"):
        assert item["figures"][f"postgresql_{group}"]["rows"] == sizes.apply_events
        assert item["ratios"][f"postgresql_{group}_vs_executemany"] > 0
    assert item["floor"]["postgresql_executemany"]["rows"] == sizes.apply_events


def test_lane_under_drain_times_as_many_idle_scans_as_scans_during_the_drain(
    tmp_path: Path,
) -> None:
    (item,) = run_suite(Context(TINY, tmp_path), only=["lane_under_drain"])["results"]

    drain, idle = item["figures"]["scan_during_drain"], item["floor"]["scan_idle"]
    assert drain["n"] == idle["n"] >= TINY.lane_drain_scans
    assert drain["n"] % TINY.block == 0
    assert item["figures"]["sent_during_drain_blocks"] >= 0
    assert item["met"] == (item["ratio"] <= 1.2)


def test_sale_maker_builds_sales_whose_totals_and_tenders_add_up() -> None:
    maker = SaleMaker("s0001-k01", "s0001", seed=1)

    sales = [maker.make() for _ in range(40)]

    assert len({s.event_id for s in sales} | {s.sale_id for s in sales}) == 80
    for sale in sales:
        assert sum(p.amount for p in sale.totals.lines) == sale.totals.due == sale.paid
        assert sum(t.tax for t in sale.totals.taxes) == sale.totals.tax
    assert {t.type for s in sales for t in s.tenders} == {"card", "cash"}


def test_fill_outbox_records_pending_sales_and_keeps_the_lane_snapshot(tmp_path: Path) -> None:
    db_path = tmp_path / "kiosk.db"
    fill_outbox(db_path, "s0001-k01", "s0001", 5)
    conn = sqlite3.connect(db_path)
    conn.execute('UPDATE lane SET snapshot = \'{"mode": "idle"}\' WHERE id = 1')
    conn.commit()
    conn.close()

    fill_outbox(db_path, "s0001-k01", "s0001", 7, seed=2)

    conn = sqlite3.connect(db_path)
    try:
        states = conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall()
        seqs = [r[0] for r in conn.execute("SELECT seq FROM journal ORDER BY seq")]
        snapshot = conn.execute("SELECT snapshot FROM lane WHERE id = 1").fetchone()[0]
    finally:
        conn.close()
    assert states == [("pending", 12)]
    assert seqs == list(range(1, 13))
    assert json.loads(snapshot) == {"mode": "idle"}


def test_quick_sizes_leave_postgresql_out_and_full_sizes_measure_it() -> None:
    assert Sizes.quick().apply_postgres is False
    assert Sizes.full().apply_postgres is True
    assert Sizes.full().drain_sales == Sizes.full().lane_drain_backlog == 10_000


# -- issue 5 (promotions) benchmark ---------------------------------------------------------------
def test_promotions_prices_the_same_basket_with_and_without_the_rules(tmp_path: Path) -> None:
    (item,) = run_suite(Context(TINY, tmp_path), only=["promotions"])["results"]

    figures, floor, params = item["figures"], item["floor"], item["params"]
    assert figures["with_rules"]["n"] == figures["engine_only"]["n"] == floor["no_rules"]["n"]
    assert figures["with_rules"]["n"] == params["samples"] == TINY.scans
    assert (params["rules"], params["lines"]) == (5000, 200)
    assert params["promotions_applied"] > 0 and params["saving_minor"] > 0
    expected = round(figures["with_rules"]["p99_ms"] / floor["no_rules"]["p99_ms"], 2)
    assert item["ratio"] == pytest.approx(expected, abs=0.05)
    cpu_ratio = item["ratios"]["cpu_with_rules_vs_no_rules_p99"]
    fast = figures["with_rules"]["p99_ms"] < 16.0
    assert item["met"] == (item["ratio"] <= 5.0 and cpu_ratio <= 5.0 and fast)


def test_a_busy_machine_is_named_under_the_table() -> None:
    from io import StringIO

    from rich.console import Console

    from bench.report import busy_warning, print_table

    idle = {"cpus": 2, "load_average_before": [0.79, 0.7, 0.6], "load_average_after": [1.0, 1, 1]}
    assert busy_warning(idle) is None  # 0.5 a CPU at the most
    busy = {**idle, "load_average_after": [2.4, 1.2, 0.8]}
    assert "1-minute load average 2.4 on 2 CPUs" in (busy_warning(busy) or "")
    out = StringIO()
    document = {
        "date": "now",
        "results": [],
        "seconds": {"total": 1.0},
        "all_met": True,
        "host": busy,
    }
    print_table(document, Console(file=out, width=300))
    assert "warning: the machine was busy" in out.getvalue()

"""Presenting a benchmark document: the JSON file and a short human table (rich, on stderr).

Main thread. The JSON document is the result; the table only repeats its headline figures, each
beside its floor, with the goal's ratio and whether it was met.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def write_document(document: dict[str, Any], path: Path) -> None:
    """Write the document to ``path`` (folders created), atomically via a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(dumps(document), encoding="utf-8")
    temporary.replace(path)


def describe(value: Any) -> str:
    """One short text for a figure or a floor entry."""
    if isinstance(value, dict):
        if "p99_ms" in value:
            return f"p50 {value['p50_ms']:.3f} · p99 {value['p99_ms']:.3f} ms (n={value['n']})"
        if "p50_ns" in value:
            return f"p50 {value['p50_ns']:,.0f} · mean {value['mean_ns']:,.0f} ns/call"
        if "rows_per_s" in value:
            return f"{value['rows_per_s']:,} rows/s ({value['rows']:,} rows, {value['seconds']} s)"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(document: dict[str, Any]) -> Table:
    """One row per benchmark: its timed figures, its floors, its ratios, goal met or not."""
    out = Table(title=f"kiosk bench {document['date']}", show_lines=True)
    for column in ("benchmark", "figure", "floor (same run)", "ratios", "goal", "met"):
        out.add_column(column, overflow="fold")
    for item in document["results"]:
        figures = [f"{k}: {describe(v)}" for k, v in item["figures"].items() if _timed(v)]
        floors = [f"{k}: {describe(v)}" for k, v in item["floor"].items()]
        out.add_row(
            item["name"],
            "\n".join(figures),
            "\n".join(floors),
            "\n".join(f"{k} {v:g}" for k, v in item["ratios"].items()),
            item["goal"],
            "[green]yes[/]" if item["met"] else "[red]NO[/]",
        )
    return out


def _timed(value: Any) -> bool:
    return isinstance(value, dict)


# A machine busier than this (1-minute load average per CPU, before or after the run) makes
# timings run slow by as much as whatever else runs: figures measured under helper test runs
# on the same two cores came out 1.5-2.5x slower than on the idle machine (docs/benchmarks.md).
BUSY_LOAD_PER_CPU = 0.5


def busy_warning(machine: dict[str, Any]) -> str | None:
    """A warning when the machine was busy during the run, else None."""
    cpus = max(1, int(machine["cpus"]))
    loads = [machine["load_average_before"][0], machine["load_average_after"][0]]
    if max(loads) / cpus <= BUSY_LOAD_PER_CPU:
        return None
    return (
        f"the machine was busy (1-minute load average {max(loads):g} on {cpus} CPUs, over "
        f"{BUSY_LOAD_PER_CPU:g} a CPU): other work took CPU time from these timings; the ratios "
        "to the same-run floors are steadier than the figures, and a run on an idle machine "
        "is the one to quote"
    )


def print_table(document: dict[str, Any], console: Console) -> None:
    console.print(table(document))
    seconds = document["seconds"]["total"]
    verdict = "every goal met" if document["all_met"] else "[red]some goals missed[/]"
    machine = document["host"]
    console.print(
        f"{verdict}; {seconds} s in all; load average before {machine['load_average_before']}"
        f", after {machine['load_average_after']} ({machine['cpus']} CPUs); "
        "the JSON document on stdout has every figure"
    )
    warning = busy_warning(machine)
    if warning is not None:
        console.print(f"[yellow]warning: {warning}[/]")


def stderr_console() -> Console:
    """A console on stderr, 150 columns wide when stderr is not a terminal (make, CI)."""
    console = Console(stderr=True)
    if not console.is_terminal:
        console = Console(stderr=True, width=150)
    return console

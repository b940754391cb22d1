"""Rendering a ``Report`` as a rich table, CSV or JSON text (CLI main thread).

In the table, money is shown in major units of the row's currency (``12.90``) and quantities
as decimals (``0.512``). CSV and JSON are for machines: money stays integer minor units (with
the ``currency`` column), quantities are decimal strings, as in the MQTT contract.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Final

from rich.console import Console
from rich.table import Table

from central.reports import Report
from central.stock import milli_text
from kiosk.money import Money

FORMATS: Final = ("table", "csv", "json")


def _machine(kind: str, value: Any) -> Any:
    if kind == "qty" and isinstance(value, int):
        return milli_text(value)
    return value


def _human(kind: str, value: Any, row: dict[str, Any]) -> str:
    if value is None:
        return ""
    if kind == "money" and isinstance(value, int) and "currency" in row:
        return Money(value, row["currency"]).format_plain()
    if kind == "qty" and isinstance(value, int):
        return milli_text(value)
    return str(value)


def render(report: Report, fmt: str, width: int = 120) -> str:
    if fmt == "json":
        rows = [
            {c.name: _machine(c.kind, row.get(c.name)) for c in report.columns}
            for row in report.rows
        ]
        return (
            json.dumps({"report": report.title, "rows": rows}, ensure_ascii=False, indent=2) + "\n"
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.name for c in report.columns])
        for row in report.rows:
            writer.writerow([_machine(c.kind, row.get(c.name)) for c in report.columns])
        return out.getvalue()
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    table = Table(title=report.title)
    for c in report.columns:
        table.add_column(c.name, justify="right" if c.kind != "text" else "left")
    for row in report.rows:
        table.add_row(*(_human(c.kind, row.get(c.name), row) for c in report.columns))
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    console.print(table)
    if not report.rows:
        console.print("(no rows)")
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text

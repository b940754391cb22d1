"""CSV reading shared by the catalog, staff and member imports: line numbers and row errors.

Called on the CLI's thread (``kiosk catalog import``, ``kiosk staff import``...). A file must
be UTF-8 (a byte-order mark is allowed) with a header row. Each row comes with the 1-based line
number where it ends in the file (quoted fields may span lines). Problems are collected, not
raised one by one, so a user fixes a whole file in one pass; ``ImportRejected`` lists them.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Final

from kiosk.errors import CatalogImportError

MAX_REPORTED: Final[int] = 50

Source = str | os.PathLike[str] | IO[str] | IO[bytes]


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    problem: str


def rejected(what: str, line: int, problem: str) -> ImportRejected:
    """An ``ImportRejected`` with a single problem."""
    return ImportRejected(what, [RowProblem(line, problem)], 1)


class ImportRejected(CatalogImportError):
    """An import file was refused; nothing was changed. ``problems`` lists the first
    ``MAX_REPORTED`` problems in line order, ``total`` counts them all; ``line`` and
    ``problem`` are the first one."""

    def __init__(self, what: str, problems: list[RowProblem], total: int) -> None:
        ordered = sorted(problems, key=lambda p: p.line)
        super().__init__(ordered[0].line, ordered[0].problem)
        self.what = what
        self.problems = ordered
        self.total = total
        shown = "\n".join(f"  line {p.line}: {p.problem}" for p in ordered)
        more = f"\n  ... and {total - len(ordered)} more" if total > len(ordered) else ""
        self.args = (f"{what} import refused, nothing changed: {total} problem(s)\n{shown}{more}",)


@dataclass(slots=True)
class Problems:
    """Collects row problems; keeps the first ``limit``, counts all."""

    limit: int = MAX_REPORTED
    items: list[RowProblem] = field(default_factory=list)
    total: int = 0

    def add(self, line: int, problem: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(RowProblem(line, problem))

    def raise_if_any(self, what: str) -> None:
        if self.total:
            raise ImportRejected(what, self.items, self.total)


def _text_stream(source: Source, stack: ExitStack) -> IO[str]:
    if isinstance(source, str | os.PathLike):
        try:
            return stack.enter_context(open(source, encoding="utf-8-sig", newline=""))
        except OSError as exc:
            raise rejected("file", 0, f"cannot open {source}: {exc}") from exc
    if isinstance(source, io.RawIOBase | io.BufferedIOBase):
        wrapper = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
        stack.callback(wrapper.detach)  # leave the caller's binary file open
        return wrapper
    return source  # type: ignore[return-value]


def read_rows(
    source: Source,
    what: str,
    column_ok: Callable[[str], bool],
    required: tuple[str, ...],
    problems: Problems,
    header_check: Callable[[list[str]], str | None] | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, {column: stripped value})`` for every non-empty data row.

    The header must name each of ``required``, only columns for which ``column_ok`` is true,
    and pass ``header_check`` (which returns a problem or None). A bad header, undecodable
    bytes or broken CSV quoting raise ``ImportRejected`` at once. A row with the wrong number
    of fields is recorded in ``problems`` and skipped.
    """
    with ExitStack() as stack:
        reader = csv.reader(_text_stream(source, stack))
        try:
            header = [h.strip() for h in next(reader, [])]
            if not any(header):
                raise rejected(what, 1, "the file is empty (no header row)")
            _check_header(header, what, column_ok, required, header_check)
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    problems.add(line, f"has {len(row)} fields, the header has {len(header)}")
                    continue
                yield line, {h: cell.strip() for h, cell in zip(header, row, strict=True)}
        except UnicodeDecodeError as exc:
            line = reader.line_num + 1
            raise rejected(what, line, f"not UTF-8 text: {exc.reason}") from exc
        except csv.Error as exc:
            line = reader.line_num
            raise rejected(what, line, f"broken CSV: {exc}") from exc


def _check_header(
    header: list[str],
    what: str,
    column_ok: Callable[[str], bool],
    required: tuple[str, ...],
    header_check: Callable[[list[str]], str | None] | None,
) -> None:
    problems: list[RowProblem] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(RowProblem(1, f"column {name!r} appears twice in the header"))
        elif not column_ok(name):
            problems.append(RowProblem(1, f"unknown column {name!r} in the header"))
        seen.add(name)
    problems += [
        RowProblem(1, f"the header has no {name!r} column") for name in required if name not in seen
    ]
    extra = header_check(header) if header_check is not None else None
    if extra:
        problems.append(RowProblem(1, extra))
    if problems:
        raise ImportRejected(what, problems, len(problems))


def parse_int(value: str, low: int, high: int, default: int = 0) -> int:
    """A whole number from ``low`` to ``high`` (empty means ``default``), or ValueError."""
    if value == "":
        return default
    if not value.isdigit():
        raise ValueError(f"{value!r} is not a whole number")
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"{value} is outside {low}..{high}")
    return number

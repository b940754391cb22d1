"""docs/: the lane protocol page cannot drift from the code, and the docs link up.

Everything is read at test time: the protocol tables (``kiosk.lane_protocol``), the intervention
reasons, and the events the source emits (found by parsing every ``kiosk/**/*.py``), so a new
command, argument, error code, reason or event fails here until docs/lane-protocol.md has it.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk import barcodes, config, interventions, lane_protocol
from kiosk.errors import InvalidCommand
from kiosk.sim import runner

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
KIOSK = ROOT / "kiosk"
LANE_DOC = DOCS / "lane-protocol.md"

ROW = re.compile(r"^\|(.*)\|\s*$")


# --- helpers ---------------------------------------------------------------------------------


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def section(text: str, heading: str, level: int = 2) -> str:
    """The text under ``heading`` (a ``##`` line) up to the next heading of that level or
    higher. Fails the test, naming the heading, when the page has no such heading."""
    marks = "#" * level
    lines = text.splitlines()
    start = None
    for i, line in enumerate(lines):
        if start is None:
            if line.strip() == f"{marks} {heading}":
                start = i + 1
        elif re.match(rf"^#{{1,{level}}} ", line):
            return "\n".join(lines[start:i])
    if start is None:
        pytest.fail(f"{LANE_DOC.name} has no heading {marks} {heading!r}")
    return "\n".join(lines[start:])


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``text``, header and rule rows left out."""
    rows = []
    for line in text.splitlines():
        match = ROW.match(line.strip())
        if not match:
            continue
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", match.group(1))]
        if all(re.fullmatch(r":?-+:?", cell) for cell in cells):
            continue
        rows.append(cells)
    return rows[1:] if rows else rows  # the first row is the header


def code_name(cell: str) -> str | None:
    """``name`` for a cell that is exactly a backticked name."""
    match = re.fullmatch(r"`([^`]+)`", cell)
    return match.group(1) if match else None


def backticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`\s]+)`", text))


def keyed_rows(text: str) -> dict[str, list[str]]:
    """Table rows by the backticked name in their first cell."""
    out: dict[str, list[str]] = {}
    for cells in table_rows(text):
        name = code_name(cells[0])
        if name is not None:
            out[name] = cells
    return out


def source_files() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(KIOSK.rglob("*.py")):
        yield path, ast.parse(read(path), filename=str(path))


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def emitted_events() -> dict[str, set[str]]:
    """Every event the source can send, with the fields it is sent with: ``emit("name",
    k=...)`` calls and dict literals with an ``"event": "name"`` entry. ``**`` fields are left
    out (the view is checked on its own)."""
    events: dict[str, set[str]] = {}
    for _path, tree in source_files():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) == "emit" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    fields = {kw.arg for kw in node.keywords if kw.arg is not None}
                    events.setdefault(first.value, set()).update(fields)
            elif isinstance(node, ast.Dict):
                keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
                if "event" not in keys:
                    continue
                value = node.values[keys.index("event")]
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    fields = {k for k in keys if isinstance(k, str) and k != "event"}
                    events.setdefault(value.value, set()).update(fields)
    return events


def scan_rejected_reasons() -> set[str]:
    """The ``reason=`` literals of ``emit("scan_rejected", ...)`` plus the classifier's."""
    reasons = set(typing.get_args(barcodes.InvalidReason))
    for _path, tree in source_files():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _call_name(node) == "emit"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == "scan_rejected"
            ):
                for kw in node.keywords:
                    if kw.arg == "reason" and isinstance(kw.value, ast.Constant):
                        reasons.add(str(kw.value.value))
    return reasons


def view_keys() -> set[str]:
    """Every string key of a dict literal in ``kiosk.lane_view.build_view``."""
    tree = ast.parse(read(KIOSK / "lane_view.py"))
    function = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "build_view"
    )
    return {
        key.value
        for node in ast.walk(function)
        if isinstance(node, ast.Dict)
        for key in node.keys
        if isinstance(key, ast.Constant) and isinstance(key.value, str)
    }


def sim_actions() -> set[str]:
    """The keys of the ``actions={...}`` table that ``kiosk.app`` hands to ``SimDrivers``."""
    tree = ast.parse(read(KIOSK / "app" / "headless.py"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) == "SimDrivers":
            for kw in node.keywords:
                if kw.arg == "actions" and isinstance(kw.value, ast.Dict):
                    return {
                        k.value
                        for k in kw.value.keys
                        if isinstance(k, ast.Constant) and isinstance(k.value, str)
                    }
    pytest.fail("kiosk/app/headless.py builds no SimDrivers(actions={...}) table")


@pytest.fixture(scope="module")
def lane_doc() -> str:
    return read(LANE_DOC)


# --- docs/lane-protocol.md -------------------------------------------------------------------


def test_lane_doc_states_the_protocol_version_in_code(lane_doc: str) -> None:
    assert f"Protocol version: **{lane_protocol.PROTOCOL_VERSION}**" in lane_doc


@pytest.mark.parametrize("command", sorted(lane_protocol.COMMANDS))
def test_lane_doc_documents_every_argument_of_each_command(lane_doc: str, command: str) -> None:
    body = section(section(lane_doc, "Commands"), f"`{command}`", level=3)
    spec = lane_protocol.COMMANDS[command]
    rows = keyed_rows(body)
    documented = {name: (cells[1], cells[2]) for name, cells in rows.items()}
    expected = {
        name: (kind, "yes" if required else "no") for name, (kind, required) in spec.items()
    }
    assert documented == expected, f"arguments of `{command}` in {LANE_DOC.name}"
    if not spec:
        assert "No arguments." in body


def test_lane_doc_documents_no_command_the_code_lacks(lane_doc: str) -> None:
    body = section(lane_doc, "Commands")
    documented = set(re.findall(r"^### `([a-z_]+)`$", body, flags=re.MULTILINE))
    assert documented == set(lane_protocol.COMMANDS)


def test_lane_doc_lists_exactly_the_error_codes_in_code(lane_doc: str) -> None:
    documented = set(keyed_rows(section(lane_doc, "Errors")))
    assert documented == set(lane_protocol.ERROR_CODES)


def test_lane_doc_lists_every_event_the_source_emits_with_its_fields(lane_doc: str) -> None:
    events = emitted_events()
    assert {"ready", "view", "error", "sim_done", "item_added"} <= set(events)
    rows = keyed_rows(section(lane_doc, "Events"))
    missing = sorted(set(events) - set(rows))
    assert missing == [], f"events emitted in kiosk/ but not in {LANE_DOC.name}"
    for name, fields in events.items():
        cell = rows[name][1]
        absent = sorted(fields - backticked(cell))
        assert absent == [], f"fields of `{name}` missing from its row"


def test_lane_doc_lists_no_event_the_source_never_emits(lane_doc: str) -> None:
    rows = keyed_rows(section(lane_doc, "Events"))
    assert sorted(set(rows) - set(emitted_events())) == []


def test_every_emit_call_in_source_names_its_event_literally() -> None:
    """The event scan above only sees literal names; a computed name would hide an event."""
    computed = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in source_files()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _call_name(node) == "emit"
        and isinstance(node.func, ast.Attribute)
        and not (node.args and isinstance(node.args[0], ast.Constant))
    ]
    assert computed == []


def test_lane_doc_lists_every_scan_rejected_reason(lane_doc: str) -> None:
    events = section(lane_doc, "Events")
    assert scan_rejected_reasons() - backticked(events) == set()


def test_lane_doc_describes_every_view_field(lane_doc: str) -> None:
    assert view_keys() - backticked(section(lane_doc, "The view")) == set()


def test_lane_doc_gives_each_intervention_reason_and_whether_it_blocks(lane_doc: str) -> None:
    rows = keyed_rows(section(lane_doc, "Interventions"))
    assert set(rows) == set(interventions.REASONS)
    for reason, cells in rows.items():
        blocks = reason not in interventions.NON_BLOCKING
        assert cells[1].split(",")[0].split(" ")[0] == ("yes" if blocks else "no"), reason


def test_lane_doc_lists_exactly_the_sim_device_actions(lane_doc: str) -> None:
    rows = keyed_rows(section(lane_doc, "Sim device commands"))
    assert set(rows) == sim_actions()


def test_lane_doc_lists_every_text_mode_shortcut(lane_doc: str) -> None:
    rows = keyed_rows(section(lane_doc, "Text mode"))
    assert set(rows) == set(runner.POSITIONAL) | set(runner.ALIASES)
    for name, cells in rows.items():
        positional = tuple(re.findall(r"`([a-z_]+)`", cells[1]))
        assert positional == runner.POSITIONAL.get(name, ()), name
        sends = re.match(r"`([a-z_]+)`", cells[2])
        assert sends is not None, name
        assert sends.group(1) == runner.ALIASES.get(name, name), name


def test_lane_doc_example_commands_are_valid_commands(lane_doc: str) -> None:
    """Every ``> {...}`` line of the worked example parses as a lane or sim command, except
    one the example itself answers with ``invalid_command``, which must then be refused."""
    lines = section(lane_doc, "A worked example").splitlines()
    sent = [(i, json.loads(line[2:])) for i, line in enumerate(lines) if line.startswith("> {")]
    assert len(sent) >= 10
    for i, message in sent:
        answer = json.loads(lines[i + 1][2:])
        if answer.get("code") == "invalid_command":
            with pytest.raises(InvalidCommand):
                lane_protocol.parse_command(message)
        elif message["cmd"] == "sim":
            assert message["action"] in sim_actions()
        else:
            lane_protocol.parse_command(message)


# --- the other pages -------------------------------------------------------------------------


def test_docs_index_links_every_page() -> None:
    index = read(DOCS / "README.md")
    linked = set(re.findall(r"\]\(([a-z0-9-]+\.md)\)", index))
    pages = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert pages - linked == set(), "pages missing from the index docs/README.md"
    assert linked - pages == set(), "docs/README.md links pages that do not exist"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_relative_links_in_docs_resolve(page: str) -> None:
    text = read(DOCS / page)
    broken = []
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        if not (DOCS / target).exists():
            broken.append(target)
    assert broken == []


def test_configuration_doc_names_every_config_key() -> None:
    text = read(DOCS / "configuration.md")
    missing = []
    for section_field in dataclasses.fields(config.Config):
        section_type = type(getattr(config.Config(), section_field.name))
        heading = f"## [{section_field.name}]"
        assert heading in text, heading
        if not dataclasses.is_dataclass(section_type):
            continue  # a raw table ([sync]) whose keys its adapter documents and validates
        body = text.split(heading, 1)[1].split("\n## ", 1)[0]
        keys = {f.name for f in dataclasses.fields(section_type)}
        missing += [f"{section_field.name}.{k}" for k in sorted(keys - backticked(body))]
    layout_keys = {f.name for f in dataclasses.fields(config.VariableMeasureLayout)}
    missing += sorted(layout_keys - backticked(text))
    assert missing == []


def test_configuration_doc_names_every_secret_form() -> None:
    text = read(DOCS / "configuration.md")
    for key in ("password", "phone_key"):
        for form in (key, f"{key}_env", f"{key}_file"):
            assert f"`{form}`" in text, form


def test_barcodes_doc_names_every_invalid_scan_reason_and_pattern_key() -> None:
    text = read(DOCS / "barcodes.md")
    reasons = set(typing.get_args(barcodes.InvalidReason))
    keys = {f.name for f in dataclasses.fields(config.BarcodeConfig)}
    assert (reasons | keys) - backticked(text) == set()

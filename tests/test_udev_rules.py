"""provisioning/udev/*.rules and provisioning/install-udev-rules.sh.

The rules are checked with a small parser of udev's rule syntax (one rule per line, comma
separated ``KEY==`` / ``KEY!=`` matches and ``KEY=`` / ``KEY+=`` / ``KEY-=`` / ``KEY:=``
assignments, known keys only, values in double quotes), then for what the kiosk needs from
them: which devices get which group, mode and link. The install script passes ``bash -n`` and
is run for real with ``--dest`` into a temporary folder (the live mode writes
/etc/udev/rules.d, creates groups and reloads udev: that is for a Pi, not for a test run).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RULES_DIR = REPO / "provisioning" / "udev"
SCRIPT = REPO / "provisioning" / "install-udev-rules.sh"

# udev keys (man 7 udev): which may be matched, which assigned, which take a {name}.
MATCH_ONLY = {
    "ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS",
    "ATTRS", "TAGS", "TEST", "PROGRAM", "RESULT", "CONST",
}  # fmt: skip
MATCH_OR_ASSIGN = {"ATTR", "SYSCTL", "ENV", "TAG", "NAME", "SYMLINK"}
ASSIGN_ONLY = {"OWNER", "GROUP", "MODE", "SECLABEL", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS"}
NEEDS_NAME = {"ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "SECLABEL", "IMPORT"}
MAY_HAVE_NAME = NEEDS_NAME | {"TEST", "RUN"}
MATCH_OPS = {"==", "!="}
ASSIGN_OPS = {"=", "+=", "-=", ":="}
GROUPS = {"dialout", "input", "lp", "gpio"}

_PAIR = re.compile(
    r'\s*(?P<key>[A-Z_]+)(?:\{(?P<name>[^}]+)\})?\s*(?P<op>==|!=|\+=|-=|:=|=)\s*"(?P<value>[^"]*)"\s*'
)


@dataclass(frozen=True)
class Pair:
    key: str
    name: str | None
    op: str
    value: str

    @property
    def is_match(self) -> bool:
        return self.op in MATCH_OPS

    @property
    def full_key(self) -> str:
        return f"{self.key}{{{self.name}}}" if self.name else self.key


class RuleSyntaxError(ValueError):
    pass


def parse_rule(line: str) -> list[Pair]:
    """One rule line as its pairs; ``RuleSyntaxError`` says what is wrong and where."""
    pairs: list[Pair] = []
    position = 0
    while True:
        found = _PAIR.match(line, position)
        if found is None:
            raise RuleSyntaxError(f'not a KEY<op>"value" pair at column {position + 1}')
        pair = Pair(found["key"], found["name"], found["op"], found["value"])
        _check_pair(pair)
        pairs.append(pair)
        position = found.end()
        if position == len(line):
            break
        if line[position] != ",":
            raise RuleSyntaxError(f"expected ',' between pairs at column {position + 1}")
        position += 1
    if not any(p.is_match for p in pairs):
        raise RuleSyntaxError("a rule without a match applies to every device")
    if all(p.is_match for p in pairs):
        raise RuleSyntaxError("a rule without an assignment does nothing")
    return pairs


def _check_pair(pair: Pair) -> None:
    key = pair.key
    if key not in MATCH_ONLY | MATCH_OR_ASSIGN | ASSIGN_ONLY:
        raise RuleSyntaxError(f"unknown key {key}")
    if pair.is_match and key in ASSIGN_ONLY:
        raise RuleSyntaxError(f"{key} can only be assigned, not matched with {pair.op}")
    if not pair.is_match and key in MATCH_ONLY:
        raise RuleSyntaxError(f"{key} can only be matched, not assigned with {pair.op}")
    if key in NEEDS_NAME and not pair.name:
        raise RuleSyntaxError(f"{key} needs a {{name}}")
    if pair.name and key not in MAY_HAVE_NAME:
        raise RuleSyntaxError(f"{key} takes no {{name}}")


def logical_lines(text: str) -> list[str]:
    """Rule lines: comments and blank lines dropped, backslash continuations joined."""
    joined = re.sub(r"\\\n", "", text)
    return [
        ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]


def rules_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.rules"))


def all_rules() -> dict[str, list[list[Pair]]]:
    return {p.name: [parse_rule(ln) for ln in logical_lines(p.read_text())] for p in rules_files()}


def values(rule: list[Pair], full_key: str) -> list[str]:
    return [p.value for p in rule if p.full_key == full_key]


def rules_matching(rules: list[list[Pair]], full_key: str, value: str) -> list[list[Pair]]:
    return [r for r in rules if any(p.full_key == full_key and p.value == value for p in r)]


# -- syntax --------------------------------------------------------------------------------------
def test_the_three_rules_files_are_shipped_with_the_udev_suffix() -> None:
    assert [p.name for p in rules_files()] == [
        "70-kiosk-gpio.rules",
        "70-kiosk-printer.rules",
        "70-kiosk-scanner.rules",
    ]


@pytest.mark.parametrize("path", rules_files(), ids=lambda p: p.name)
def test_every_rule_line_parses_as_known_keys_and_operators(path: Path) -> None:
    lines = logical_lines(path.read_text(encoding="ascii"))
    assert lines, f"{path.name} has no rules"
    for number, line in enumerate(lines, 1):
        try:
            parse_rule(line)
        except RuleSyntaxError as exc:
            pytest.fail(f"{path.name} rule {number}: {exc}: {line}")


@pytest.mark.parametrize("path", rules_files(), ids=lambda p: p.name)
def test_every_rule_is_preceded_by_a_comment_naming_its_device(path: Path) -> None:
    lines = path.read_text(encoding="ascii").splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            assert i > 0 and lines[i - 1].startswith("# "), f"{path.name}:{i + 1} has no comment"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('SUBSYSTEM="tty", GROUP="dialout"', "SUBSYSTEM can only be matched"),
        ('SUBSYSTEM=="tty", GROUP=="dialout"', "GROUP can only be assigned"),
        ('SUBSYSTEM=="tty" GROUP="dialout"', "expected ','"),
        ('SUBSYSTEM=="tty", GRUOP="dialout"', "unknown key GRUOP"),
        ('SUBSYSTEM=="tty", ATTRS=="0c2e", GROUP="dialout"', "ATTRS needs a {name}"),
        ("SUBSYSTEM=='tty', GROUP=\"dialout\"", "not a KEY"),
        ('GROUP="dialout", MODE="0660"', "without a match"),
        ('SUBSYSTEM=="tty", KERNEL=="ttyACM*"', "without an assignment"),
        ('SUBSYSTEM{x}=="tty", GROUP="dialout"', "SUBSYSTEM takes no {name}"),
    ],
)
def test_rule_checker_rejects_broken_rules_naming_the_problem(line: str, problem: str) -> None:
    with pytest.raises(RuleSyntaxError, match=re.escape(problem)):
        parse_rule(line)


# -- what the rules must do ----------------------------------------------------------------------
def test_every_rule_gives_a_known_group_and_mode_0660_and_kiosk_links_only() -> None:
    for name, rules in all_rules().items():
        for rule in rules:
            assert values(rule, "GROUP") and set(values(rule, "GROUP")) <= GROUPS, (name, rule)
            assert values(rule, "MODE") == ["0660"], (name, rule)
            for link in values(rule, "SYMLINK"):
                assert re.fullmatch(r"(input/)?kiosk-[a-z-]+(%n)?", link), (name, link)
            for key in ("ATTRS{idVendor}", "ATTR{idVendor}", "ATTRS{idProduct}", "ATTR{idProduct}"):
                for usb_id in values(rule, key):
                    assert re.fullmatch(r"[0-9a-f]{4}", usb_id), (name, key, usb_id)


def test_serial_scanners_get_numbered_kiosk_links_in_group_dialout() -> None:
    rules = rules_matching(all_rules()["70-kiosk-scanner.rules"], "SUBSYSTEM", "tty")
    vendors = {v for r in rules for v in values(r, "ATTRS{idVendor}")}
    assert {"0c2e", "05e0", "05f9", "1eab"} <= vendors  # Honeywell, Zebra, Datalogic, Newland
    for rule in rules:
        assert values(rule, "GROUP") == ["dialout"]
        assert values(rule, "SYMLINK") == ["kiosk-scanner-%n"]
        assert [p.op for p in rule if p.key == "SYMLINK"] == ["+="]  # keeps /dev/serial/by-id


def test_hid_scanners_are_group_input_and_tagged_for_the_allow_list() -> None:
    rules = rules_matching(all_rules()["70-kiosk-scanner.rules"], "SUBSYSTEM", "input")
    assert {v for r in rules for v in values(r, "ATTRS{idVendor}")} >= {"0c2e", "05e0", "1eab"}
    for rule in rules:
        assert values(rule, "KERNEL") == ["event*"]
        assert values(rule, "GROUP") == ["input"]
        assert values(rule, "ENV{KIOSK_SCANNER}") == ["hid"]
        assert values(rule, "ENV{LIBINPUT_IGNORE_DEVICE}") == ["1"]


def test_epson_star_and_xprinter_printers_are_group_lp_with_the_kiosk_printer_link() -> None:
    rules = all_rules()["70-kiosk-printer.rules"]
    libusb = rules_matching(rules, "SUBSYSTEM", "usb")
    usblp = rules_matching(rules, "SUBSYSTEM", "usbmisc")
    for kind in (libusb, usblp):
        vendors = {
            v for r in kind for v in values(r, "ATTRS{idVendor}") + values(r, "ATTR{idVendor}")
        }
        assert vendors == {"04b8", "0519", "0416"}  # Epson, Star, Xprinter (Winbond)
    for rule in libusb:
        assert values(rule, "ENV{DEVTYPE}") == ["usb_device"]
        assert values(rule, "GROUP") == ["lp"]
    for rule in usblp:
        assert values(rule, "KERNEL") == ["lp[0-9]*"]
        assert values(rule, "SYMLINK") == ["kiosk-printer"]
        assert values(rule, "GROUP") == ["lp"]


def test_gpio_chips_and_gpiomem_are_group_gpio() -> None:
    rules = all_rules()["70-kiosk-gpio.rules"]
    kernels = {v for r in rules for v in values(r, "KERNEL")}
    assert kernels == {"gpiochip[0-9]*", "gpiomem*"}
    assert all(values(r, "GROUP") == ["gpio"] for r in rules)


# -- the install script --------------------------------------------------------------------------
def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_install_script_passes_bash_syntax_check_and_is_executable() -> None:
    result = subprocess.run(
        ["bash", "-n", str(SCRIPT)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert SCRIPT.stat().st_mode & 0o111


def test_install_into_a_folder_copies_every_rules_file_then_changes_nothing(
    tmp_path: Path,
) -> None:
    dest = tmp_path / "rules.d"

    first = run_script("--dest", str(dest))
    second = run_script("--dest", str(dest))

    assert first.returncode == 0, first.stderr
    assert [p.name for p in sorted(dest.iterdir())] == [p.name for p in rules_files()]
    for shipped in rules_files():
        assert (dest / shipped.name).read_bytes() == shipped.read_bytes()
        assert (dest / shipped.name).stat().st_mode & 0o777 == 0o644
    assert first.stdout.count("installed ") == 3
    assert second.returncode == 0, second.stderr
    assert second.stdout.count(" unchanged") == 3 and "installed " not in second.stdout
    assert "groups are: dialout gpio input lp" in second.stdout


def test_check_reports_a_rules_file_that_differs_from_the_shipped_one(tmp_path: Path) -> None:
    dest = tmp_path / "rules.d"
    assert run_script("--dest", str(dest)).returncode == 0
    assert run_script("--dest", str(dest), "--check").returncode == 0

    (dest / "70-kiosk-gpio.rules").write_text("# edited by hand\n")
    result = run_script("--dest", str(dest), "--check")

    assert result.returncode == 1
    assert "70-kiosk-gpio.rules is missing or differs" in result.stdout


def test_install_script_refuses_unknown_arguments_and_user_with_dest(tmp_path: Path) -> None:
    unknown = run_script("--reload-now")
    with_user = run_script("--dest", str(tmp_path), "--user", "kiosk")

    assert unknown.returncode == 2
    assert "unknown argument '--reload-now'" in unknown.stderr
    assert with_user.returncode == 2
    assert "--user only applies to the live system" in with_user.stderr
    assert list(tmp_path.iterdir()) == []


def test_install_script_help_describes_the_modes() -> None:
    result = run_script("--help")
    assert result.returncode == 0
    for mode in ("--user", "--dest", "--check", "reloads udev"):
        assert mode in result.stdout

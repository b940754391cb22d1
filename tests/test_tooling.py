"""Tests of the project tooling: CI entry point, README set-up block, system package script,
Makefile order, and the demo data (config, catalog, staff, members)."""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import subprocess
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.config import Config, VariableMeasureLayout, parse_config
from provisioning import make_demo_data

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "kiosk" / "demo"
INSTALL_DEPS = REPO / "provisioning" / "install-deps.sh"
CATALOG_HEADER = (
    "sku,gtins,plu,category,unit,price,tax_code,age_limit,not_for_sale,quantity_limit,"
    "name_zh_CN,name_en,category_name_zh_CN,category_name_en,category_picture"
)


def ean13_ok(code: str) -> bool:
    """GS1 check digit, computed here independently of the generator."""
    if not re.fullmatch(r"\d{13}", code):
        return False
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(code[:12]))
    return (10 - total % 10) % 10 == int(code[12])


def read_csv(name: str) -> list[dict[str, str]]:
    with (DEMO / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def demo_config() -> Config:
    # The demo reads its member-phone key from a credentials file that `demo init` creates.
    return parse_config(
        (DEMO / "kiosk.toml").read_text(encoding="utf-8"),
        read_file=lambda name: "k" * 32 if name == "secrets/member-phone.key" else "",
    )


@pytest.fixture(scope="module")
def catalog() -> list[dict[str, str]]:
    return read_csv("catalog.csv")


# --- CI, README, Makefile -------------------------------------------------------------------


def test_ci_run_calls_make_test_from_repo_root() -> None:
    ci = REPO / ".ci" / "run"
    text = ci.read_text(encoding="utf-8")
    commands = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    assert "set -euo pipefail" in commands
    assert commands[-1] == "make test"
    assert any(c.startswith("cd ") for c in commands[: commands.index("make test")])
    assert os.access(ci, os.X_OK), ".ci/run must be executable"
    subprocess.run(["bash", "-n", str(ci)], check=True)


def test_readme_setup_block_has_exactly_make_run_and_make_test() -> None:
    head = (REPO / "README.md").read_text(encoding="utf-8").splitlines()[:60]
    setup = next(i for i, ln in enumerate(head) if ln.strip().lower() == "## set-up")
    start = next(i for i in range(setup, len(head)) if head[i].startswith("```"))
    end = next(i for i in range(start + 1, len(head)) if head[i].startswith("```"))
    block = [ln.strip() for ln in head[start + 1 : end] if ln.strip()]
    assert block == ["make run", "make test"]
    assert all(not ln.startswith("#") for ln in head[setup + 1 : start]), "block comes first"


def _recipe(makefile: str, target: str) -> list[str]:
    lines = makefile.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(f"{target}:"))
    recipe = []
    for ln in lines[start + 1 :]:
        if not ln.startswith("\t"):
            break
        recipe.append(ln.strip())
    return recipe


def test_make_test_runs_lint_typecheck_contracts_pytest_in_order() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    steps = [ln.split()[-1] for ln in _recipe(makefile, "test")]
    assert steps == ["lint", "typecheck", "contracts", "pytest"]
    assert "ruff format --check" in " ".join(_recipe(makefile, "lint"))
    assert _recipe(makefile, "typecheck") == ["$(BIN)/mypy kiosk central"]
    assert _recipe(makefile, "contracts") == ["$(BIN)/lint-imports"]
    assert _recipe(makefile, "run") == [
        "$(PY) -m provisioning.run_store start --dir $(STORE_DIR) $(if $(HEADLESS),--headless)",
    ]
    assert "provisioning.run_store stop --dir $(STORE_DIR)" in " ".join(_recipe(makefile, "stop"))


def test_make_dry_run_of_test_names_every_check_when_asked() -> None:
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", "lint", "typecheck", "contracts", "pytest"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CI": "true"},
    ).stdout
    for command in ("ruff check", "ruff format --check", "mypy kiosk", "lint-imports", "pytest"):
        assert command in out


# --- provisioning/install-deps.sh -----------------------------------------------------------


def _array_packages(script: str) -> list[str]:
    match = re.search(r"^PACKAGES=\(\n(.*?)^\)", script, re.MULTILINE | re.DOTALL)
    assert match, "PACKAGES=( ... ) array not found"
    return [ln.split("#")[0].strip() for ln in match.group(1).splitlines() if ln.split("#")[0]]


def test_install_deps_passes_bash_syntax_check() -> None:
    subprocess.run(["bash", "-n", str(INSTALL_DEPS)], check=True)
    assert os.access(INSTALL_DEPS, os.X_OK)


def test_install_deps_lists_its_packages_in_one_array() -> None:
    script = INSTALL_DEPS.read_text(encoding="utf-8")
    assert len(re.findall(r"^\s*[A-Z_]*PACKAGES=\(", script, re.MULTILINE)) == 1
    packages = _array_packages(script)
    listed = subprocess.run(
        ["bash", str(INSTALL_DEPS), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert listed == packages
    assert len(set(packages)) == len(packages)
    for needed in ("python3-venv", "sqlite3", "mosquitto", "xvfb", "fonts-noto-cjk", "tzdata"):
        assert needed in packages


def test_install_deps_refuses_unknown_argument() -> None:
    result = subprocess.run(
        ["bash", str(INSTALL_DEPS), "--frobnicate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "unknown argument '--frobnicate'" in result.stderr


def test_install_deps_is_non_interactive_and_checks_dpkg_first() -> None:
    script = INSTALL_DEPS.read_text(encoding="utf-8")
    assert "DEBIAN_FRONTEND=noninteractive" in script
    assert script.index("dpkg-query") < script.index("apt-get -q update")
    assert "sudo -n" in script


# --- demo config --------------------------------------------------------------------------------


def test_demo_config_parses_with_demo_values(demo_config: Config) -> None:
    assert demo_config.store.id == "s0001"
    assert demo_config.store.currency == "CNY"
    assert demo_config.store.time_zone == "Asia/Shanghai"
    assert demo_config.kiosk.id == "s0001-k01"
    assert demo_config.kiosk.languages == ("zh_CN", "en", "ja")
    assert demo_config.tax.codes == {"VAT13": Decimal("0.13"), "VAT9": Decimal("0.09")}
    assert demo_config.cash.rounding_increment == 10
    assert demo_config.receipt.width == 42


def test_demo_config_sets_every_key_the_parser_knows() -> None:
    data = tomllib.loads((DEMO / "kiosk.toml").read_text(encoding="utf-8"))
    missing: list[str] = []
    for section in dataclasses.fields(Config):
        table = data.get(section.name, {})
        if section.name == "sync":  # a raw table validated by kiosk.sync.settings
            continue
        section_type = type(getattr(Config(), section.name))
        for f in dataclasses.fields(section_type):
            if f.name == "variable_measure":
                layout_keys = {lf.name for lf in dataclasses.fields(VariableMeasureLayout)}
                missing += [
                    f"barcodes.variable_measure[{i}].{key}"
                    for i, layout in enumerate(table.get(f.name, [{}]))
                    for key in sorted(layout_keys - set(layout))
                ]
            elif not {f.name, f"{f.name}_env", f"{f.name}_file"} & set(table):
                # A secret counts as set in any of its three forms (inline, _env, _file).
                missing.append(f"{section.name}.{f.name}")
    assert missing == []


# --- demo catalog, staff, members -----------------------------------------------------------


def test_demo_catalog_has_exact_header_and_a_few_hundred_rows(
    catalog: list[dict[str, str]],
) -> None:
    header = (DEMO / "catalog.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == CATALOG_HEADER
    assert 250 <= len(catalog) <= 400


def test_demo_catalog_gtins_have_valid_check_digits(catalog: list[dict[str, str]]) -> None:
    bad = [(r["sku"], g) for r in catalog for g in r["gtins"].split("|") if g and not ean13_ok(g)]
    assert bad == []
    assert sum(1 for r in catalog if "|" in r["gtins"]) >= 2


def test_demo_catalog_skus_gtins_and_plus_are_unique(catalog: list[dict[str, str]]) -> None:
    skus = [r["sku"] for r in catalog]
    gtins = [g for r in catalog for g in r["gtins"].split("|") if g]
    plus = [r["plu"] for r in catalog if r["plu"]]
    assert len(set(skus)) == len(skus)
    assert len(set(gtins)) == len(gtins)
    assert len(set(plus)) == len(plus)


def test_demo_catalog_tax_codes_are_in_demo_config(
    catalog: list[dict[str, str]], demo_config: Config
) -> None:
    used = {r["tax_code"] for r in catalog}
    assert used <= set(demo_config.tax.codes)
    assert used == {"VAT13", "VAT9"}


def test_demo_catalog_rows_are_well_formed(catalog: list[dict[str, str]]) -> None:
    for r in catalog:
        assert re.fullmatch(r"\d+\.\d\d", r["price"]), r
        assert Decimal(r["price"]) > 0, r
        assert r["unit"] in ("ea", "kg"), r
        if r["unit"] == "kg":
            assert re.fullmatch(r"\d{5}", r["plu"]), r
        else:
            assert r["gtins"] and not r["plu"], r
        assert r["not_for_sale"] in ("0", "1"), r
        assert r["age_limit"].isdigit() and r["quantity_limit"].isdigit(), r
        assert r["name_zh_CN"] and r["name_en"], r
        if r["category"] in ("酒类/Alcohol", "香烟/Tobacco"):
            assert r["age_limit"] == "18", r
    assert sum(r["not_for_sale"] == "1" for r in catalog) >= 2
    assert sum(r["quantity_limit"] == "2" for r in catalog) >= 2


def test_demo_catalog_well_known_entries_are_present(catalog: list[dict[str, str]]) -> None:
    by_sku = {r["sku"]: r for r in catalog}
    water = by_sku["100001"]
    assert (water["gtins"], water["price"], water["tax_code"]) == ("6921168509256", "2.00", "VAT13")
    assert water["name_en"] == "Nongfu Spring water 550ml"
    assert by_sku["100002"]["age_limit"] == "18"
    banana = by_sku["100003"]
    assert (banana["unit"], banana["plu"], banana["price"], banana["tax_code"]) == (
        "kg",
        "10001",
        "6.98",
        "VAT9",
    )
    # The documented weight barcode for the banana is a valid EAN-13 pointing at PLU 10001.
    assert ean13_ok("2110001012501")
    assert "2110001012501"[2:7] == banana["plu"]


def test_demo_staff_and_members_match_config_patterns(demo_config: Config) -> None:
    staff = read_csv("staff.csv")
    assert [(s["staff_id"], s["role"], s["badge"], s["pin"]) for s in staff] == [
        ("E01", "attendant", "ST0001", "1234"),
        ("E02", "supervisor", "ST0002", "9999"),
        ("E07", "attendant", "ST0007", "2468"),
    ]
    for s in staff:
        assert re.fullmatch(demo_config.barcodes.staff_badge, s["badge"])
        assert len(s["pin"]) >= demo_config.staff.pin_min_length
    members = read_csv("members.csv")
    assert list(members[0]) == ["member_id", "code", "phone", "level", "name"]
    assert len(members) >= 3
    for m in members:
        assert re.fullmatch(r"M\d{6,10}", m["code"])
        assert re.fullmatch(demo_config.barcodes.member, m["code"])


def test_demo_data_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    counts = make_demo_data.write_demo_data(tmp_path)
    assert counts["catalog.csv"] == make_demo_data.CATALOG_SIZE
    for name in ("catalog.csv", "staff.csv", "members.csv"):
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name


def test_demo_generator_rejects_non_digit_gs1_body() -> None:
    with pytest.raises(ValueError, match="digits only"):
        make_demo_data.gs1_check_digit("69211685092X")

"""The dependency rules of docs/architecture.md cannot be bypassed by adding a module."""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Entry points and the composition root may do I/O; everything else at kiosk/ top level is core.
NOT_CORE = {"__init__", "app", "cli", "logs"}


def _contract_modules() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    listed = config["importlinter:contract:core-pure"]["source_modules"]
    return {line.strip() for line in listed.splitlines() if line.strip()}


def test_every_core_module_is_under_the_core_purity_contract() -> None:
    core = {
        f"kiosk.{path.stem}" for path in (ROOT / "kiosk").glob("*.py") if path.stem not in NOT_CORE
    }
    core.add("kiosk.protocol")
    missing = sorted(core - _contract_modules())
    assert missing == [], f"add these to [importlinter:contract:core-pure] in setup.cfg: {missing}"


def test_the_contract_lists_no_module_that_does_not_exist() -> None:
    stale = sorted(
        name
        for name in _contract_modules()
        if not (ROOT / (name.replace(".", "/") + ".py")).exists()
        and not (ROOT / name.replace(".", "/")).is_dir()
    )
    assert stale == []

"""Fixtures of the end-to-end tests.

- ``demo_template``: one demo kiosk folder made by ``kiosk demo init`` (the real CLI) once per
  session; every kiosk of every test is a copy of it with its own kiosk id and broker.
- ``stack``: a ``tests.e2e.stack.Stack`` in the test's tmp_path; whatever it started is
  killed when the test ends, pass or fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack, kiosk_cli, run_cli


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("e2e-template") / "kiosk"
    run_cli(kiosk_cli("demo", "init", "--dir", str(folder)))
    return folder


@pytest.fixture
def stack(tmp_path: Path, demo_template: Path) -> Iterator[Stack]:
    instance = Stack(tmp_path, demo_template)
    try:
        yield instance
    finally:
        instance.close()

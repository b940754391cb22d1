"""Shared fixtures of the presenter tests: catalogs and a ``Text`` per language (no Kivy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.ui.i18n import Translations
from kiosk.ui.presenters.text import Text


@pytest.fixture(scope="session")
def translations() -> Translations:
    return Translations()


@pytest.fixture
def text_of(translations: Translations) -> Callable[[str], Text]:
    def make(lang: str) -> Text:
        return Text(translations, lang, "CNY")

    return make


def line(no: int, **overrides: Any) -> dict[str, Any]:
    """A basket line as kiosk.lane_view builds it."""
    base: dict[str, Any] = {
        "line": no,
        "sku": f"10000{no}",
        "name": f"item {no}",
        "qty": "1",
        "unit": "ea",
        "unit_price": 200,
        "gross": 200,
        "discount": 0,
        "amount": 200,
        "adjustments": [],
        "voided": False,
        "age_limit": 0,
    }
    base.update(overrides)
    return base


def view(**overrides: Any) -> dict[str, Any]:
    """A lane view with the fields the presenters read."""
    base: dict[str, Any] = {
        "mode": "scanning",
        "language": "en",
        "currency": "CNY",
        "lines": [],
        "totals": {"gross": 0, "discount": 0, "due": 0, "paid": 0, "items": "0"},
        "tenders": [],
        "interventions": [],
        "blocked": False,
        "attendant": None,
        "out_of_service": None,
        "last_receipt": None,
        "idle": "",
        "fake_hardware": True,
    }
    base.update(overrides)
    return base

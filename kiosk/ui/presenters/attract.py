"""The attract (welcome) screen: greeting, the language buttons, how to start.

Plain Python (no Kivy); called on the Kivy thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kiosk.ui.i18n import LANGUAGES
from kiosk.ui.presenters.text import Text


@dataclass(frozen=True)
class LanguageChoice:
    lang: str
    label: str  # the language's own name (中文, English, 日本語)
    selected: bool


@dataclass(frozen=True)
class AttractView:
    store: str
    title: str
    prompt: str
    start: str
    languages: tuple[LanguageChoice, ...]


def present_attract(
    view: Mapping[str, Any], text: Text, store: str, languages: Sequence[str]
) -> AttractView:
    """``languages``: the customer languages offered (configured and translated)."""
    current = str(view.get("language") or text.lang)
    return AttractView(
        store=store,
        title=text._("Welcome"),
        prompt=text._("Scan your first item or touch Start"),
        start=text._("Start"),
        languages=tuple(
            LanguageChoice(lang, LANGUAGES.get(lang, lang), lang == current) for lang in languages
        ),
    )

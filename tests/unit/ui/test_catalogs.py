"""The touchscreen's gettext catalogs: every string in the code is in the .po files, translated
in every language, and the committed .mo files are what the .po files compile to."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk.ui.i18n import LANGUAGES, LOCALE_DIR, MissingCatalog, Translations
from kiosk.ui.kv_extract import extract_text

ROOT = Path(__file__).resolve().parents[3]
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "n_": (1, 2), "t": None}


def _po(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def _extracted() -> set[str]:
    ids: set[str] = set()
    for path in sorted((ROOT / "kiosk" / "ui").rglob("*")):
        if path.suffix == ".py":
            for _line, message, _c, _ctx in extract_from_file("python", str(path), KEYWORDS):
                ids.add(message[0] if isinstance(message, tuple) else message)
        elif path.suffix == ".kv":
            for _line, _func, message, _c in extract_text(path.read_text(encoding="utf-8")):
                ids.add(message)
    return ids


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_string_in_the_code_is_translated(lang: str) -> None:
    catalog = _po(lang)
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(_extracted() - translated)
    assert not missing, f"{lang}: not in kiosk.po or not translated (run make i18n): {missing}"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_the_committed_mo_is_the_compiled_po(lang: str) -> None:
    buffer = io.BytesIO()
    write_mo(buffer, _po(lang))
    compiled = (LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.mo").read_bytes()
    assert compiled == buffer.getvalue(), f"{lang}: kiosk.mo is stale; run make i18n"


def test_translations_follow_the_language() -> None:
    translations = Translations()
    assert translations.gettext("Pay", "zh_CN") == "付款"
    assert translations.gettext("Pay", "ja") == "支払う"
    assert translations.gettext("Pay", "en") == "Pay"
    assert translations.bind("zh_CN")("Total") == "合计"


def test_a_language_without_a_catalog_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MissingCatalog, match="no translation for language 'ko'"):
        Translations(["ko"])
    with pytest.raises(MissingCatalog, match=r"kiosk\.mo is missing: compile .*make i18n"):
        Translations(["en"], locale_dir=tmp_path)
    broken = tmp_path / "ja" / "LC_MESSAGES"
    broken.mkdir(parents=True)
    (broken / "kiosk.mo").write_bytes(b"not a catalog")
    with pytest.raises(MissingCatalog, match="cannot be read"):
        Translations(["ja"], locale_dir=tmp_path)
    with pytest.raises(MissingCatalog, match="language 'ja' is not loaded"):
        Translations(["en"]).gettext("Pay", "ja")

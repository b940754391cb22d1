"""gettext catalogs of the touchscreen: ``Translations.gettext(msgid, lang)``.

The catalogs are ``kiosk/ui/locale/<lang>/LC_MESSAGES/kiosk.mo``, compiled from the ``.po``
files next to them by ``make i18n`` (Babel). Strings are marked for extraction with ``_`` or
``N_`` in Python and ``app.t("...")`` in ``.kv`` files (``kiosk.ui.kv_extract``).

A language without a catalog is an error naming the missing file (``make i18n`` builds it), so a
kiosk never silently shows English to a customer who chose Chinese. No Kivy here: presenters and
their unit tests use it too. Called on the Kivy thread (and from tests).
"""

from __future__ import annotations

import gettext
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

from kiosk.errors import KioskError

logger = logging.getLogger(__name__)

DOMAIN: Final = "kiosk"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
# The languages the touchscreen has catalogs for, with the name each shows itself by.
LANGUAGES: Final[dict[str, str]] = {"zh_CN": "中文", "en": "English", "ja": "日本語"}
SOURCE_LANGUAGE: Final = "en"  # msgids are English


def N_(msgid: str) -> str:
    """Mark ``msgid`` for extraction without translating it (translated later, by language)."""
    return msgid


class MissingCatalog(KioskError):
    """A language's compiled catalog (.mo) is missing or unreadable."""


class Translations:
    """The compiled catalogs of ``languages``, loaded once."""

    def __init__(
        self, languages: Iterable[str] = tuple(LANGUAGES), locale_dir: Path = LOCALE_DIR
    ) -> None:
        self.locale_dir = locale_dir
        self._catalogs: dict[str, gettext.NullTranslations] = {}
        for lang in languages:
            self._catalogs[lang] = self._load(lang)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._catalogs)

    def _load(self, lang: str) -> gettext.NullTranslations:
        if lang not in LANGUAGES:
            raise MissingCatalog(
                f"the touchscreen has no translation for language {lang!r}; it knows "
                f"{', '.join(LANGUAGES)}"
            )
        path = self.locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
        try:
            with path.open("rb") as handle:
                return gettext.GNUTranslations(handle)
        except FileNotFoundError:
            raise MissingCatalog(
                f"{path} is missing: compile the catalogs with `make i18n`"
            ) from None
        except OSError as exc:  # also "bad magic number": not a .mo file
            raise MissingCatalog(f"{path} cannot be read: {exc}") from exc

    def gettext(self, msgid: str, lang: str) -> str:
        """``msgid`` in ``lang``; an unknown language is an error naming it."""
        catalog = self._catalogs.get(lang)
        if catalog is None:
            raise MissingCatalog(
                f"language {lang!r} is not loaded; loaded: {', '.join(self._catalogs)}"
            )
        return catalog.gettext(msgid)

    def ngettext(self, singular: str, plural: str, n: int, lang: str) -> str:
        catalog = self._catalogs.get(lang)
        if catalog is None:
            raise MissingCatalog(
                f"language {lang!r} is not loaded; loaded: {', '.join(self._catalogs)}"
            )
        return catalog.ngettext(singular, plural, n)

    def bind(self, lang: str) -> Callable[[str], str]:
        """A ``_`` for one language."""
        self.gettext("", lang)  # fail now for an unknown language

        def translate(msgid: str) -> str:
            return self.gettext(msgid, lang)

        return translate

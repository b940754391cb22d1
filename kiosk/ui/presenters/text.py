"""``Text``: translation plus locale formatting bound to one language and currency.

Presenters take a ``Text`` instead of importing Kivy or the app: ``text._("Pay")``,
``text.money(1250)``. Plain Python; built by the app (Kivy thread) and by unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from kiosk.ui import format as fmt
from kiosk.ui.i18n import Translations


@dataclass(frozen=True)
class Text:
    """Translations and formats of ``lang``; amounts are minor units of ``currency``."""

    translations: Translations
    lang: str
    currency: str

    def _(self, msgid: str) -> str:
        """``msgid`` translated (the empty string stays empty)."""
        return self.translations.gettext(msgid, self.lang) if msgid else ""

    def n_(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n, self.lang)

    def money(self, minor: int) -> str:
        return fmt.money(minor, self.currency, self.lang)

    def number(self, value: int | Decimal) -> str:
        return fmt.number(value, self.lang)

    def qty(self, value: str, unit: str) -> str:
        return fmt.qty(value, unit, self.lang)

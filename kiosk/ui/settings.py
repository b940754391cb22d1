"""``UiSettings``: what the touchscreen needs of the kiosk's configuration, as plain values.

Built once by ``kiosk.app.gui.ui_settings`` (from the config and the command line) before the
app starts, then only read, on the Kivy thread. No Kivy import: unit-tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.config import PaymentsConfig, UiConfig


@dataclass(frozen=True)
class UiSettings:
    """What the touchscreen needs to know of the kiosk's configuration."""

    store_name: str
    currency: str
    languages: tuple[str, ...]  # customer languages offered, in order
    default_language: str
    font: str | None = None  # a font file instead of Noto Sans CJK
    high_contrast: bool = False
    payment_methods: tuple[str, ...] = PaymentsConfig.methods  # [payments] methods
    terminal_timeout_s: float = PaymentsConfig.terminal_timeout_s  # [payments]
    attract_after_receipt_s: float = UiConfig.attract_after_receipt_s  # [ui]

"""Every screen of the touchscreen: ``SCREENS`` lists (name, module, class), imported lazily.

``KioskApp.build`` loads each module and its ``.kv`` file (``load``) on the Kivy thread and makes
a screen the first time it is shown (``FOLLOWERS`` at once); a
module that is not there is a ``ScreenMissing`` error naming it, never a silently missing
screen. Kept in one list so the router (``kiosk.ui.presenters.router``) and the app agree.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.errors import KioskError

logger = logging.getLogger(__name__)

_PACKAGE: Final = "kiosk.ui.screens"

SCREENS: Final[tuple[tuple[str, str, str], ...]] = (
    # customer screens
    ("attract", "attract", "AttractScreen"),
    ("basket", "basket", "BasketScreen"),
    ("help", "help", "HelpScreen"),
    ("out_of_service", "out_of_service", "OutOfServiceScreen"),
    ("receipt", "receipt", "ReceiptScreen"),
    ("still_there", "still_there", "StillThereScreen"),
    ("lookup", "lookup", "LookupScreen"),
    ("member", "member", "MemberScreen"),
    ("payment", "payment", "PaymentScreen"),
    ("processing", "processing", "ProcessingScreen"),
    # attendant screens
    ("staff_login", "staff_login", "StaffLoginScreen"),
    ("attendant", "attendant", "AttendantScreen"),
    ("attendant_item", "attendant_item", "AttendantItemScreen"),
    ("attendant_cash", "attendant_cash", "AttendantCashScreen"),
    ("attendant_shift", "attendant_shift", "AttendantShiftScreen"),
    ("attendant_devices", "attendant_devices", "AttendantDevicesScreen"),
)
NAMES: Final = tuple(name for name, _module, _cls in SCREENS)
CUSTOMER_SCREENS: Final = NAMES[:10]
STAFF_SCREENS: Final = NAMES[10:]
# Screens whose ``on_events`` keeps state while another screen is shown (the payment in
# flight, which the processing screen reads): made with the app, not when first shown.
FOLLOWERS: Final = ("payment",)


class ScreenMissing(KioskError):
    """A screen's module, class or kv file is not there."""


@dataclass(frozen=True)
class ScreenSpec:
    name: str
    module: str
    cls: str

    @property
    def module_path(self) -> str:
        return f"{_PACKAGE}.{self.module}"

    @property
    def kv_file(self) -> Path:
        return Path(__file__).resolve().parent / f"{self.module}.kv"


def spec(name: str) -> ScreenSpec:
    for entry in SCREENS:
        if entry[0] == name:
            return ScreenSpec(*entry)
    raise ScreenMissing(f"no screen named {name!r}; screens: {', '.join(NAMES)}")


def load(name: str) -> tuple[type, Path]:
    """Import screen ``name``'s class; returns it with its kv file (Kivy thread)."""
    entry = spec(name)
    try:
        module = importlib.import_module(entry.module_path)
    except ModuleNotFoundError as exc:
        if exc.name != entry.module_path:
            raise  # the screen's module exists but imports something missing
        raise ScreenMissing(
            f"screen {name!r}: module {entry.module_path} is not written yet "
            f"(kiosk/ui/screens/{entry.module}.py)"
        ) from None
    cls = getattr(module, entry.cls, None)
    if not isinstance(cls, type):
        raise ScreenMissing(f"screen {name!r}: {entry.module_path} has no class {entry.cls}")
    if not entry.kv_file.is_file():
        raise ScreenMissing(f"screen {name!r}: its kv file {entry.kv_file} is missing")
    return cls, entry.kv_file

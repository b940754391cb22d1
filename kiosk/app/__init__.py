"""Composition root: reads the config file, builds the adapters and wires them to the lane.

The only package that imports both the core and the adapters (``kiosk.store``, ``kiosk.hw``,
``kiosk.sim``). Nothing happens at import time; the CLI calls these functions.

- ``kiosk.app.loading``: ``read_config``, ``time_zone``, ``open_store``, ``member_key``.
- ``kiosk.app.device_settings``: the ``[devices.*]`` tables checked against the adapters'
  settings (``kiosk config check`` runs it without opening anything).
- ``kiosk.app.device_open``: opening one device, with errors that say what to do.
- ``kiosk.app.devices``: ``build_devices`` and ``Devices``, wired to the lane's thread.
- ``kiosk.app.headless``: ``build_headless`` and ``HeadlessKiosk`` (``kiosk sim``, tests).
- ``kiosk.app.lock``: ``KioskLock``, one kiosk process per data folder.
- ``kiosk.app.hw_tools``: what ``kiosk hw list`` and ``kiosk hw test`` do.
"""

from kiosk.app.device_settings import DeviceSettings, device_settings
from kiosk.app.devices import Devices, build_devices
from kiosk.app.headless import HeadlessKiosk, build_headless
from kiosk.app.loading import member_key, open_store, read_config, time_zone
from kiosk.app.lock import KioskBusy, KioskLock

__all__ = [
    "DeviceSettings",
    "Devices",
    "HeadlessKiosk",
    "KioskBusy",
    "KioskLock",
    "build_devices",
    "build_headless",
    "device_settings",
    "member_key",
    "open_store",
    "read_config",
    "time_zone",
]

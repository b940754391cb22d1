"""Self-checkout kiosk firmware.

The top-level ``kiosk`` package is the pure core: standard library plus pure libraries (biip),
no I/O. Adapters live in ``kiosk.store``, ``kiosk.hw``, ``kiosk.sync``, ``kiosk.ui`` and
``kiosk.sim``; only ``kiosk.app`` wires them together.
"""

__version__ = "0.1.0"

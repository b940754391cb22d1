"""Device adapters: the lane's ports implemented for hardware and for simulation.

- ``kiosk.hw.system``: the system clock and the id source (``SystemClock``, ``RandomIds``).
- ``kiosk.hw.fake``: drivable fakes (``FakeClock``, ``FakeDrawer``, ``FakeLight``,
  ``FakePrinter``, ``FakeScanner``) used by tests and ``kiosk sim``.
- ``kiosk.hw.payment_sim``: scriptable ``SimCardTerminal`` and ``SimWalletGateway``.
- ``kiosk.hw.gpio``: the one place that picks the gpiozero pin factory (``make_pin_factory``).
- ``kiosk.hw.drawer`` (``GpioDrawer``) and ``kiosk.hw.light`` (``GpioStatusLight``): the cash
  drawer relay with its switch, and the tower light, on GPIO.
- ``kiosk.hw.escpos_printer`` (``EscposPrinter``), with ``escpos_render``, ``printer_profiles``
  and ``raster``: ESC/POS receipt printers over USB, serial, network or file.
- ``kiosk.hw.printer_drawer`` (``PrinterDrawer``): the cash drawer kicked through the receipt
  printer's drawer port.
- ``kiosk.hw.serial_scanner`` (``SerialScanner``) and ``kiosk.hw.hid_scanner``
  (``HidScanner``), with ``framing`` and ``keymap``: barcode scanners on their reader threads.

This package imports nothing at import time so that loading one adapter never loads another's
library. The composition root (``kiosk.app.devices``) picks and opens the adapters the config
names and never falls back silently: a configured device that cannot be opened stops start-up.
"""

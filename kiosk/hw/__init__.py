"""Device adapters: the lane's ports implemented for hardware and for simulation.

- ``kiosk.hw.system``: the system clock and the id source (``SystemClock``, ``RandomIds``).
- ``kiosk.hw.fake``: drivable fakes (``FakeClock``, ``FakeDrawer``, ``FakeLight``,
  ``FakePrinter``, ``FakeScanner``) used by tests and ``kiosk sim``.
- ``kiosk.hw.payment_sim``: scriptable ``SimCardTerminal`` and ``SimWalletGateway``.

The real device adapters (GPIO, ESC/POS, serial scanners) come with the hardware issue. This
package imports nothing at import time so that loading one adapter never loads another's
library; ``kiosk.app`` picks the adapters from the config and never falls back silently.
"""

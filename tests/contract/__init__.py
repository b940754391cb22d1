"""Contract tests: one test body run against a fake device and the real adapter.

Each module parametrises a rig over ``fake`` (``kiosk.hw.fake``), the real adapter on a
stand-in that needs no hardware (a pseudo-terminal, a local socket) and, opt-in on a kiosk
with the device attached, ``real`` (``KIOSK_TEST_REAL_HW=1``; each module's docstring lists
the other variables and the wiring). Without ``KIOSK_TEST_REAL_HW=1`` the real cases are
reported as skipped.
"""

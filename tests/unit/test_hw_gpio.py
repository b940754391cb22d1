"""kiosk.hw.gpio: the one place that picks the gpiozero pin factory, and never falls back."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable

import pytest
from gpiozero import Device, OutputDevice
from gpiozero.pins.mock import MockFactory

from kiosk.errors import DeviceError
from kiosk.hw.gpio import (
    ACCESS_HINTS,
    INSTALL_HINTS,
    PIN_FACTORIES,
    check_bcm_pin,
    make_pin_factory,
    reason_of,
)


@pytest.fixture
def without_module(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Make ``import <name>`` fail as it does where the library is not installed, and forget
    gpiozero's backend modules so that they import their library again."""

    def block(name: str) -> None:
        monkeypatch.setitem(sys.modules, name, None)
        for backend in ("gpiozero.pins.rpigpio", "gpiozero.pins.lgpio"):
            monkeypatch.delitem(sys.modules, backend, raising=False)

    return block


def test_mock_factory_is_made_and_drives_pins() -> None:
    factory = make_pin_factory("mock")
    try:
        assert isinstance(factory, MockFactory)
        with OutputDevice(17, pin_factory=factory) as relay:
            relay.on()
            assert factory.pin(17).state is True
    finally:
        factory.close()


def test_each_call_makes_a_new_factory_and_the_global_default_is_untouched() -> None:
    before = Device.pin_factory
    first, second = make_pin_factory("mock"), make_pin_factory("mock")
    try:
        assert first is not second
        assert Device.pin_factory is before
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    ("name", "module", "install"),
    [
        ("rpigpio", "RPi", "python3-rpi.gpio"),
        ("lgpio", "lgpio", "python3-lgpio"),
    ],
)
def test_real_factory_without_its_library_raises_device_error_saying_what_to_install(
    without_module: Callable[[str], None], name: str, module: str, install: str
) -> None:
    without_module(module)
    with pytest.raises(DeviceError) as caught:
        make_pin_factory(name)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(f"pin factory '{name}' failed to load: ")
    assert module in message  # the reason: which import failed
    assert install in message
    assert "RPi.GPIO does not support the Pi 5's RP1 chip" in message
    assert message.endswith(INSTALL_HINTS[name])
    assert isinstance(caught.value.__cause__, ImportError)


def test_lgpio_pi_5_hint_matches_the_runbook_wording(without_module: Callable[[str], None]) -> None:
    without_module("lgpio")
    with pytest.raises(DeviceError) as caught:
        make_pin_factory("lgpio")
    assert (
        "On a Raspberry Pi 5 install python3-lgpio (apt) or `pip install lgpio` (the kiosk's "
        "`pi` extra); RPi.GPIO does not support the Pi 5's RP1 chip"
    ) in str(caught.value)


def test_real_factory_that_loads_but_cannot_start_raises_device_error_with_the_reason(
    without_module: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # lgpio is importable (a stand-in for the C library whose chip cannot be opened), but this
    # is not a Raspberry Pi, or the kiosk's user may not open /dev/gpiochip*.
    without_module("lgpio")
    lgpio = types.ModuleType("lgpio")

    class LgpioError(Exception):
        pass

    def gpiochip_open(chip: int) -> int:
        raise LgpioError("can not open gpiochip")

    for constant in (
        "SET_PULL_NONE",
        "SET_PULL_UP",
        "SET_PULL_DOWN",
        "RISING_EDGE",
        "FALLING_EDGE",
        "BOTH_EDGES",
    ):
        setattr(lgpio, constant, 0)
    lgpio.error = LgpioError  # type: ignore[attr-defined]
    lgpio.gpiochip_open = gpiochip_open  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lgpio", lgpio)
    # gpiozero's backend module binds the stand-in at import: later tests must import it anew
    monkeypatch.delitem(sys.modules, "gpiozero.pins.lgpio", raising=False)

    try:
        with pytest.raises(DeviceError) as caught:
            make_pin_factory("lgpio")
    finally:
        sys.modules.pop("gpiozero.pins.lgpio", None)
    message = str(caught.value)
    assert message.startswith("pin factory 'lgpio' failed to load: ")
    # off a Pi gpiozero cannot find the board revision; on a Pi the chip does not open
    assert "PinUnknownPi" in message or "can not open gpiochip" in message
    assert message.endswith(ACCESS_HINTS["lgpio"])
    assert "/dev/gpiochip" in message


def test_unknown_factory_name_raises_value_error_naming_it_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown pin factory 'pigpio': expected one of "):
        make_pin_factory("pigpio")  # type: ignore[arg-type]


def test_factories_offered_are_the_two_real_ones_and_mock() -> None:
    assert PIN_FACTORIES == ("rpigpio", "lgpio", "mock")


def test_reason_of_keeps_import_text_and_names_other_exception_types() -> None:
    assert reason_of(ModuleNotFoundError("No module named 'lgpio'")) == "No module named 'lgpio'"
    assert reason_of(RuntimeError("Not running on a RPi!")) == "RuntimeError: Not running on a RPi!"
    assert reason_of(OSError()) == "OSError"


@pytest.mark.parametrize("pin", [0, 17, 27])
def test_check_bcm_pin_accepts_header_gpio_numbers(pin: int) -> None:
    assert check_bcm_pin("relay_pin", pin) == pin


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (28, r"relay_pin must be a BCM GPIO number 0\.\.27, got 28"),
        (-1, r"relay_pin must be a BCM GPIO number 0\.\.27, got -1"),
        ("17", r"relay_pin must be a BCM GPIO number \(int\), got '17'"),
        (True, r"relay_pin must be a BCM GPIO number \(int\), got True"),
        (17.0, r"relay_pin must be a BCM GPIO number \(int\), got 17\.0"),
    ],
)
def test_check_bcm_pin_rejects_values_off_the_header_naming_the_field(
    value: object, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        check_bcm_pin("relay_pin", value)

"""kiosk.hw.light: the status tower light on GPIO, tested on gpiozero's MockFactory pins.

The Light contract tests at the top run one body against ``FakeLight``, ``GpioStatusLight`` on
a ``MockFactory`` and, opt-in (``KIOSK_TEST_REAL_HW=1``, docs/hardware.md), on a real Pi with a
tower light or LEDs wired. The GPIO-only tests read the mock pins like a wiring diagram:

    green  BCM 24    amber  BCM 25    red  BCM 16    buzzer  BCM 26

Blink timing is read from each ``MockPin.states`` entry (seconds since the previous change).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from gpiozero import LED, OutputDevice
from gpiozero.pins.mock import MockFactory, MockPin
from gpiozero.threads import GPIOThread

from kiosk.errors import DeviceError
from kiosk.hw.fake import LIGHT_STATES, FakeClock, FakeLight
from kiosk.hw.gpio import make_pin_factory
from kiosk.hw.light import BUZZER_PULSE, ESCALATED, PATTERNS, GpioStatusLight, LightSettings
from kiosk.hw.system import SystemClock
from kiosk.ports import Light

T0 = datetime(2024, 1, 1, tzinfo=UTC)
GREEN, AMBER, RED, BUZZER = 24, 25, 16, 26
REAL_HW = os.environ.get("KIOSK_TEST_REAL_HW") == "1"


class FailingPin(MockPin):
    """A pin whose driver starts failing writes when ``broken`` is set (EIO from the kernel)."""

    broken = False

    def _set_state(self, value: bool) -> None:
        if self.broken:
            raise OSError(5, "Input/output error")
        super()._set_state(value)


def settings(**overrides: Any) -> LightSettings:
    wiring: dict[str, Any] = {
        "green_pin": GREEN,
        "amber_pin": AMBER,
        "red_pin": RED,
        "buzzer_pin": BUZZER,
    }
    return LightSettings(**{**wiring, **overrides})


def real_settings() -> LightSettings:
    def pin(name: str, default: int) -> int:
        return int(os.environ.get(f"KIOSK_TEST_LIGHT_{name}_PIN", default))

    buzzer = os.environ.get("KIOSK_TEST_LIGHT_BUZZER_PIN", str(BUZZER))
    return LightSettings(
        green_pin=pin("GREEN", GREEN),
        amber_pin=pin("AMBER", AMBER),
        red_pin=pin("RED", RED),
        buzzer_pin=int(buzzer) if buzzer else None,
        active_high=os.environ.get("KIOSK_TEST_LIGHT_ACTIVE_HIGH", "1") == "1",
    )


# -- the Light contract: one body, every implementation ------------------------------------------
@pytest.fixture(
    params=[
        "fake",
        "gpio",
        pytest.param(
            "real",
            marks=[
                pytest.mark.real_hw,
                pytest.mark.skipif(
                    not REAL_HW,
                    reason="opt-in: a Raspberry Pi with the tower light wired, "
                    "KIOSK_TEST_REAL_HW=1 (docs/hardware.md)",
                ),
            ],
        ),
    ]
)
def light(request: pytest.FixtureRequest) -> Iterator[Any]:
    with ExitStack() as stack:
        if request.param == "fake":
            yield FakeLight(FakeClock(T0))
            return
        if request.param == "gpio":
            factory: Any = MockFactory()
            stack.callback(factory.close)
            wiring, clock = settings(), FakeClock(T0)
        else:
            factory = make_pin_factory(os.environ.get("KIOSK_PIN_FACTORY", "lgpio"))  # type: ignore[arg-type]
            stack.callback(factory.close)
            wiring, clock = real_settings(), SystemClock()
        device = GpioStatusLight(wiring, factory, clock)
        stack.callback(device.close)
        yield device


def test_light_implements_the_port(light: Any) -> None:
    port: Light = light
    assert callable(port.show)


@pytest.mark.parametrize("state", LIGHT_STATES)
def test_each_lane_state_can_be_shown(light: Any, state: str) -> None:
    light.show(state)
    assert light.state == state
    assert light.health()["detail"] == state


def test_unknown_state_raises_value_error_naming_it_and_keeps_the_light(light: Any) -> None:
    light.show("ready")
    with pytest.raises(ValueError, match=r"unknown light state 'party': expected one of ready"):
        light.show("party")
    assert light.state == "ready"


def test_health_names_the_light_and_is_off_before_the_first_show(light: Any) -> None:
    health = light.health()
    assert set(health) == {"name", "kind", "ok", "detail"}
    assert (health["name"], health["ok"], health["detail"]) == ("light", True, "off")


def test_history_records_each_state_shown(light: Any) -> None:
    light.show("ready")
    light.show("attention")
    light.show("ready")
    assert [(e.what, e.detail) for e in light.history] == [
        ("show", "ready"),
        ("show", "attention"),
        ("show", "ready"),
    ]


# -- GPIO only -----------------------------------------------------------------------------------
@dataclass
class Tower:
    light: GpioStatusLight
    factory: MockFactory
    clock: FakeClock

    def level(self, pin: int) -> bool:
        state: bool = self.factory.pin(pin).state
        return state

    def levels(self) -> dict[str, bool]:
        return {
            name: self.level(pin)
            for name, pin in (("green", GREEN), ("amber", AMBER), ("red", RED), ("buzzer", BUZZER))
        }

    def mark(self, pin: int) -> int:
        """The index of the pin's latest change: blink timings are read after it."""
        return len(self.factory.pin(pin).states) - 1

    def timings(
        self, pin: int, since: int, changes: int, timeout_s: float = 5.0
    ) -> list[tuple[bool, float]]:
        """(new level, seconds the previous level lasted) for ``changes`` changes after the
        change at index ``since``, waiting on gpiozero's blink thread for them to happen."""
        states = self.factory.pin(pin).states
        deadline = time.monotonic() + timeout_s
        while len(states) < since + changes + 1:
            assert time.monotonic() < deadline, f"BCM {pin} changed only {len(states) - 1} times"
            time.sleep(0.005)  # polling the pin history, not waiting a fixed time
        return [(s.state, s.timestamp) for s in states[since + 1 : since + changes + 1]]


@pytest.fixture
def tower() -> Iterator[Callable[..., Tower]]:
    with ExitStack() as stack:

        def build(**overrides: Any) -> Tower:
            factory = MockFactory()
            stack.callback(factory.close)
            clock = FakeClock(T0)
            light = GpioStatusLight(settings(**overrides), factory, clock)
            stack.callback(light.close)
            return Tower(light, factory, clock)

        yield build


def assert_blinks(tower: Tower, pin: int, on_s: float, off_s: float, since: int) -> None:
    """The pin blinks ``on_s`` on, ``off_s`` off after its change at index ``since``. The first
    change after ``since`` ends a phase that began before the pattern did, so it is skipped."""
    for level, lasted in tower.timings(pin, since, 3)[1:]:
        expected = on_s if level is False else off_s  # going off ends an on phase
        assert expected <= lasted < expected + 0.2, (level, lasted)


def test_all_lamps_are_off_until_a_state_is_shown(tower: Callable[..., Tower]) -> None:
    t = tower()
    assert t.levels() == {"green": False, "amber": False, "red": False, "buzzer": False}


def test_ready_lights_green_steady_and_nothing_else(tower: Callable[..., Tower]) -> None:
    t = tower()
    t.light.show("ready")
    assert t.levels() == {"green": True, "amber": False, "red": False, "buzzer": False}
    assert [s.state for s in t.factory.pin(GREEN).states] == [False, True]


def test_out_of_service_lights_red_steady_and_puts_green_out(tower: Callable[..., Tower]) -> None:
    t = tower()
    t.light.show("ready")
    t.light.show("out_of_service")
    assert t.levels() == {"green": False, "amber": False, "red": True, "buzzer": False}
    assert [s.state for s in t.factory.pin(RED).states] == [False, True]


def test_active_low_tower_drives_lit_lamps_low(tower: Callable[..., Tower]) -> None:
    t = tower(active_high=False)
    assert t.levels() == {"green": True, "amber": True, "red": True, "buzzer": True}
    t.light.show("ready")
    assert t.levels() == {"green": False, "amber": True, "red": True, "buzzer": True}


def test_attention_blinks_amber_at_1_hz(tower: Callable[..., Tower]) -> None:
    t = tower()
    t.light.show("attention")
    assert_blinks(t, AMBER, 0.5, 0.5, since=0)
    assert (t.level(GREEN), t.level(RED), t.level(BUZZER)) == (False, False, False)


def test_intervention_blinks_red_at_2_hz(tower: Callable[..., Tower]) -> None:
    t = tower()
    t.light.show("intervention")
    assert_blinks(t, RED, 0.25, 0.25, since=0)
    assert (t.level(GREEN), t.level(AMBER), t.level(BUZZER)) == (False, False, False)


def test_patterns_are_the_documented_ones() -> None:
    assert {state: (p.lamp, p.on_s, p.off_s) for state, p in PATTERNS.items()} == {
        "ready": ("green", None, None),
        "attention": ("amber", 0.5, 0.5),
        "intervention": ("red", 0.25, 0.25),
        "out_of_service": ("red", None, None),
    }
    assert set(PATTERNS) == set(LIGHT_STATES)


def test_intervention_escalates_after_escalate_after_s_with_fast_blink_and_buzzer(
    tower: Callable[..., Tower],
) -> None:
    t = tower(escalate_after_s=60)
    t.light.show("intervention")
    t.clock.advance(59.9)
    t.light.tick()
    assert t.light.escalated is False
    assert t.level(BUZZER) is False
    t.clock.advance(0.1)
    red, buzzer = t.mark(RED), t.mark(BUZZER)
    t.light.tick()
    assert t.light.escalated is True
    assert t.light.health()["detail"] == "intervention (escalated)"
    assert [(e.what, e.detail) for e in t.light.history][-1] == (
        "escalated",
        "intervention shown for 60 s",
    )
    assert_blinks(t, RED, ESCALATED.on_s or 0, ESCALATED.off_s or 0, since=red)
    (beep, _), (quiet, beep_for) = t.timings(BUZZER, buzzer, 2)
    assert (beep, quiet) == (True, False)
    assert BUZZER_PULSE[0] <= beep_for < BUZZER_PULSE[0] + 0.2


def test_showing_the_same_intervention_again_keeps_the_escalation_timer(
    tower: Callable[..., Tower],
) -> None:
    t = tower(escalate_after_s=60)
    t.light.show("intervention")
    t.clock.advance(40)
    t.light.show("intervention")  # the lane calls show on every update
    t.clock.advance(20)
    t.light.tick()
    assert t.light.escalated is True
    assert [e.what for e in t.light.history] == ["show", "escalated"]


def test_another_state_ends_the_escalation_and_silences_the_buzzer(
    tower: Callable[..., Tower],
) -> None:
    t = tower(escalate_after_s=1)
    t.light.show("intervention")
    t.clock.advance(1)
    t.light.tick()
    t.light.show("ready")
    assert t.light.escalated is False
    assert t.levels() == {"green": True, "amber": False, "red": False, "buzzer": False}
    t.light.show("intervention")
    t.light.tick()
    assert t.light.escalated is False  # a new intervention starts a new timer


@pytest.mark.parametrize("state", ["ready", "attention", "out_of_service"])
def test_only_an_intervention_escalates(tower: Callable[..., Tower], state: str) -> None:
    t = tower(escalate_after_s=1)
    t.light.show(state)
    t.clock.advance(3600)
    t.light.tick()
    assert t.light.escalated is False
    assert t.level(BUZZER) is False


def test_tick_before_any_state_does_nothing(tower: Callable[..., Tower]) -> None:
    t = tower(escalate_after_s=1)
    t.clock.advance(10)
    t.light.tick()
    assert t.light.history == []


def test_escalation_without_a_buzzer_blinks_red_fast(tower: Callable[..., Tower]) -> None:
    t = tower(buzzer_pin=None, escalate_after_s=1)
    t.light.show("intervention")
    t.clock.advance(1)
    red = t.mark(RED)
    t.light.tick()
    assert t.light.escalated is True
    assert_blinks(t, RED, ESCALATED.on_s or 0, ESCALATED.off_s or 0, since=red)
    assert t.factory.pin(BUZZER).function == "input"  # never claimed


def test_close_stops_blink_threads_and_releases_the_pins(tower: Callable[..., Tower]) -> None:
    t = tower(escalate_after_s=1)
    t.light.show("intervention")
    t.clock.advance(1)
    t.light.tick()
    blinking = [th for th in threading.enumerate() if isinstance(th, GPIOThread)]
    assert len(blinking) >= 2  # red and buzzer
    t.light.close()
    t.light.close()  # twice is harmless
    assert not any(th.is_alive() for th in blinking)
    for pin in (GREEN, AMBER, RED, BUZZER):
        with LED(pin, pin_factory=t.factory):
            pass  # free to claim again


def test_show_after_close_raises_device_error(tower: Callable[..., Tower]) -> None:
    t = tower()
    t.light.close()
    with pytest.raises(DeviceError, match=r"^light_released: light light was closed down"):
        t.light.show("ready")
    assert t.light.health()["ok"] is False


def test_lamp_pin_in_use_raises_device_error_naming_it_and_releases_the_others() -> None:
    factory = MockFactory()
    try:
        with OutputDevice(RED, pin_factory=factory):
            with pytest.raises(
                DeviceError,
                match=r"^light_unavailable: cannot claim the red of light light on BCM 16: "
                r"GPIOPinInUse",
            ):
                GpioStatusLight(settings(), factory, FakeClock(T0))
            with LED(GREEN, pin_factory=factory), LED(AMBER, pin_factory=factory):
                pass  # released again
    finally:
        factory.close()


def test_pin_write_failure_raises_light_fault_and_recovers_on_the_next_show() -> None:
    factory = MockFactory()
    pin = factory.pin(GREEN, pin_class=FailingPin)
    try:
        with GpioStatusLight(settings(), factory, FakeClock(T0)) as light:
            pin.broken = True
            with pytest.raises(DeviceError, match=r"^light_fault: light light: OSError: "):
                light.show("ready")
            assert light.health()["ok"] is False
            pin.broken = False
            light.show("ready")
            assert light.health() == {
                "name": "light",
                "kind": "gpio",
                "ok": True,
                "detail": "ready",
            }
            assert pin.state is True
    finally:
        factory.close()


# -- settings ------------------------------------------------------------------------------------
def test_settings_defaults() -> None:
    s = LightSettings(green_pin=GREEN, amber_pin=AMBER, red_pin=RED)
    assert (s.buzzer_pin, s.active_high, s.escalate_after_s) == (None, True, 60.0)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"red_pin": GREEN}, r"red_pin uses BCM 24, already used by green_pin"),
        ({"buzzer_pin": AMBER}, r"buzzer_pin uses BCM 25, already used by amber_pin"),
        ({"amber_pin": 31}, r"amber_pin must be a BCM GPIO number 0\.\.27, got 31"),
        ({"green_pin": None}, r"green_pin must be a BCM GPIO number \(int\), got None"),
        ({"active_high": 1}, r"active_high must be true or false, got 1"),
        ({"escalate_after_s": 0}, r"escalate_after_s must be a number of seconds > 0, got 0"),
        ({"escalate_after_s": "60"}, r"escalate_after_s must be a number of seconds > 0"),
    ],
)
def test_settings_reject_bad_values_naming_the_field(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        settings(**overrides)

"""kiosk.hw.drawer: the cash drawer on GPIO, tested on gpiozero's MockFactory through a jig.

The Drawer contract tests at the top run one body against ``FakeDrawer``, ``GpioDrawer`` on a
``MockFactory`` and, opt-in (``KIOSK_TEST_REAL_HW=1``, see docs/hardware.md), ``GpioDrawer`` on
a real Raspberry Pi. The GPIO ones use the same test jig on mock and real pins:

    relay  BCM 17 (output: the drawer relay)    ── 1 kΩ ──  sense  BCM 23 (input)
    drive  BCM 22 (output: plays the switch)    ── 1 kΩ ──  switch BCM 27 (input, pull-up)

When the sense pin sees the relay energise, the jig opens the drawer: it drives the switch to
its drawer-open level (unless the drawer is jammed). Pushing the drawer shut drives the closed
level. On MockFactory the wires are ``WireOutputPin`` -> ``WireInputPin`` pairs.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from gpiozero import DigitalInputDevice, OutputDevice
from gpiozero.pins.mock import MockFactory, MockPin

from kiosk.errors import DeviceError
from kiosk.hw.drawer import DrawerSettings, GpioDrawer
from kiosk.hw.fake import FakeClock, FakeDrawer
from kiosk.hw.gpio import make_pin_factory
from kiosk.hw.system import SystemClock
from kiosk.ports import Clock, Drawer

T0 = datetime(2024, 1, 1, tzinfo=UTC)
RELAY, SENSE, DRIVE, SWITCH = 17, 23, 22, 27
REAL_HW = os.environ.get("KIOSK_TEST_REAL_HW") == "1"
WAIT_S = 5.0  # how long a test waits for the drawer's worker thread


# -- the wires of the jig on MockFactory ----------------------------------------------------------
class WireInputPin(MockPin):
    """The input end of a wire: once an output drives the wire, it beats the pull resistor."""

    def __init__(self, factory: Any, info: Any) -> None:
        self.driven: bool | None = None
        super().__init__(factory, info)

    def follow(self, level: bool) -> None:
        self.driven = level
        if self.function == "input":
            (self.drive_high if level else self.drive_low)()

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        if self.driven is not None:
            self.follow(self.driven)


class WireOutputPin(MockPin):
    """The output end of a wire to ``input_pin``."""

    def __init__(self, factory: Any, info: Any, input_pin: WireInputPin) -> None:
        super().__init__(factory, info)
        self.input_pin = input_pin

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if self.function == "output":
            self.input_pin.follow(value)
        return changed


class FailingPin(MockPin):
    """A pin whose driver starts failing writes when ``broken`` is set (EIO from the kernel)."""

    broken = False

    def _set_state(self, value: bool) -> None:
        if self.broken:
            raise OSError(5, "Input/output error")
        super()._set_state(value)


def wire(factory: MockFactory, output_pin: int, input_pin: int) -> None:
    end = factory.pin(input_pin, pin_class=WireInputPin)
    factory.pin(output_pin, pin_class=WireOutputPin, input_pin=end)


class DrawerJig:
    """The test jig: plays the drawer's solenoid and switch (works on any pin factory)."""

    def __init__(self, factory: Any, settings: DrawerSettings) -> None:
        self.open_level = settings.switch_open_when == "high"
        self.stuck_for: int | None = 0  # pulses to ignore; None: jammed for good
        self.drive = OutputDevice(DRIVE, initial_value=not self.open_level, pin_factory=factory)
        self.sense = DigitalInputDevice(
            SENSE, pull_up=None, active_state=settings.active_high, pin_factory=factory
        )
        self.sense.when_activated = self._solenoid_fired

    def jam(self, pulses: int | None = None) -> None:
        """The latch sticks for ``pulses`` pulses (None: for good)."""
        self.stuck_for = pulses

    def pull_open(self) -> None:
        self.drive.value = self.open_level

    def push_shut(self) -> None:
        self.drive.value = not self.open_level

    def _solenoid_fired(self) -> None:
        if self.stuck_for is None:
            return
        if self.stuck_for > 0:
            self.stuck_for -= 1
            return
        self.pull_open()

    def close(self) -> None:
        self.sense.close()
        self.drive.close()


# -- the contract rigs -----------------------------------------------------------------------------
@dataclass
class Rig:
    """A drawer with the means to drive it like a person at the till would."""

    drawer: Any
    clock: Clock
    drive_open: Callable[[], None]
    drive_closed: Callable[[], None]


RigBuilder = Callable[[bool], Rig]


def _fake_rig(stack: ExitStack, has_switch: bool) -> Rig:
    clock = FakeClock(T0)
    drawer = FakeDrawer(clock, has_switch=has_switch)
    return Rig(drawer, clock, drawer.drive_open, drawer.drive_closed)


def _gpio_rig(stack: ExitStack, has_switch: bool, factory: Any, clock: Clock, real: bool) -> Rig:
    settings = DrawerSettings(
        relay_pin=RELAY,
        active_high=os.environ.get("KIOSK_TEST_RELAY_ACTIVE_HIGH", "1") == "1",
        switch_pin=SWITCH if has_switch else None,
    )
    jig = DrawerJig(factory, settings)
    stack.callback(jig.close)
    if real:
        drawer = GpioDrawer(settings, factory, clock)

        def settle() -> None:
            time.sleep(settings.debounce_ms / 1000 + 0.05)  # real switch, real debounce time
    else:
        assert isinstance(clock, FakeClock)
        drawer = GpioDrawer(settings, factory, clock, sleep=clock.sleep)

        def settle() -> None:
            clock.advance(settings.debounce_ms / 1000)

    stack.callback(drawer.close)

    def drive_open() -> None:
        jig.pull_open()
        settle()

    def drive_closed() -> None:
        jig.push_shut()
        settle()

    return Rig(drawer, clock, drive_open, drive_closed)


def _mock_factory(stack: ExitStack) -> MockFactory:
    factory = MockFactory()
    stack.callback(factory.close)
    wire(factory, RELAY, SENSE)
    wire(factory, DRIVE, SWITCH)
    return factory


def _real_factory(stack: ExitStack) -> Any:
    factory = make_pin_factory(os.environ.get("KIOSK_PIN_FACTORY", "lgpio"))  # type: ignore[arg-type]
    stack.callback(factory.close)
    return factory


def _pins_from_env() -> None:
    global RELAY, SENSE, DRIVE, SWITCH  # noqa: PLW0603 - the jig's pins on a real Pi
    RELAY = int(os.environ.get("KIOSK_TEST_RELAY_PIN", RELAY))
    SENSE = int(os.environ.get("KIOSK_TEST_SENSE_PIN", SENSE))
    DRIVE = int(os.environ.get("KIOSK_TEST_DRIVE_PIN", DRIVE))
    SWITCH = int(os.environ.get("KIOSK_TEST_SWITCH_PIN", SWITCH))


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
                    reason="opt-in: a Raspberry Pi with the drawer test jig wired, "
                    "KIOSK_TEST_REAL_HW=1 (docs/hardware.md)",
                ),
            ],
        ),
    ]
)
def rig(request: pytest.FixtureRequest) -> Iterator[RigBuilder]:
    """Build a drawer of the parametrised kind: ``rig(has_switch)``."""
    with ExitStack() as stack:

        def build(has_switch: bool = True) -> Rig:
            if request.param == "fake":
                return _fake_rig(stack, has_switch)
            if request.param == "gpio":
                return _gpio_rig(stack, has_switch, _mock_factory(stack), FakeClock(T0), False)
            _pins_from_env()
            return _gpio_rig(stack, has_switch, _real_factory(stack), SystemClock(), True)

        yield build


def whats(drawer: Any) -> list[str]:
    return [event.what for event in drawer.history]


# -- the Drawer contract: one body, every implementation -----------------------------------------
def test_drawer_implements_the_port(rig: RigBuilder) -> None:
    drawer: Drawer = rig(True).drawer
    assert callable(drawer.open) and callable(drawer.is_open)


def test_open_pulses_once_and_the_drawer_reads_open(rig: RigBuilder) -> None:
    r = rig(True)
    assert r.drawer.is_open() is False
    r.drawer.open()
    assert r.drawer.is_open() is True
    assert len(r.drawer.pulses) == 1
    assert whats(r.drawer) == ["pulse", "opened"]


def test_drawer_pushed_shut_reads_closed_and_history_has_the_times(rig: RigBuilder) -> None:
    r = rig(True)
    r.drawer.open()
    r.drive_closed()
    assert r.drawer.is_open() is False
    assert whats(r.drawer) == ["pulse", "opened", "closed"]
    opened, closed = r.drawer.history[1].at, r.drawer.history[2].at
    assert opened <= closed


def test_drawer_pulled_open_by_hand_reads_open_without_a_pulse(rig: RigBuilder) -> None:
    r = rig(True)
    r.drive_open()
    assert r.drawer.is_open() is True
    assert r.drawer.pulses == []
    assert whats(r.drawer) == ["opened"]


def test_drawer_without_switch_pulses_and_cannot_tell_if_open(rig: RigBuilder) -> None:
    r = rig(False)
    r.drawer.open()
    assert r.drawer.is_open() is None
    assert len(r.drawer.pulses) == 1
    assert r.drawer.health()["detail"] == "no switch fitted"


def test_health_is_ok_and_names_the_drawer(rig: RigBuilder) -> None:
    r = rig(True)
    health = r.drawer.health()
    assert set(health) == {"name", "kind", "ok", "detail"}
    assert (health["name"], health["ok"], health["detail"]) == ("drawer", True, "closed")
    r.drawer.open()
    assert r.drawer.health()["detail"] == "open"


# -- GPIO only: MockFactory with a clock that moves only when told ---------------------------------
@dataclass
class Bench:
    drawer: GpioDrawer
    jig: DrawerJig
    factory: MockFactory
    clock: FakeClock
    sleeps: list[float] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    interrupt: bool = False  # the next sleep raises KeyboardInterrupt (Ctrl-C, a shutdown)
    gate: threading.Event | None = None  # when set, every sleep waits for it (holds a pulse)

    def pin(self, number: int) -> MockPin:
        return self.factory.pin(number)

    def relay_levels(self) -> list[bool]:
        return [state.state for state in self.pin(RELAY).states]


@pytest.fixture
def bench() -> Iterator[Callable[..., Bench]]:
    """``bench(**settings)``: a GpioDrawer wired to the jig on a fresh MockFactory."""
    with ExitStack() as stack:

        def build(**overrides: Any) -> Bench:
            clock = FakeClock(T0)
            factory = _mock_factory(stack)
            settings = DrawerSettings(**{"relay_pin": RELAY, "switch_pin": SWITCH, **overrides})
            jig = DrawerJig(factory, settings)
            stack.callback(jig.close)
            b = Bench(None, jig, factory, clock)  # type: ignore[arg-type]

            def sleep(seconds: float) -> None:
                if b.interrupt:
                    raise KeyboardInterrupt
                if b.gate is not None:
                    assert b.gate.wait(WAIT_S), "the held pulse was never let go"
                b.sleeps.append(round(seconds, 6))
                clock.advance(seconds)

            b.drawer = GpioDrawer(
                settings, factory, clock, lambda kind, d: b.events.append((kind, d)), sleep=sleep
            )
            stack.callback(b.drawer.close)
            return b

        yield build


def test_pulse_energises_the_relay_then_releases_it_when_active_high(
    bench: Callable[..., Bench],
) -> None:
    b = bench(switch_pin=None)
    b.drawer.open()
    assert b.relay_levels() == [False, True, False]
    assert b.sleeps == [0.1]


def test_pulse_drives_the_relay_pin_low_when_active_low(bench: Callable[..., Bench]) -> None:
    b = bench(switch_pin=None, active_high=False)
    assert b.pin(RELAY).state is True  # idle: the active-low relay board is off
    b.drawer.open()
    assert b.relay_levels() == [False, True, False, True]


def test_pulse_holds_the_relay_for_pulse_ms_in_real_time() -> None:
    factory = MockFactory()
    try:
        with GpioDrawer(DrawerSettings(relay_pin=RELAY, pulse_ms=60), factory, SystemClock()) as d:
            d.open()
            on_for = factory.pin(RELAY).states[2].timestamp  # seconds from on to off
            assert 0.06 <= on_for < 0.06 + 0.15
    finally:
        factory.close()


def test_second_open_waits_out_the_min_off_time_and_still_pulses(
    bench: Callable[..., Bench],
) -> None:
    b = bench(switch_pin=None, pulse_ms=100, min_off_ms=500)
    b.drawer.open()
    b.clock.advance(0.2)
    b.drawer.open()
    assert b.sleeps == [0.1, 0.3, 0.1]
    assert b.drawer.pulses == [T0, T0 + timedelta(seconds=0.6)]  # 0.1 s pulse + 0.5 s off
    assert b.relay_levels() == [False, True, False, True, False]


def test_open_after_the_min_off_time_does_not_wait(bench: Callable[..., Bench]) -> None:
    b = bench(switch_pin=None, min_off_ms=500)
    b.drawer.open()
    b.clock.advance(0.5)
    b.drawer.open()
    assert b.sleeps == [0.1, 0.1]


def test_jammed_drawer_gets_one_retry_then_raises_drawer_did_not_open(
    bench: Callable[..., Bench],
) -> None:
    b = bench()
    b.jig.jam()
    with pytest.raises(DeviceError, match=r"^drawer_did_not_open: relay on BCM 17 pulsed 2 times"):
        b.drawer.open()
    assert len(b.drawer.pulses) == 2
    assert "switch on BCM 27 still reads closed" in str(b.drawer.health()["detail"])
    assert b.drawer.health()["ok"] is False
    assert whats(b.drawer) == ["pulse", "pulse", "did_not_open"]
    assert b.drawer.is_open() is False


def test_retry_waits_the_confirm_window_and_min_off_time_before_the_second_pulse(
    bench: Callable[..., Bench],
) -> None:
    b = bench(confirm_within_s=1.0, debounce_ms=20, min_off_ms=500)
    b.jig.jam()
    with pytest.raises(DeviceError):
        b.drawer.open()
    first, second = b.drawer.pulses
    assert second - first == timedelta(seconds=1.02)  # window (1 s) plus the debounce time


def test_drawer_that_opens_on_the_retry_is_a_success(bench: Callable[..., Bench]) -> None:
    b = bench()
    b.jig.jam(pulses=1)
    b.drawer.open()
    assert b.drawer.is_open() is True
    assert whats(b.drawer) == ["pulse", "pulse", "opened"]
    assert b.drawer.health()["ok"] is True


def test_successful_open_clears_the_did_not_open_fault(bench: Callable[..., Bench]) -> None:
    b = bench()
    b.jig.jam()
    with pytest.raises(DeviceError):
        b.drawer.open()
    b.jig.jam(pulses=0)
    b.drawer.open()
    assert b.drawer.health() == {"name": "drawer", "kind": "gpio", "ok": True, "detail": "open"}


def test_drawer_already_open_is_confirmed_after_one_pulse(bench: Callable[..., Bench]) -> None:
    b = bench()
    b.jig.jam()
    b.jig.pull_open()
    b.clock.advance(0.02)
    b.drawer.open()
    assert len(b.drawer.pulses) == 1


def test_switch_open_when_low_reads_the_inverted_level(bench: Callable[..., Bench]) -> None:
    b = bench(switch_open_when="low")
    assert b.pin(SWITCH).state is True and b.drawer.is_open() is False
    b.drawer.open()
    assert b.pin(SWITCH).state is False and b.drawer.is_open() is True


def test_bouncing_switch_counts_as_one_opening_dated_when_it_settled(
    bench: Callable[..., Bench],
) -> None:
    b = bench(debounce_ms=20)
    for _ in range(3):  # contacts chatter every 5 ms
        b.jig.pull_open()
        b.clock.advance(0.005)
        b.jig.push_shut()
        b.clock.advance(0.005)
    b.jig.pull_open()
    settled_at = b.clock.now()
    b.clock.advance(0.02)
    assert b.drawer.is_open() is True
    assert whats(b.drawer) == ["opened"]
    assert b.drawer.history[0].at == settled_at


def test_level_shorter_than_the_debounce_time_is_ignored(bench: Callable[..., Bench]) -> None:
    b = bench(debounce_ms=20)
    b.jig.pull_open()
    b.clock.advance(0.019)
    assert b.drawer.is_open() is False
    b.jig.push_shut()
    b.clock.advance(1.0)
    assert b.drawer.is_open() is False
    assert b.drawer.history == []


def test_open_and_close_times_are_recorded_for_the_shift(bench: Callable[..., Bench]) -> None:
    b = bench()
    b.drawer.open()
    b.clock.advance(12.0)
    shut_at = b.clock.now()
    b.jig.push_shut()
    b.clock.advance(0.02)
    b.drawer.poll()
    assert [(e.what, e.at) for e in b.drawer.history] == [
        ("pulse", T0),
        ("opened", T0),
        ("closed", shut_at),
    ]


def test_drawer_left_open_is_reported_once_after_the_configured_time(
    bench: Callable[..., Bench],
) -> None:
    b = bench(left_open_after_s=30)
    b.drawer.open()  # opens at T0; the 0.1 s pulse moves the clock to T0 + 0.1 s
    b.clock.advance(29.8)
    b.drawer.poll()
    assert b.events == []
    b.clock.advance(0.1)
    b.drawer.poll()
    b.clock.advance(10)
    b.drawer.poll()
    assert b.events == [
        (
            "drawer_left_open",
            {"drawer": "drawer", "opened_at": T0.isoformat(), "open_for_s": 30.0},
        )
    ]
    assert whats(b.drawer)[-1] == "left_open"


def test_closing_a_drawer_reported_left_open_is_reported_and_rearms(
    bench: Callable[..., Bench],
) -> None:
    b = bench(left_open_after_s=30)
    b.drawer.open()
    b.clock.advance(44.9)
    b.drawer.poll()
    b.jig.push_shut()
    b.clock.advance(0.02)
    b.drawer.poll()
    assert b.events[-1] == ("drawer_closed", {"drawer": "drawer", "was_open_s": 45.0})
    b.clock.advance(1)
    b.drawer.open()
    b.clock.advance(30)
    b.drawer.poll()
    assert [kind for kind, _ in b.events] == [
        "drawer_left_open",
        "drawer_closed",
        "drawer_left_open",
    ]


def test_drawer_shut_and_reopened_between_polls_is_reported_as_two_openings(
    bench: Callable[..., Bench],
) -> None:
    b = bench(left_open_after_s=30)
    b.drawer.open()
    b.clock.advance(31)
    b.drawer.poll()
    b.jig.push_shut()
    b.clock.advance(1)
    b.jig.pull_open()
    b.clock.advance(31)
    b.drawer.poll()
    assert [kind for kind, _ in b.events] == [
        "drawer_left_open",
        "drawer_closed",
        "drawer_left_open",
    ]


def test_drawer_shut_in_time_is_never_reported(bench: Callable[..., Bench]) -> None:
    b = bench(left_open_after_s=30)
    b.drawer.open()
    b.clock.advance(20)
    b.jig.push_shut()
    b.clock.advance(20)
    b.drawer.poll()
    assert b.events == []


def test_poll_without_a_switch_reports_nothing(bench: Callable[..., Bench]) -> None:
    b = bench(switch_pin=None, left_open_after_s=1)
    b.drawer.open()
    b.clock.advance(60)
    b.drawer.poll()
    assert b.events == []


def test_relay_pin_in_use_raises_device_error_naming_the_pin() -> None:
    factory = MockFactory()
    try:
        with (
            OutputDevice(RELAY, pin_factory=factory),
            pytest.raises(
                DeviceError, match=r"^relay_unavailable: .* relay on BCM 17: GPIOPinInUse"
            ),
        ):
            GpioDrawer(DrawerSettings(relay_pin=RELAY), factory, FakeClock(T0))
    finally:
        factory.close()


def test_switch_pin_in_use_raises_device_error_and_releases_the_relay() -> None:
    factory = MockFactory()
    settings = DrawerSettings(relay_pin=RELAY, switch_pin=SWITCH)
    try:
        with OutputDevice(SWITCH, pin_factory=factory):
            with pytest.raises(DeviceError, match=r"^switch_unavailable: .* switch on BCM 27"):
                GpioDrawer(settings, factory, FakeClock(T0))
            with OutputDevice(RELAY, pin_factory=factory) as relay:  # free again
                assert relay.value == 0
    finally:
        factory.close()


def test_relay_write_failure_raises_relay_fault_and_marks_health() -> None:
    factory = MockFactory()
    pin = factory.pin(RELAY, pin_class=FailingPin)
    clock = FakeClock(T0)
    try:
        with GpioDrawer(DrawerSettings(relay_pin=RELAY), factory, clock, sleep=clock.sleep) as d:
            pin.broken = True
            with pytest.raises(
                DeviceError, match=r"^relay_fault: .*BCM 17: OSError: .*Input/output"
            ):
                d.open()
            assert d.health()["ok"] is False
            assert str(d.health()["detail"]).startswith("relay_fault:")
    finally:
        factory.close()


def test_relay_is_released_even_when_the_pulse_is_interrupted(
    bench: Callable[..., Bench],
) -> None:
    b = bench(switch_pin=None)
    b.interrupt = True
    with pytest.raises(KeyboardInterrupt):
        b.drawer.open()
    assert b.relay_levels() == [False, True, False]  # energised, then released


def test_close_releases_the_pins_and_open_after_close_raises(
    bench: Callable[..., Bench],
) -> None:
    b = bench()
    b.drawer.close()
    b.drawer.close()  # twice is harmless
    with pytest.raises(DeviceError, match=r"^drawer_released: "):
        b.drawer.open()
    assert b.drawer.health()["ok"] is False
    with (
        OutputDevice(RELAY, pin_factory=b.factory),
        DigitalInputDevice(SWITCH, pin_factory=b.factory),
    ):
        pass  # both pins can be claimed again


def test_devices_use_the_given_factory_not_the_global_default() -> None:
    from gpiozero import Device

    before = Device.pin_factory
    factory = MockFactory()
    try:
        with GpioDrawer(DrawerSettings(relay_pin=RELAY, switch_pin=SWITCH), factory, FakeClock(T0)):
            assert Device.pin_factory is before
            assert factory.pin(RELAY).function == "output"
            assert factory.pin(SWITCH).pull == "up"
    finally:
        factory.close()


# -- settings ------------------------------------------------------------------------------------
def test_settings_defaults_follow_the_issue() -> None:
    s = DrawerSettings(relay_pin=RELAY)
    assert (s.active_high, s.pulse_ms, s.min_off_ms, s.switch_pin) == (True, 100, 500, None)
    assert (s.switch_open_when, s.debounce_ms) == ("high", 20)
    assert (s.confirm_within_s, s.left_open_after_s) == (1.0, 30.0)


@pytest.mark.parametrize("pulse_ms", [20, 100, 500])
def test_settings_accept_pulse_lengths_from_20_to_500_ms(pulse_ms: int) -> None:
    assert DrawerSettings(relay_pin=RELAY, pulse_ms=pulse_ms).pulse_ms == pulse_ms


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"pulse_ms": 19}, r"pulse_ms must be 20\.\.500, got 19"),
        ({"pulse_ms": 501}, r"pulse_ms must be 20\.\.500, got 501"),
        ({"pulse_ms": 100.0}, r"pulse_ms must be an integer, got 100\.0"),
        ({"relay_pin": 40}, r"relay_pin must be a BCM GPIO number 0\.\.27, got 40"),
        ({"switch_pin": 28}, r"switch_pin must be a BCM GPIO number 0\.\.27, got 28"),
        ({"switch_pin": RELAY}, r"switch_pin must differ from relay_pin \(17\)"),
        ({"active_high": "yes"}, r"active_high must be true or false, got 'yes'"),
        ({"min_off_ms": -1}, r"min_off_ms must be 0\.\.60000, got -1"),
        ({"switch_open_when": "open"}, r"switch_open_when must be 'high' or 'low', got 'open'"),
        ({"debounce_ms": 1001}, r"debounce_ms must be 0\.\.1000, got 1001"),
        ({"confirm_within_s": 0}, r"confirm_within_s must be more than 0 and at most 10\.0 s"),
        ({"confirm_within_s": "1"}, r"confirm_within_s must be a number of seconds, got '1'"),
        ({"left_open_after_s": -5}, r"left_open_after_s must be more than 0"),
    ],
)
def test_settings_reject_bad_values_naming_the_field(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        DrawerSettings(**{"relay_pin": RELAY, **overrides})


# -- the worker thread: the pulse never holds the caller -------------------------------------------


def until(check: Callable[[], bool]) -> None:
    """Wait until ``check()`` holds (the worker runs on its own thread), failing after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.005)


def kinds(b: Bench) -> list[str]:
    return [kind for kind, _ in list(b.events)]


def test_with_the_worker_open_returns_at_once_and_opened_is_reported(
    bench: Callable[..., Bench],
) -> None:
    b = bench()
    b.drawer.start_worker()
    b.drawer.start_worker()  # twice is harmless
    b.gate = threading.Event()  # the worker's pulse is held mid-way
    b.drawer.open()  # returns while the relay is still energised
    until(lambda: b.pin(RELAY).state is True)
    assert b.drawer.is_open() is None  # not known until the pulse is confirmed
    assert b.events == []
    b.gate.set()
    until(lambda: kinds(b) == ["drawer_opened"])
    assert b.drawer.wait_idle(WAIT_S)
    assert b.drawer.is_open() is True
    assert b.events[0][1] == {"drawer": "drawer", "at": T0.isoformat()}
    assert b.relay_levels() == [False, True, False]


def test_the_worker_reports_a_jammed_drawer_after_its_retry(bench: Callable[..., Bench]) -> None:
    b = bench()
    b.drawer.start_worker()
    b.jig.jam()
    b.drawer.open()
    until(lambda: kinds(b) == ["drawer_not_opened"])
    (_, detail), *_ = b.events
    assert str(detail["message"]).startswith("drawer_did_not_open: relay on BCM 17 pulsed 2 times")
    assert len(b.drawer.pulses) == 2  # pulse, confirm window, one retry
    assert b.drawer.health()["ok"] is False
    assert b.drawer.is_open() is False


def test_the_worker_reports_every_opening_and_closing_with_its_times(
    bench: Callable[..., Bench],
) -> None:
    b = bench(left_open_after_s=30)
    b.drawer.start_worker()
    b.drawer.open()
    until(lambda: kinds(b) == ["drawer_opened"])
    opened_at = b.events[0][1]["at"]
    b.clock.advance(40)
    b.drawer.poll()  # the lane's tick: left open
    b.jig.push_shut()
    b.clock.advance(0.02)
    until(lambda: kinds(b) == ["drawer_opened", "drawer_left_open", "drawer_closed"])
    b.drawer.poll()  # the worker reported the closing: the tick does not again
    closed = b.events[2][1]
    assert closed["opened_at"] == opened_at
    assert closed["was_open_s"] == pytest.approx(40.0, abs=0.2)
    b.jig.pull_open()  # by hand, without a pulse
    b.clock.advance(0.02)
    b.jig.push_shut()
    b.clock.advance(0.02)
    until(lambda: len(b.events) == 5)
    assert kinds(b)[3:] == ["drawer_opened", "drawer_closed"]


def test_close_stops_the_worker_and_open_after_close_raises(bench: Callable[..., Bench]) -> None:
    b = bench()
    b.drawer.start_worker()
    until(lambda: any(t.name == "drawer-drawer" for t in threading.enumerate()))
    b.drawer.close()
    assert not any(t.name == "drawer-drawer" for t in threading.enumerate())
    with pytest.raises(DeviceError, match=r"^drawer_released: "):
        b.drawer.open()
    with pytest.raises(DeviceError, match=r"^drawer_released: "):
        b.drawer.start_worker()


def test_the_worker_reports_a_relay_fault_as_not_opened() -> None:
    factory = MockFactory()
    pin = factory.pin(RELAY, pin_class=FailingPin)
    clock = FakeClock(T0)
    events: list[tuple[str, dict[str, Any]]] = []
    try:
        settings = DrawerSettings(relay_pin=RELAY)
        sink = lambda kind, detail: events.append((kind, detail))  # noqa: E731
        with GpioDrawer(settings, factory, clock, sink, sleep=clock.sleep) as d:
            d.start_worker()
            pin.broken = True
            d.open()  # returns at once: the fault comes from the worker
            until(lambda: [kind for kind, _ in events] == ["drawer_not_opened"])
            assert str(events[0][1]["message"]).startswith("relay_fault: ")
            assert d.wait_idle(WAIT_S)
    finally:
        factory.close()
